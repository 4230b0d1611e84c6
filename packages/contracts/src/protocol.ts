// The engine protocol: JSON lines over stdio between the Node side and the Python engine.
// Defined once here; the engine validates the same shapes through the generated JSON Schema
// (engine/src/reviewtune_engine/protocol.schema.json) and both test suites replay recorded transcripts.
import { z } from "zod";
import { TrainConfigSchema } from "./config.js";

export const PROTOCOL_VERSION = 1;

export const ModelReferenceSchema = z.strictObject({
  source: z.string().min(1),
  allow_pickle: z.boolean().default(false),
  revision: z.string().min(1).optional(),
});

// ---- requests (Node -> engine) -------------------------------------------------------------

const request = <M extends string, P extends z.ZodType>(method: M, params: P) =>
  z.strictObject({ id: z.string().min(1), method: z.literal(method), params });

export const PingRequestSchema = request("ping", z.strictObject({}));
export const ShutdownRequestSchema = request("shutdown", z.strictObject({}));
export const CancelRequestSchema = request("cancel", z.strictObject({ target: z.string().min(1) }));
export const ModelInfoRequestSchema = request("model_info", z.strictObject({ model: ModelReferenceSchema }));
export const TokenizeRequestSchema = request(
  "tokenize",
  z.strictObject({ model: ModelReferenceSchema, text: z.string(), add_special_tokens: z.boolean().default(false) }),
);
/** Token counts of many texts in one request (dataset cards, truncation). */
export const CountTokensRequestSchema = request(
  "count_tokens",
  z.strictObject({ model: ModelReferenceSchema, texts: z.array(z.string()).min(1).max(4096), add_special_tokens: z.boolean().default(false) }),
);
export const GenerateRequestSchema = request(
  "generate",
  z.strictObject({
    model: ModelReferenceSchema,
    /** A PEFT adapter folder; when absent the base model answers. */
    adapter: z.string().min(1).optional(),
    /** Fully rendered prompts (chat template already applied by the Node side). */
    prompts: z.array(z.string()).min(1),
    max_new_tokens: z.number().int().positive().max(8192).default(128),
    /** 0 = greedy. */
    temperature: z.number().min(0).max(5).default(0),
    top_p: z.number().gt(0).max(1).default(1),
    batch_size: z.number().int().positive().default(8),
    seed: z.number().int().nonnegative().default(0),
    /** Stream "token" events while generating. */
    stream: z.boolean().default(false),
  }),
);
/** Log-probabilities of continuations after prompts (label words for AUC, answers for perplexity). */
export const ScoreRequestSchema = request(
  "score",
  z.strictObject({
    model: ModelReferenceSchema,
    adapter: z.string().min(1).optional(),
    /** Fully rendered prompts (chat template applied). */
    prompts: z.array(z.string().min(1)).min(1),
    /** One shared list of continuations for every prompt, or one list per prompt. */
    candidates: z.array(z.array(z.string().min(1)).min(1)).min(1),
    /** (prompt, continuation) pairs per forward pass. */
    batch_size: z.number().int().positive().default(8),
  }),
);
export const TrainRequestSchema = request(
  "train",
  z.strictObject({
    run_dir: z.string().min(1),
    config: TrainConfigSchema,
    /** JSONL of {prompt, completion} rows, already rendered with the chat template. */
    train_file: z.string().min(1),
    eval_file: z.string().min(1).optional(),
    resume: z.boolean().default(false),
  }),
);

export const EngineRequestSchema = z.discriminatedUnion("method", [
  PingRequestSchema,
  ShutdownRequestSchema,
  CancelRequestSchema,
  ModelInfoRequestSchema,
  TokenizeRequestSchema,
  CountTokensRequestSchema,
  GenerateRequestSchema,
  ScoreRequestSchema,
  TrainRequestSchema,
]);
export type EngineRequest = z.input<typeof EngineRequestSchema>;
export type EngineMethod = EngineRequest["method"];
export type EngineParams<M extends EngineMethod> = Extract<EngineRequest, { method: M }>["params"];

// ---- results (engine -> Node), one per method ------------------------------------------------

export const VersionsSchema = z.record(z.string(), z.string());

export const ModelInfoResultSchema = z.object({
  source: z.string(),
  kind: z.enum(["embedded", "local_folder", "gguf_file", "hub"]),
  architecture: z.string(),
  parameters: z.number().int(),
  context_length: z.number().int().nullable(),
  chat_template: z.string().nullable(),
  bos_token: z.string().nullable(),
  eos_token: z.string().nullable(),
  pad_token: z.string().nullable(),
  load_seconds: z.number(),
});
export type ModelInfo = z.infer<typeof ModelInfoResultSchema>;

export const TokenizeResultSchema = z.object({ ids: z.array(z.number().int()), tokens: z.array(z.string()) });

