// The model a command answers with, from its options: a run (through the run folder's one rule,
// runModel) or a model and adapter named directly. Shared by the actions; commands only parse.
import { readRunRecord, requireFinished, runModel, type RunRecord } from "@reviewtune/core";
import type { TrainConfig } from "@reviewtune/contracts";

export interface ModelChoice {
  model: TrainConfig["model"];
  adapter?: string | undefined;
  run?: RunRecord | undefined;
}

/** --run <dir> picks the run's base model and its adapter (or fully tuned model folder). */
export function modelFromOptions(options: { run?: string; model?: string; adapter?: string; allowPickle?: boolean; base?: boolean }): ModelChoice {
  if (options.run) {
    const run = readRunRecord(options.run);
    requireFinished(run, options.run);
    return { ...runModel(run, options.run, { base: options.base ?? false }), run };
  }
  return {
    model: { source: options.model ?? "smollm2-135m-instruct", allow_pickle: options.allowPickle ?? false },
    adapter: options.base ? undefined : options.adapter,
  };
}
