// run.json, the record of one training run (runs/<id>/run.json; the folder itself: core's
// run-folder.ts): what was trained on what, by which versions, how it went. `reviewtune train`
// writes it, and the CLI, the server and the studio read it through this one schema.
import { z } from "zod";
import { TrainConfigSchema } from "./config.js";
import { TrainResultSchema } from "./protocol.js";
import { RUN_STATUSES, TRAIN_METHODS } from "./vocabulary.js";

/**
 * run.json's `format`: the version of the record. Records written before the field existed have
 * the same fields and are read as this version.
 */
export const RUN_FORMAT = "reviewtune-run/1";

/** R3's row for a finished run: the method, its size and cost, and the head's figures (task classify). */
export const MethodReportSchema = z.object({
  method: z.enum(TRAIN_METHODS),
  model: z.string(),
  trainable_params: z.number().int(),
  total_params: z.number().int(),
  trainable_percent: z.number(),
  /** e.g. "4-bit nf4, compute float16, double quant off", or "none". */
  quantization: z.string(),
  /** e.g. "r16 alpha64 dropout0.1 q_proj,k_proj,...", or "-" for full fine-tuning. */
  lora: z.string(),
  peak_memory_bytes: z.number(),
  /** What peak memory measures: CUDA allocations on a GPU, the process's resident memory on a CPU. */
  peak_memory_of: z.enum(["cuda", "cpu-rss"]),
  wall_seconds: z.number().nullable(),
  train_seconds: z.number(),
  steps: z.number().int(),
  eval_loss: z.number().nullable(),
  accuracy: z.number().nullable(),
  macro_f1: z.number().nullable(),
  auc: z.number().nullable(),
});
export type MethodReport = z.infer<typeof MethodReportSchema>;

/** With data.balance "sentiment": analysis examples per sentiment before and after oversampling. */
export const BalanceReportSchema = z.object({
  by: z.literal("sentiment"),
  max_factor: z.number(),
  before: z.record(z.string(), z.number()),
  after: z.record(z.string(), z.number()),
});
export type BalanceReport = z.infer<typeof BalanceReportSchema>;

/** The values vLLM's --max-lora-rank accepts. */
export const VLLM_MAX_LORA_RANKS = [8, 16, 32, 64, 128, 256, 320, 512] as const;

/** Whether vLLM can serve a LoRA adapter as it is (core export/vllm-lint.ts), and the command that does. */
export const VllmLintSchema = z.object({
  compatible: z.boolean(),
  rank: z.number().int(),
  /** The smallest --max-lora-rank that holds the rank; null above vLLM's largest. */
  max_lora_rank: z.number().int().nullable(),
  /** The model vLLM serves the adapter over: the base's hub id where known. */
  base: z.string(),
  /** Each thing vLLM would refuse or apply differently: the adapter_config field, what, and the fix. */
  problems: z.array(z.object({ field: z.string(), message: z.string(), fix: z.string() })),
  command: z.string(),
});
export type VllmLint = z.infer<typeof VllmLintSchema>;

export const RunRecordSchema = z.object({
  format: z.literal(RUN_FORMAT).default(RUN_FORMAT),
  id: z.string().min(1),
  status: z.enum(RUN_STATUSES),
  created: z.string(),
  updated: z.string(),
  /** Where the config came from: a file, a preset, the studio. */
  origin: z.string(),
  /** The whole resolved config (what --resume trains again). */
  config: TrainConfigSchema,
  seed: z.number().int(),
  git_sha: z.string().nullable(),
  /** The engine's libraries, node, the engine version and the device. */
  versions: z.record(z.string(), z.string()),
  data: z.object({
    source: z.string(),
    train_rows: z.number().int(),
    validation_rows: z.number().int(),
    hash: z.string(),
    train_file: z.string(),
    validation_file: z.string().nullable(),
    /** Task "classify": where the labels came from (the reviewers' stars, or the analyzer reading the text). */
    label_sources: z.record(z.string(), z.number()).optional(),
    /** Task "generate" with data.balance "sentiment": analysis examples per sentiment before and after oversampling. */
    balance: BalanceReportSchema.optional(),
  }),
  /** The engine's result plus R3's report row and (LoRA runs) the vLLM lint of the adapter; null until the engine answered. */
  result: TrainResultSchema.extend({ report: MethodReportSchema.optional(), vllm: VllmLintSchema.optional() }).nullable(),
  error: z.object({ message: z.string(), code: z.string().optional() }).nullable(),
  /** How many times the run was started (1, then one more per --resume). */
  attempts: z.number().int().min(1),
});
export type RunRecord = z.output<typeof RunRecordSchema>;
/** A run that finished (completed or stopped early) and so has its result. */
export type FinishedRunRecord = RunRecord & { result: NonNullable<RunRecord["result"]> };

/** One line of a run's metrics.jsonl (the engine's `_MetricsWriter`): `kind` train | eval | final_eval | …, the step, and what was measured. */
export const MetricLineSchema = z.looseObject({
  kind: z.string(),
  step: z.number(),
  loss: z.number().nullish(),
  eval_loss: z.number().nullish(),
  learning_rate: z.number().nullish(),
  tokens_per_second: z.number().nullish(),
  time: z.number().nullish(),
});
export type MetricLine = z.infer<typeof MetricLineSchema>;

// ---- blind A/B pairs (`reviewtune human`, the studio's rating page: runs/<id>/human/) ----

const SIDES = z.enum(["base", "tuned"]);
const PREFERENCES = z.enum(["A", "B", "tie"]);
/** pairs.jsonl: what raters see (the base and tuned answers to one prompt, in a seeded random order). */
export const HumanPairSchema = z.object({ pair: z.string().min(1), task: z.string(), prompt: z.string(), A: z.string(), B: z.string(), preferred: PREFERENCES.nullable().optional() });
export type HumanPair = z.infer<typeof HumanPairSchema>;
/** key.json, kept apart from the raters: which side of each pair is which model. */
export const HumanKeySchema = z.object({ run: z.string(), seed: z.number().int(), pairs: z.record(z.string(), z.object({ A: SIDES, B: SIDES })) });
export type HumanKey = z.infer<typeof HumanKeySchema>;
/** One rating (a line of ratings.jsonl, or a pairs.jsonl line with `preferred` filled in). */
export const HumanRatingSchema = z.object({ pair: z.string().min(1), preferred: PREFERENCES });
export type HumanRating = z.infer<typeof HumanRatingSchema>;
