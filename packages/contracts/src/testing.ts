// Whole records for tests that need a run folder without training one (`@reviewtune/contracts/testing`):
// run.json is read through its schema, so a fixture must be a record `reviewtune train` could write.
import { TrainConfigSchema, type TrainConfigInput } from "./config.js";
import type { TrainResult } from "./protocol.js";
import { RUN_FORMAT, type RunRecord } from "./run-record.js";

/** A finished engine result with the figures a test names; the rest zero or null. */
export function trainResultFixture(figures: Partial<TrainResult> = {}): TrainResult {
  return {
    status: "completed",
    global_step: 0,
    max_steps: 0,
    epochs_completed: 1,
    best_checkpoint: null,
    best_eval_loss: null,
    final_eval_loss: null,
    train_loss: null,
    adapter_dir: null,
    model_dir: null,
    parameters: { trainable: 1, total: 2, trainable_percent: 50 },
    train_tokens: 0,
    train_seconds: 0,
    tokens_per_second: 0,
    seconds_per_step: 0,
    peak_memory_bytes: 0,
    resumed_from_step: null,
    ...figures,
  };
}

/** A run.json as a run starts (status running, no result), with `config` resolved from `config` and the fields a test names. */
export function runRecordFixture(fields: Partial<Omit<RunRecord, "config">> & { config?: TrainConfigInput } = {}): RunRecord {
  const { config, ...rest } = fields;
  return {
    format: RUN_FORMAT,
    id: "20260101-000000-test",
    status: "running",
    created: "2026-01-01T00:00:00.000Z",
    updated: "2026-01-01T00:00:00.000Z",
    origin: "test",
    config: TrainConfigSchema.parse(config ?? {}),
    seed: 42,
    git_sha: null,
    versions: {},
    data: { source: "test", train_rows: 1, validation_rows: 0, hash: "x", train_file: "train.jsonl", validation_file: null },
    result: null,
    error: null,
    attempts: 1,
    ...rest,
  };
}
