// The studio's JSON API (/studio/api/*): one set of schemas for the fastify routes and the browser
// UI, named by resource and endpoint. Requests are strict (the UI's form validates with the same
// schema the server does); responses are schemas too, so tests and other clients can check them.
import { z } from "zod";
import { RejectionSchema } from "./dataset.js";
import { EstimateSchema, EvalReportSchema } from "./eval-report.js";
import { AnalyzeReviewSchema } from "./http-api.js";
import { RUN_STATUSES, TRAIN_METHODS } from "./vocabulary.js";
import { TextEvalReportSchema } from "./text-eval-report.js";

export const STUDIO_SPLITS = ["train", "val", "test"] as const;

/** GET /studio/api/status: what the studio can do on this machine, and what to do when it cannot. */
export const StudioStatusSchema = z.object({
  version: z.string(),
  model: z.string(),
  runs_dir: z.string(),
  data_dirs: z.array(z.string()),
  /** `fix` is set for a problem (not installed, failed); null while the engine is only starting. */
  engine: z.object({ ready: z.boolean(), problem: z.string().nullable(), fix: z.string().nullable() }),
  references: z.string().nullable(),
  runs: z.number().int(),
  datasets: z.number().int(),
});
export type StudioStatus = z.infer<typeof StudioStatusSchema>;

/** GET /studio/api/datasets */
export const DatasetSummarySchema = z.object({
  name: z.string(),
  directory: z.string(),
  created: z.string().nullable(),
  reviews: z.number().nullable(),
  examples: z.number().nullable(),
  splits: z.partialRecord(z.enum(STUDIO_SPLITS), z.number().int()),
  rejected: z.number().int(),
  /** Why the card could not be read (another version's, damaged): the folder is still listed, its figures unknown. */
  problem: z.string().nullable(),
});
export type DatasetSummary = z.infer<typeof DatasetSummarySchema>;

/** GET /studio/api/datasets/:name/rows?split&task&category&sentiment&offset&limit */
export const DatasetRowsQuerySchema = z.strictObject({
  split: z.enum(STUDIO_SPLITS).default("train"),
  task: z.string().max(64).optional(),
  category: z.string().max(128).optional(),
  sentiment: z.string().max(64).optional(),
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(200).default(20),
});
export type DatasetRowsQuery = z.infer<typeof DatasetRowsQuerySchema>;

export const DatasetRowSchema = z.object({
  /** 0-based line number in the split's file: what /rendered asks for. */
  index: z.number().int(),
  task: z.string(),
  review: z.string().nullable(),
  category: z.string().nullable(),
  sentiment: z.string().nullable(),
  prompt: z.string(),
  answer: z.string(),
});
export type DatasetRow = z.infer<typeof DatasetRowSchema>;

export const DatasetRowsResponseSchema = z.object({
  split: z.string(),
  total: z.number().int(),
  offset: z.number().int(),
  limit: z.number().int(),
  rows: z.array(DatasetRowSchema),
  /** The values each filter can take in this split. */
  facets: z.object({ task: z.array(z.string()), category: z.array(z.string()), sentiment: z.array(z.string()) }),
});
export type DatasetRowsResponse = z.infer<typeof DatasetRowsResponseSchema>;

/** GET /studio/api/datasets/:name/rendered?split&index: the exact training string; `completion` carries the loss. */
export const RenderedRowQuerySchema = z.strictObject({
  split: z.enum(STUDIO_SPLITS).default("train"),
  index: z.coerce.number().int().min(0),
  /** Whose chat template renders it (default: the studio's model). */
  model: z.string().min(1).max(512).optional(),
});
export const RenderedRowSchema = z.object({ model: z.string(), prompt: z.string(), completion: z.string() });
export type RenderedRow = z.infer<typeof RenderedRowSchema>;

/** GET /studio/api/datasets/:name/rejected?offset&limit */
export const PageQuerySchema = z.strictObject({ offset: z.coerce.number().int().min(0).default(0), limit: z.coerce.number().int().min(1).max(200).default(20) });
export const RejectedRowSchema = RejectionSchema.pick({ file: true, line: true, reason: true, detail: true });
export type RejectedRow = z.infer<typeof RejectedRowSchema>;
export const RejectedResponseSchema = z.object({
  total: z.number().int(),
  offset: z.number().int(),
  rows: z.array(RejectedRowSchema),
  counts: z.record(z.string(), z.number().int()),
});
export type RejectedResponse = z.infer<typeof RejectedResponseSchema>;

