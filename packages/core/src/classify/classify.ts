// Labels and probabilities for review texts from a classification run: the engine runs the head
// (base + the run's adapter with its head, or the fully tuned model folder). The shape of the result
// ({labels, outputs: [{label, probabilities}]}) is what an HTTP /v1/classify answers too.
import type { EngineResult, TrainConfig } from "@reviewtune/contracts";
import type { EngineClient } from "../engine/client.js";
import { ConfigError } from "../errors.js";
import { runModel } from "../train/run-folder.js";
import { requireFinished, type RunRecord } from "../train/runs.js";

export type ClassifyResult = EngineResult<"classify">;

export interface ClassifierChoice {
  model: TrainConfig["model"];
  adapter?: string | undefined;
}

/** A finished classification run's model and adapter; a generative or unfinished run is refused. */
export function classifierOfRun(run: RunRecord, directory: string): ClassifierChoice {
  if (run.config.task !== "classify") {
    throw new ConfigError(`run ${run.id} is a generative run (task ${run.config.task}), not a classifier`, [], {
      hint: `ask it instead (reviewtune ask --run ${directory} "...") or train one with --task classify`,
    });
  }
  requireFinished(run, directory);
  return runModel(run, directory);
}

export async function classify(engine: EngineClient, choice: ClassifierChoice, texts: string[], options: { batchSize?: number; maxLength?: number } = {}): Promise<ClassifyResult> {
  return engine.request("classify", {
    model: choice.model,
    ...(choice.adapter ? { adapter: choice.adapter } : {}),
    texts,
    batch_size: options.batchSize ?? 8,
    max_length: options.maxLength ?? 512,
  });
}
