// What a finished training prints: status, steps, parameters, where the adapter is, R3's method row (`train` and the demo).
import { basename } from "node:path";
import { formatMethodTable, type RunRecord } from "@reviewtune/core";

export function printRunSummary(record: RunRecord, directory: string): void {
  const result = record.result;
  if (!result) return;
  const { parameters } = result;
  console.log(`\n${runStatusLine(record)}`);
  console.log(`  trainable params: ${parameters.trainable.toLocaleString("en-US")} || all params: ${parameters.total.toLocaleString("en-US")} || trainable%: ${parameters.trainable_percent.toFixed(4)}`);
  const finalEval = result.final_eval_loss?.toFixed(4) ?? (record.status === "cancelled" ? "- (stopped before the final evaluation)" : "-");
  const bestEval = result.best_eval_loss !== null ? `; best evaluation ${result.best_eval_loss.toFixed(4)}${result.best_checkpoint ? ` (${basename(result.best_checkpoint)})` : ""}` : "";
  console.log(`  train loss ${result.train_loss?.toFixed(4) ?? "-"}; eval loss ${finalEval}${bestEval}`);
  console.log(`  ${result.tokens_per_second.toFixed(1)} tokens/s${result.precision ? ` in ${result.precision}` : ""}, ${result.seconds_per_step.toFixed(2)} s/step, peak memory ${(result.peak_memory_bytes / 2 ** 30).toFixed(2)} GiB, ${wallClock(result)}`);
  if (result.distributed) {
    const spread = result.distributed;
    console.log(`  ${spread.world_size} processes (${spread.nnodes > 1 ? `${spread.nnodes} nodes x ${spread.nproc_per_node}, ` : ""}${spread.strategy}, ${spread.backend}, ${spread.mode})`);
    if (!result.adapter_dir && !result.model_dir && record.status !== "cancelled") console.log(`  the weights were written on node 0, in its run folder`);
  }
  if (result.classification) {
    const figures = result.classification;
    console.log(`  per class (${figures.examples} validation rows): ${figures.per_class.map((entry) => `${entry.label} F1 ${entry.f1.toFixed(3)} AUC ${entry.auc?.toFixed(3) ?? "-"}`).join("; ")}`);
  }
  if (result.report) console.log(`\n${formatMethodTable([{ method: result.report.method, report: result.report }])}\n`);
  if (result.adapter_dir) console.log(`  adapter: ${result.adapter_dir}`);
  if (result.vllm) {
    console.log(
      result.vllm.compatible
        ? `  vLLM: serves this adapter as it is (reviewtune export --run ${directory} --format vllm)`
        : `  vLLM: cannot serve this adapter as it is (${result.vllm.problems.map((problem) => problem.field).join(", ")}; reviewtune export --format vllm says why)`,
    );
  }
  if (result.model_dir) console.log(`  model: ${result.model_dir}`);
  console.log(`  run folder: ${directory}`);
}

/**
 * The training loop's seconds, and the whole job's where the report has them: the method table's
 * "wall s" counts loading, evaluation and saving too, and beside "474 s" a "1438" read as a mistake.
 */
function wallClock(result: NonNullable<RunRecord["result"]>): string {
  const whole = result.report?.wall_seconds;
  return `${result.train_seconds.toFixed(0)} s training${whole != null ? ` of ${whole.toFixed(0)} s in all (loading, evaluation and saving included: the table's wall s)` : ""}`;
}

/** "run <id>: <status> at step n/N", with a resume and what a time budget did to the schedule. */
export function runStatusLine(record: RunRecord): string {
  const result = record.result!;
  // A time budget plans the schedule from its first timed steps; when the run's own pace then fits fewer, the schedule ends there.
  const budget = result.time_budget;
  const replanned = budget?.replanned_steps != null && budget.replanned_steps < result.max_steps ? `, the time budget's plan of ${result.max_steps} steps cut to ${budget.replanned_steps} at the run's own pace` : "";
  const outOfTime = budget?.stopped_by_budget ? `, stopped by the time budget (${budget.seconds.toFixed(0)} s)` : "";
  return `run ${record.id}: ${record.status} at step ${result.global_step}/${result.max_steps}${result.resumed_from_step !== null ? ` (resumed from step ${result.resumed_from_step})` : ""}${replanned}${outOfTime}`;
}
