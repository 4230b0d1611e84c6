// What the studio shows of a run folder (runs/<id>/): run.json's status and result, the curve points
// from metrics.jsonl, the ETA from the points' times, and what to do next for a stopped or failed run.
import { existsSync, readFileSync, statSync } from "node:fs";
import { TrainEstimateSchema, tryParseJson, type RunPoint, type RunSummary, type TrainEstimate } from "@reviewtune/contracts";
import { interruptedBecause, readRunMetrics, readRunRecord, runPath, type RunRecord } from "@reviewtune/core";

/** Curve points from metrics.jsonl starting at byte `from` (a line still being written is left for later). */
export function readPoints(runDirectory: string, from = 0): { points: RunPoint[]; next: number } {
  const { lines, next } = readRunMetrics(runDirectory, from);
  const points: RunPoint[] = [];
  for (const entry of lines) {
    if (entry.kind !== "train" && entry.kind !== "eval" && entry.kind !== "final_eval") continue;
    points.push({
      kind: entry.kind === "train" ? "train" : "eval",
      step: entry.step,
      loss: entry.loss ?? null,
      eval_loss: entry.eval_loss ?? null,
      tokens_per_second: entry.tokens_per_second ?? null,
      time: entry.time ?? null,
    });
  }
  return { points, next };
}


/** The steps a run will take: the engine's figure once known, else from the config and the data. */
export function plannedSteps(record: RunRecord): number | null {
  if (record.result?.max_steps) return record.result.max_steps;
  const training = record.config?.training;
  if (!training) return null;
  if (training.max_steps) return training.max_steps;
  const rows = record.data?.train_rows;
  if (!rows) return null;
  return Math.ceil((training.epochs * rows) / (training.batch_size * training.gradient_accumulation));
}

export function readEstimate(runDirectory: string): TrainEstimate | null {
  const file = runPath(runDirectory, "studioEstimate");
  return existsSync(file) ? (tryParseJson(readFileSync(file, "utf8"), TrainEstimateSchema) ?? null) : null;
}

export function summarizeRun(runDirectory: string, attached: { active: boolean; logTail: () => string[] }): RunSummary {
  const record = readRunRecord(runDirectory);
  const { points } = readPoints(runDirectory);
  const train = points.filter((point) => point.kind === "train");
  const evals = points.filter((point) => point.kind === "eval");
  const last = train.at(-1);
  const maxSteps = plannedSteps(record);
  // A resumed run keeps its previous attempt's result in run.json until it finishes: while it runs,
  // the metrics are the live figures.
  const live = record.status === "running" ? null : record.result;
  const step = live?.global_step ?? last?.step ?? record.result?.global_step ?? 0;
  // ETA over this attempt's points (a resumed run's earlier points have older times).
  let eta: number | null = null;
  if (record.status === "running" && maxSteps && train.length >= 2) {
    const recent = train.slice(-Math.min(train.length, 20));
    const first = recent[0]!;
    const latest = recent.at(-1)!;
    if (first.time && latest.time && latest.step > first.step) eta = ((maxSteps - latest.step) * (latest.time - first.time)) / (latest.step - first.step);
  }
  // run.json says "running" until the engine answers: a killed training process would leave it so for ever.
  const interrupted = !attached.active ? interruptedBecause(runDirectory, record) : undefined;
  const status = interrupted ? "interrupted" : record.status;
  const evalKind = existsSync(runPath(runDirectory, "evalReport")) ? "analysis" : existsSync(runPath(runDirectory, "textReport")) ? "text" : null;
  const hasEval = evalKind !== null;
  let next: string | null = null;
  if (status === "cancelled") next = "stopped with a checkpoint: resume it to continue where it stopped";
  else if (status === "failed") next = `training failed: read the error and the log below, fix the cause, then resume (or start a new run). From a terminal: reviewtune train --resume ${runDirectory}`;
  else if (status === "interrupted") next = `interrupted: ${interrupted}; resume it to continue from its last checkpoint. From a terminal: reviewtune train --resume ${runDirectory}`;
  else if (status === "running" && !attached.active) next = "no training process of this studio is attached to this run: if it is not running elsewhere (the studio restarted), resume it";
  else if ((status === "completed" || status === "early_stopped") && !hasEval) next = `evaluate it: reviewtune eval --run ${runDirectory}`;
  return {
    id: record.id,
    status,
    active: attached.active,
    created: record.created ?? null,
    updated: record.updated ?? (existsSync(runPath(runDirectory, "record")) ? statSync(runPath(runDirectory, "record")).mtime.toISOString() : null),
    model: record.config?.model?.source ?? "",
    method: record.config?.method ?? "",
    task: record.config?.task ?? "generate",
    dataset: record.config?.data?.train ?? null,
    step,
    max_steps: maxSteps,
    train_loss: live?.train_loss ?? last?.loss ?? null,
    eval_loss: live?.final_eval_loss ?? evals.at(-1)?.eval_loss ?? null,
    tokens_per_second: live?.tokens_per_second ?? last?.tokens_per_second ?? null,
    eta_seconds: eta,
    peak_memory_bytes: live?.peak_memory_bytes ?? null,
    train_seconds: live?.train_seconds ?? null,
    has_adapter: !!record.result?.adapter_dir,
    has_eval: hasEval,
    eval_kind: evalKind,
    error: record.error?.message ?? null,
    next,
    log_tail: status === "failed" ? attached.logTail() : [],
    estimate: readEstimate(runDirectory),
  };
}