export const GenerationOutputSchema = z.object({
  text: z.string(),
  new_tokens: z.number().int(),
  finish_reason: z.enum(["stop", "length", "cancelled"]),
});
export const GenerateResultSchema = z.object({
  outputs: z.array(GenerationOutputSchema),
  seconds: z.number(),
  tokens_per_second: z.number(),
  adapter_loaded: z.boolean(),
});
export type GenerateResult = z.infer<typeof GenerateResultSchema>;

export const ScoreResultSchema = z.object({
  /** scores[prompt][candidate]: summed log-probability of the continuation's tokens, and their count. */
  scores: z.array(z.array(z.object({ logprob: z.number(), tokens: z.number().int().positive() }))),
  seconds: z.number(),
  adapter_loaded: z.boolean(),
});
export type ScoreResult = z.infer<typeof ScoreResultSchema>;

export const ParameterCountSchema = z.object({ trainable: z.number().int(), total: z.number().int(), trainable_percent: z.number() });

export const TrainResultSchema = z.object({
  status: z.enum(["completed", "early_stopped", "cancelled"]),
  global_step: z.number().int(),
  max_steps: z.number().int(),
  epochs_completed: z.number(),
  best_checkpoint: z.string().nullable(),
  best_eval_loss: z.number().nullable(),
  final_eval_loss: z.number().nullable(),
  train_loss: z.number().nullable(),
  adapter_dir: z.string().nullable(),
  model_dir: z.string().nullable(),
  parameters: ParameterCountSchema,
  train_tokens: z.number().int(),
  train_seconds: z.number(),
  tokens_per_second: z.number(),
  seconds_per_step: z.number(),
  peak_memory_bytes: z.number().int(),
  resumed_from_step: z.number().int().nullable(),
});
export type TrainResult = z.infer<typeof TrainResultSchema>;

export const ResultSchemas = {
  ping: z.object({ pong: z.literal(true) }),
  shutdown: z.object({ stopping: z.literal(true) }),
  cancel: z.object({ cancelled: z.boolean() }),
  model_info: ModelInfoResultSchema,
  tokenize: TokenizeResultSchema,
  count_tokens: z.object({ counts: z.array(z.number().int().nonnegative()) }),
  generate: GenerateResultSchema,
  score: ScoreResultSchema,
  train: TrainResultSchema,
} as const satisfies Record<EngineMethod, z.ZodType>;
export type EngineResult<M extends EngineMethod> = z.infer<(typeof ResultSchemas)[M]>;

// ---- messages (engine -> Node) ---------------------------------------------------------------

export const TokenEventSchema = z.object({ kind: z.literal("token"), index: z.number().int(), text: z.string() });
export const ProgressEventSchema = z.object({
  kind: z.literal("progress"),
  step: z.number().int(),
  max_steps: z.number().int(),
  epoch: z.number(),
  loss: z.number().nullable(),
  learning_rate: z.number().nullable(),
  tokens_per_second: z.number(),
  elapsed_seconds: z.number(),
  eta_seconds: z.number().nullable(),
});
export const EvalEventSchema = z.object({ kind: z.literal("eval"), step: z.number().int(), epoch: z.number(), eval_loss: z.number() });
export const CheckpointEventSchema = z.object({ kind: z.literal("checkpoint"), step: z.number().int(), path: z.string() });
export const StatusEventSchema = z.object({ kind: z.literal("status"), message: z.string() });
export const EngineEventSchema = z.discriminatedUnion("kind", [
  TokenEventSchema,
  ProgressEventSchema,
  EvalEventSchema,
  CheckpointEventSchema,
  StatusEventSchema,
]);
export type EngineEvent = z.infer<typeof EngineEventSchema>;

export const EngineErrorBodySchema = z.object({
  /** Stable machine-readable code, e.g. model_not_found, pickle_refused, offline, invalid_request. */
  code: z.string(),
  message: z.string(),
  /** What to do next. */
  hint: z.string().nullable().optional(),
  /** The config field or file the error is about, when there is one. */
  field: z.string().nullable().optional(),
  file: z.string().nullable().optional(),
});
export type EngineErrorBody = z.infer<typeof EngineErrorBodySchema>;

export const ReadyMessageSchema = z.object({
  type: z.literal("ready"),
  protocol: z.number().int(),
  engine_version: z.string(),
  versions: VersionsSchema,
  device: z.string(),
  threads: z.number().int(),
  pid: z.number().int(),
});
export type ReadyMessage = z.infer<typeof ReadyMessageSchema>;

// Tolerant (z.object, not strict): what another process sends us may grow fields.
export const EngineMessageSchema = z.discriminatedUnion("type", [
  ReadyMessageSchema,
  z.object({ type: z.literal("event"), id: z.string(), event: EngineEventSchema }),
  z.object({ type: z.literal("result"), id: z.string(), result: z.unknown() }),
  z.object({ type: z.literal("error"), id: z.string().nullable(), error: EngineErrorBodySchema }),
]);
export type EngineMessage = z.infer<typeof EngineMessageSchema>;
