// The studio's JSON API (/studio/api/*): one set of schemas for the fastify routes and the browser
// UI, named by resource and endpoint. Requests are strict (the UI's form validates with the same
// schema the server does); responses are written by our own server and read as typed values.
import { z } from "zod";
import type { Estimate, EvalReport } from "./eval-report.js";

export const STUDIO_SPLITS = ["train", "val", "test"] as const;
export const TRAIN_METHODS = ["lora", "qlora", "full"] as const;

/** GET /studio/api/status: what the studio can do on this machine, and what to do when it cannot. */
export interface StudioStatus {
  version: string;
  model: string;
  runs_dir: string;
  data_dirs: string[];
  engine: { ready: boolean; problem: string | null; fix: string | null };
  references: string | null;
  runs: number;
  datasets: number;
}

/** GET /studio/api/datasets */
export interface DatasetSummary {
  name: string;
  directory: string;
  created: string | null;
  reviews: number | null;
  examples: number | null;
  splits: Partial<Record<(typeof STUDIO_SPLITS)[number], number>>;
  rejected: number;
}

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

export interface DatasetRow {
  /** 0-based line number in the split's file: what /rendered asks for. */
  index: number;
  task: string;
  review: string | null;
  category: string | null;
  sentiment: string | null;
  prompt: string;
  answer: string;
}

export interface DatasetRowsResponse {
  split: string;
  total: number;
  offset: number;
  limit: number;
  rows: DatasetRow[];
  /** The values each filter can take in this split. */
  facets: { task: string[]; category: string[]; sentiment: string[] };
}

/** GET /studio/api/datasets/:name/rendered?split&index: the exact training string; `completion` carries the loss. */
export const RenderedRowQuerySchema = z.strictObject({
  split: z.enum(STUDIO_SPLITS).default("train"),
  index: z.coerce.number().int().min(0),
  /** Whose chat template renders it (default: the studio's model). */
  model: z.string().min(1).max(512).optional(),
});
export interface RenderedRow {
  model: string;
  prompt: string;
  completion: string;
}

/** GET /studio/api/datasets/:name/rejected?offset&limit */
export const PageQuerySchema = z.strictObject({ offset: z.coerce.number().int().min(0).default(0), limit: z.coerce.number().int().min(1).max(200).default(20) });
export interface RejectedRow {
  file: string;
  line: number;
  reason: string;
  detail: string;
}
export interface RejectedResponse {
  total: number;
  offset: number;
  rows: RejectedRow[];
  counts: Record<string, number>;
}

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
  })
  .refine((request) => request.epochs !== undefined || request.max_steps !== undefined, { message: "give epochs or max_steps", path: ["max_steps"] });
export type StudioTrainRequest = z.infer<typeof StudioTrainRequestSchema>;

/** GET /studio/api/presets: each shipped preset and the values the form starts from. */
export interface PresetSummary {
  name: string;
  description: string;
  defaults: Omit<StudioTrainRequest, "dataset" | "preset">;
}

/** The memory and time a run will need, estimated before it starts (see estimate.ts for the formula). */
export interface TrainEstimate {
  parameters: number;
  trainable: number;
  steps: number;
  tokens_per_step: number;
  memory_bytes: { weights: number; optimizer: number; activations: number; runtime: number; total: number };
  seconds: number;
  /** The throughput the time assumes, and where it came from (a finished run of this model, or the FLOP count). */
  tokens_per_second: number;
  basis: string;
  formula: string;
}

export const RUN_POINT_KINDS = ["train", "eval"] as const;
/** One point of a run's curves, from metrics.jsonl. */
export interface RunPoint {
  kind: (typeof RUN_POINT_KINDS)[number];
  step: number;
  loss: number | null;
  eval_loss: number | null;
  tokens_per_second: number | null;
  time: number | null;
}

/** GET /studio/api/runs, /runs/:id, and the SSE stream's "run" event. */
export interface RunSummary {
  id: string;
  status: "running" | "completed" | "early_stopped" | "cancelled" | "failed";
  /** Started by this studio and its process is alive (stop works); a "running" run without it was orphaned. */
  active: boolean;
  created: string | null;
  updated: string | null;
  model: string;
  method: string;
  task: string;
  dataset: string | null;
  step: number;
  max_steps: number | null;
  train_loss: number | null;
  eval_loss: number | null;
  tokens_per_second: number | null;
  eta_seconds: number | null;
  peak_memory_bytes: number | null;
  train_seconds: number | null;
  has_adapter: boolean;
  has_eval: boolean;
  error: string | null;
  /** What to do next, in words (failed: resume or read the log; cancelled: resume). */
  next: string | null;
  /** The last lines the training process wrote, for a failed run. */
  log_tail: string[];
  estimate: TrainEstimate | null;
}

/** SSE /studio/api/runs/:id/events: `event: point` (RunPoint), `event: run` (RunSummary), `event: end`. */
export type RunStreamEvent = { event: "point"; data: RunPoint } | { event: "run"; data: RunSummary } | { event: "end"; data: RunSummary };

/** POST /studio/api/compare/models: loads a run as an adapter (named by its id) for /v1/chat/completions. */
export const CompareLoadRequestSchema = z.strictObject({ run: z.string().min(1).max(256) });
export interface CompareLoadResponse {
  model: string;
  status: "loaded" | "fallback";
  message: string | null;
}

/** GET /studio/api/runs/:id/test-prompts: held-out prompts to ask (the run's dataset test split, else validation). */
export interface TestPrompt {
  task: string;
  prompt: string;
  reference: string;
}

/** GET /studio/api/runs/:id/report: report.json as `reviewtune eval` wrote it, and its headline table formatted as report.md formats it. */
export interface StudioReportResponse {
  report: EvalReport;
  headline: { systems: string[]; rows: Array<{ label: string; figures: string[] }> };
}

/** POST /studio/api/runs/:id/human */
export const HumanRateRequestSchema = z.strictObject({ pair: z.string().min(1).max(32), preferred: z.enum(["A", "B", "tie"]) });
export type HumanRateRequest = z.infer<typeof HumanRateRequestSchema>;

/** GET /studio/api/runs/:id/human: the next unrated blind pair (sides never named), and the score so far. */
export interface HumanState {
  pair: { pair: string; task: string; prompt: string; A: string; B: string } | null;
  total: number;
  rated: number;
  score: { tuned_wins: number; base_wins: number; ties: number; tuned_win_rate: Estimate } | null;
}

/** Every error: `{ error: { message, code, hint } }`, `hint` saying what to do next. */
export interface StudioError {
  error: { message: string; code: string; hint: string | null; fields?: Record<string, string> };
}