/** POST /studio/api/train and POST /studio/api/estimate: the main hyper-parameters; the rest comes from the preset. */
export const StudioTrainRequestSchema = z
  .strictObject({
    preset: z.string().min(1).max(128),
    model: z.string().min(1).max(512),
    dataset: z.string().min(1).max(256),
    method: z.enum(TRAIN_METHODS),
    epochs: z.number().positive().max(100).optional(),
    max_steps: z.number().int().positive().max(1_000_000).optional(),
    learning_rate: z.number().positive().max(1),
    batch_size: z.number().int().min(1).max(1024),
    max_length: z.number().int().min(16).max(32_768),
    lora_r: z.number().int().min(1).max(1024),
    /** training.activation_checkpointing: most activation memory saved for recomputing it (slower). */
    activation_checkpointing: z.boolean().default(false),
  })
  .refine((request) => request.epochs !== undefined || request.max_steps !== undefined, { message: "give epochs or max_steps", path: ["max_steps"] });
export type StudioTrainRequest = z.infer<typeof StudioTrainRequestSchema>;

/** GET /studio/api/presets: each shipped preset and the values the form starts from. */
export const PresetSummarySchema = z.object({
  name: z.string(),
  description: z.string(),
  defaults: z.object({
    model: z.string(),
    method: z.enum(TRAIN_METHODS),
    epochs: z.number().optional(),
    max_steps: z.number().int().optional(),
    learning_rate: z.number(),
    batch_size: z.number().int(),
    max_length: z.number().int(),
    lora_r: z.number().int(),
    activation_checkpointing: z.boolean(),
  }),
});
export type PresetSummary = z.infer<typeof PresetSummarySchema>;

/** The memory and time a run will need, estimated before it starts (packages/studio/src/training/estimate.ts has the formula). */
export const TrainEstimateSchema = z.object({
  parameters: z.number().int(),
  trainable: z.number().int(),
  steps: z.number().int(),
  tokens_per_step: z.number(),
  memory_bytes: z.object({ weights: z.number(), optimizer: z.number(), activations: z.number(), runtime: z.number(), total: z.number() }),
  seconds: z.number(),
  /** The throughput the time assumes, and where it came from (a finished run of this model, or the FLOP count). */
  tokens_per_second: z.number(),
  basis: z.string(),
  formula: z.string(),
  /**
   * Recipe R4's table: the time of the same run for other numbers of training samples, epochs and
   * batch sizes, from the same estimate (the same tokens/s, measured by a finished run when there is one).
   */
  table: z.array(z.object({ samples: z.number().int(), epochs: z.number(), batch_size: z.number().int(), steps: z.number().int(), seconds: z.number() })).optional(),
});
export type TrainEstimate = z.infer<typeof TrainEstimateSchema>;

/** One point of a run's curves, from metrics.jsonl (SSE `event: point`). */
export const RunPointSchema = z.object({
  kind: z.enum(["train", "eval"]),
  step: z.number(),
  loss: z.number().nullable(),
  eval_loss: z.number().nullable(),
  tokens_per_second: z.number().nullable(),
  time: z.number().nullable(),
});
export type RunPoint = z.infer<typeof RunPointSchema>;

/** GET /studio/api/runs, /runs/:id, and the SSE stream's `run` and `end` events. */
export const RunSummarySchema = z.object({
  id: z.string(),
  /**
   * As run.json says (RUN_STATUSES), except "interrupted": run.json says running but no live
   * process trains it (its heartbeat.json is missing, its pid gone or silent); resume it.
   */
  status: z.enum([...RUN_STATUSES, "interrupted"]),
  /** Started by this studio and its process is alive (stop works); a "running" run without it was orphaned. */
  active: z.boolean(),
  created: z.string().nullable(),
  updated: z.string().nullable(),
  model: z.string(),
  method: z.string(),
  task: z.string(),
  dataset: z.string().nullable(),
  step: z.number().int(),
  max_steps: z.number().int().nullable(),
  train_loss: z.number().nullable(),
  eval_loss: z.number().nullable(),
  tokens_per_second: z.number().nullable(),
  eta_seconds: z.number().nullable(),
  /** Measured by a finished attempt (null while running). */
  peak_memory_bytes: z.number().nullable(),
  train_seconds: z.number().nullable(),
  has_adapter: z.boolean(),
  has_eval: z.boolean(),
  /** Which report `eval` wrote: the review analysis (eval/report.json) or, for a QA or description run, the text report. */
  eval_kind: z.enum(["analysis", "text"]).nullable().optional(),
  error: z.string().nullable(),
  /** What to do next, in words (failed: fix and resume; cancelled: resume; finished: evaluate). */
  next: z.string().nullable(),
  /** The last lines of the training output, for a failed run (from runs/<id>/studio/train.log). */
  log_tail: z.array(z.string()),
  estimate: TrainEstimateSchema.nullable(),
});
export type RunSummary = z.infer<typeof RunSummarySchema>;

/** POST /studio/api/compare/models: loads a run as an adapter (named by its id) for /v1/chat/completions. */
export const CompareLoadRequestSchema = z.strictObject({ run: z.string().min(1).max(256) });
export const CompareLoadResponseSchema = z.object({ model: z.string(), status: z.enum(["loaded", "fallback"]), message: z.string().nullable() });
export type CompareLoadResponse = z.infer<typeof CompareLoadResponseSchema>;

/** GET /studio/api/runs/:id/test-prompts: held-out prompts to ask (the run's dataset test split, else validation). */
export const TestPromptSchema = z.object({ task: z.string(), prompt: z.string(), reference: z.string() });
export type TestPrompt = z.infer<typeof TestPromptSchema>;

/**
 * GET /studio/api/runs/:id/test-reviews: held-out reviews of the run's dataset (its test split's
 * analysis examples) with their gold, to analyze on the Compare page. `stars` is null where the
 * review had no rating of its own.
 */
export const TestReviewSchema = z.object({
  id: z.string(),
  text: z.string(),
  title: z.string().nullable(),
  category: z.string().nullable(),
  gold: z.object({ stars: z.number().nullable(), sentiment: z.string(), quality: z.string(), recommendation: z.string(), aspects: z.array(z.string()) }),
});
export type TestReview = z.infer<typeof TestReviewSchema>;

/** POST /studio/api/analyze/rule-based: the rule-based analyzer's analysis of one review (the baseline card beside the models'). */
export const RuleBasedAnalyzeRequestSchema = AnalyzeReviewSchema;
export type RuleBasedAnalyzeRequest = z.infer<typeof RuleBasedAnalyzeRequestSchema>;

/** GET /studio/api/runs/:id/report: report.json as `reviewtune eval` wrote it, and its headline table formatted as report.md formats it. */
/** GET /studio/api/runs/:id/text-report: a QA or description run's evaluation and its answers side by side (the first `limit`). */
export const StudioTextReportResponseSchema = z.object({
  report: TextEvalReportSchema,
  answers: z.array(z.object({ task: z.string(), prompt: z.string(), reference: z.string(), answers: z.record(z.string(), z.string()) })),
  total_answers: z.number().int(),
});
export type StudioTextReportResponse = z.infer<typeof StudioTextReportResponseSchema>;

export const StudioReportResponseSchema = z.object({
  report: EvalReportSchema,
  headline: z.object({ systems: z.array(z.string()), rows: z.array(z.object({ label: z.string(), figures: z.array(z.string()) })) }),
});
export type StudioReportResponse = z.infer<typeof StudioReportResponseSchema>;

/** POST /studio/api/runs/:id/human */
export const HumanRateRequestSchema = z.strictObject({ pair: z.string().min(1).max(32), preferred: z.enum(["A", "B", "tie"]) });
export type HumanRateRequest = z.infer<typeof HumanRateRequestSchema>;

/** GET /studio/api/runs/:id/human: the next unrated blind pair (sides never named), and the score so far. */
export const HumanStateSchema = z.object({
  pair: z.object({ pair: z.string(), task: z.string(), prompt: z.string(), A: z.string(), B: z.string() }).nullable(),
  total: z.number().int(),
  rated: z.number().int(),
  score: z.object({ tuned_wins: z.number().int(), base_wins: z.number().int(), ties: z.number().int(), tuned_win_rate: EstimateSchema }).nullable(),
});
export type HumanState = z.infer<typeof HumanStateSchema>;

/** Every error: `{ error: { message, code, hint } }`, `hint` saying what to do next. */
export const StudioErrorSchema = z.object({
  error: z.object({ message: z.string(), code: z.string(), hint: z.string().nullable(), fields: z.record(z.string(), z.string()).optional() }),
});
export type StudioError = z.infer<typeof StudioErrorSchema>;
