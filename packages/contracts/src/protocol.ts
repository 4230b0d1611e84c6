// The engine protocol: JSON lines over stdio between the Node side and the Python engine.
// Defined once here; the engine validates the same shapes through the generated JSON Schema
// (engine/src/reviewtune_engine/protocol.schema.json) and both test suites replay recorded transcripts.
import { z } from "zod";
import { DISTRIBUTED_STRATEGIES, TrainConfigSchema } from "./config.js";

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
/**
 * An ordered choice inside an answer decided by the median of the model's distribution over its
 * options instead of the likeliest option: the first time the answer so far ends with `after`
 * (whitespace ignored), within its first ORDINAL_WINDOW tokens, and its likeliest next token is one
 * of `choices` (each one token, in their order), the option where the cumulative probability over
 * the options reaches one half is taken. The median is the choice with the lowest expected distance to the truth on an
 * ordered scale (stars: the lowest expected absolute error), and it does not round an uncertain
 * review away from the middle. Greedy decoding only (temperature 0); with sampling the option is
 * sampled as usual. With a JSON schema, the choices must be alternatives of one enum, so that the
 * grammar continues the same way after any of them.
 */
export const OrdinalChoiceSchema = z
  .strictObject({
    after: z.string().min(1).max(200),
    choices: z.array(z.string().min(1).max(20)).min(2).max(32),
    /**
     * A second ordered choice decided together with this one (see jointChoice): the answer goes on
     * with `text` after any option of this choice, then writes one of `choices`; `bands[i]` is the
     * index of the second choice's option that this choice's option i belongs to (non-decreasing:
     * stars 1-2 negative, 3 neutral, 4-5 positive). Where this choice is due, the model's
     * distribution over the second's options is read once after this choice's median option and
     * `text`, the two readings decide both options, and the second is written when it comes (one
     * token each, as above; otherwise each is decided alone).
     */
    then: z
      .strictObject({
        text: z.string().min(1).max(200),
        choices: z.array(z.string().min(1).max(20)).min(2).max(32),
        bands: z.array(z.number().int().nonnegative()).min(2).max(32),
      })
      .optional(),
  })
  .refine(
    (choice) =>
      !choice.then ||
      (choice.then.bands.length === choice.choices.length &&
        choice.then.bands.every((band, index) => band < choice.then!.choices.length && (index === 0 || band >= choice.then!.bands[index - 1]!))),
    { message: "then.bands needs one non-decreasing index into then.choices per option of choices", path: ["then", "bands"] },
  );
/** Answer tokens within which ordinal choices are looked for (each of those steps computes the full next-token distribution). */
export const ORDINAL_WINDOW = 64;
export type OrdinalChoice = z.infer<typeof OrdinalChoiceSchema>;

/** The index where the cumulative weight reaches half the total (the median option), or -1 when no weight is positive. */
export function medianIndex(weights: readonly number[]): number {
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  if (!(total > 0)) return -1;
  let cumulative = 0;
  for (const [index, weight] of weights.entries()) {
    cumulative += weight;
    if (cumulative >= total / 2) return index;
  }
  return weights.length - 1;
}

/**
 * Two ordered choices decided together (OrdinalChoice.then), from two readings of one review: `first`,
 * the model's weights over the first choice's options (the stars), and `second`, its weights over the
 * second's options (the sentiment) read after the first's median option. Each option of the second
 * choice is weighed by its own reading times the first reading's mass over its band, and the median
 * of those is taken (a model that is sure of its stars keeps the band of its median star); the first
 * choice's option is then the one of that band nearest to its median (the lowest expected absolute
 * error under the first reading among the options the second allows). A model whose stars say
 * nothing yet (the same distribution for every review) still writes stars on the side its sentiment
 * reading says; a model whose stars are torn between the two ends no longer reads as neutral unless
 * its sentiment reading says so too. Measured: decision 0018.
 */
export function jointChoice(first: readonly number[], second: readonly number[], bands: readonly number[]): { first: number; second: number } | undefined {
  const median = medianIndex(first);
  if (median < 0) return undefined;
  const mass = second.map((weight, band) => weight * first.reduce((sum, value, index) => sum + (bands[index] === band ? value : 0), 0));
  const chosen = medianIndex(mass);
  if (chosen < 0) return { first: median, second: bands[median]! };
  let nearest = -1;
  for (const [index, band] of bands.entries()) {
    if (band === chosen && (nearest < 0 || Math.abs(index - median) < Math.abs(nearest - median))) nearest = index;
  }
  return { first: nearest, second: chosen };
}
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
    /**
     * A JSON Schema every answer is constrained to (compact JSON, ends at EOS once complete), e.g.
     * REVIEW_ANALYSIS_JSON_SCHEMA, or one per prompt (an array as long as `prompts`, e.g. each
     * review's reviewAnalysisJsonSchema). A schema the engine cannot enforce is refused with `bad_schema`.
     */
    json_schema: z.union([z.record(z.string(), z.unknown()), z.array(z.record(z.string(), z.unknown())).min(1)]).optional(),
    /** Up to 4 strings that end an answer; the answer's text stops before the first one (OpenAI's `stop`). */
    stop: z.array(z.string().min(1)).max(4).optional(),
    /** OpenAI's penalties: each generated token's logit is lowered by frequency x its count so far + presence once it appeared. */
    presence_penalty: z.number().min(-2).max(2).default(0),
    frequency_penalty: z.number().min(-2).max(2).default(0),
    /** Absent: no log-probabilities; n: each answer token's log-probability and the n likeliest alternatives. */
    logprobs: z.number().int().min(0).max(20).optional(),
    /** Ordered choices decided by their median instead of their likeliest option (see OrdinalChoiceSchema). */
    ordinal: z.array(OrdinalChoiceSchema).min(1).max(8).optional(),
  }),
);
/** Sentence embeddings (mean pooled, L2-normalized) from an embedded embedding model. */
export const EmbeddingModelSchema = z.enum(["all-minilm-l6-v2"]);
export const EmbedRequestSchema = request(
  "embed",
  z.strictObject({
    model: EmbeddingModelSchema.default("all-minilm-l6-v2"),
    texts: z.array(z.string()).min(1).max(2048),
    normalize: z.boolean().default(true),
    batch_size: z.number().int().positive().max(512).default(32),
  }),
);
/**
 * The k corpus vectors most similar (dot product: cosine for normalized vectors) to each query, best
 * first: exact, in blocks of queries. Vectors travel as little-endian float32, base64, row after row.
 */
export const NearestRequestSchema = request(
  "nearest",
  z.strictObject({
    dimensions: z.number().int().positive().max(4096),
    corpus: z.string().min(1),
    /** Absent: the corpus is its own queries (each row finds itself first). */
    queries: z.string().min(1).optional(),
    k: z.number().int().positive().max(64),
  }),
);
/** Loads a PEFT adapter over the cached base and probes it: base vs adapter logits on one prompt. */
export const LoadAdapterRequestSchema = request(
  "load_adapter",
  z.strictObject({
    model: ModelReferenceSchema,
    adapter: z.string().min(1),
    /** A rendered prompt for the probe; the engine has a review prompt of its own otherwise. */
    probe_prompt: z.string().min(1).optional(),
  }),
);
export const UnloadAdapterRequestSchema = request("unload_adapter", z.strictObject({ adapter: z.string().min(1) }));
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
    /** JSONL of {prompt, completion} rows, already rendered with the chat template; with task "classify", {text, label} rows. */
    train_file: z.string().min(1),
    eval_file: z.string().min(1).optional(),
    resume: z.boolean().default(false),
    /** Task "classify": the class names in the order of the head's outputs (CLASS_LABELS[config.labels]). */
    label_names: z.array(z.string().min(1)).min(2).optional(),
  }),
);
/** Labels and probabilities for texts from a classification run (its adapter, or its fully tuned model folder). */
export const ClassifyRequestSchema = request(
  "classify",
  z.strictObject({
    model: ModelReferenceSchema,
    /** The adapter/ folder of a classification run; absent when model is a fully tuned model/ folder. */
    adapter: z.string().min(1).optional(),
    texts: z.array(z.string()).min(1).max(4096),
    batch_size: z.number().int().positive().default(8),
    max_length: z.number().int().positive().default(512),
  }),
);

/**
 * Merges a LoRA adapter into its base and saves plain transformers weights (safetensors + config +
 * tokenizer) to `out`, staged and renamed when complete; then loads the saved folder again with plain
 * transformers and measures drift against base + adapter on `prompts` (logits and greedy answers).
 */
export const ExportMergedRequestSchema = request(
  "export_merged",
  z.strictObject({
    model: ModelReferenceSchema,
    adapter: z.string().min(1),
    out: z.string().min(1),
    /** Rendered prompts (chat template applied) the drift check answers with both models. */
    prompts: z.array(z.string().min(1)).min(1).max(256),
    max_new_tokens: z.number().int().positive().max(512).default(32),
  }),
);

/**
 * Writes a GGUF model file again with its weight matrices in another llama.cpp quantization (gguf-py:
 * dequantize, quantize), metadata and 1-D tensors copied; staged and renamed when complete.
 */
export const RequantizeGgufRequestSchema = request(
  "requantize_gguf",
  z.strictObject({
    source: z.string().min(1),
    out: z.string().min(1),
    type: z.enum(["Q4_0", "Q8_0"]),
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
  EmbedRequestSchema,
  NearestRequestSchema,
  LoadAdapterRequestSchema,
  UnloadAdapterRequestSchema,
  ScoreRequestSchema,
  TrainRequestSchema,
  ClassifyRequestSchema,
  ExportMergedRequestSchema,
  RequantizeGgufRequestSchema,
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
  /** The GGUF file the weights came from (the embedded model's, or a .gguf source): the base llama.cpp loads. */
  gguf: z.string().nullable().optional(),
});
export type ModelInfo = z.infer<typeof ModelInfoResultSchema>;

export const TokenizeResultSchema = z.object({ ids: z.array(z.number().int()), tokens: z.array(z.string()) });

export const TokenLogprobSchema = z.object({
  token: z.string(),
  logprob: z.number(),
  top: z.array(z.object({ token: z.string(), logprob: z.number() })),
});
export type TokenLogprob = z.infer<typeof TokenLogprobSchema>;

export const GenerationOutputSchema = z.object({
  text: z.string(),
  new_tokens: z.number().int(),
  /** Tokens of the rendered prompt (absent from engines older than the server). */
  prompt_tokens: z.number().int().optional(),
  finish_reason: z.enum(["stop", "length", "cancelled"]),
  /** When asked for (`logprobs`): per answer token, its log-probability and the likeliest alternatives. */
  logprobs: z.array(TokenLogprobSchema).optional(),
});
export const GenerateResultSchema = z.object({
  outputs: z.array(GenerationOutputSchema),
  seconds: z.number(),
  tokens_per_second: z.number(),
  adapter_loaded: z.boolean(),
});
export type GenerateResult = z.infer<typeof GenerateResultSchema>;

export const LoadAdapterResultSchema = z.object({
  adapter: z.string(),
  rank: z.number().int().nullable(),
  alpha: z.number().nullable(),
  base_model: z.string().nullable(),
  /** Largest |logit(adapter) - logit(base)| at the probe prompt's next token: 0 means the adapter does nothing. */
  max_abs_logit_diff: z.number(),
  mean_abs_logit_diff: z.number(),
  top1_changed: z.boolean(),
  probe_tokens: z.number().int(),
});
export type LoadAdapterResult = z.infer<typeof LoadAdapterResultSchema>;
export const ScoreResultSchema = z.object({
  /** scores[prompt][candidate]: summed log-probability of the continuation's tokens, and their count. */
  scores: z.array(z.array(z.object({ logprob: z.number(), tokens: z.number().int().positive() }))),
  seconds: z.number(),
  adapter_loaded: z.boolean(),
});
export type ScoreResult = z.infer<typeof ScoreResultSchema>;

export const ParameterCountSchema = z.object({ trainable: z.number().int(), total: z.number().int(), trainable_percent: z.number() });

/** One class's figures on the evaluation set (one-vs-rest AUC is null when the class has no positives or no negatives). */
export const ClassFiguresSchema = z.object({
  label: z.string(),
  precision: z.number(),
  recall: z.number(),
  f1: z.number(),
  support: z.number().int(),
  auc: z.number().nullable(),
});
/** Classification figures of one evaluation: AUC is the macro mean of one-vs-rest AUCs from the head's softmax. */
export const ClassificationFiguresSchema = z.object({
  labels: z.array(z.string()),
  eval_loss: z.number(),
  accuracy: z.number(),
  macro_f1: z.number(),
  auc: z.number().nullable(),
  per_class: z.array(ClassFiguresSchema),
  /** rows: true class, columns: predicted class, in the order of labels. */
  confusion_matrix: z.array(z.array(z.number().int())),
  examples: z.number().int(),
});
export type ClassificationFigures = z.infer<typeof ClassificationFiguresSchema>;

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
  /** training.precision as computed (auto resolved); absent in runs from before the setting: fp32. */
  precision: z.enum(["fp32", "bf16"]).optional(),
  peak_memory_bytes: z.number().int(),
  /**
   * Memory after each stage of the job (CUDA allocations on a GPU, resident memory on a CPU) and the
   * job's peak so far: the stage where the peak jumps is the one that set it.
   */
  memory_profile: z.array(z.object({ phase: z.string(), bytes: z.number().int(), peak_bytes: z.number().int() })).optional(),
  resumed_from_step: z.number().int().nullable(),
  /** The whole job: loading, data, training, evaluations and saving. */
  wall_seconds: z.number().optional(),
  /** Task "classify": the final evaluation's figures. */
  classification: ClassificationFiguresSchema.nullable().optional(),
  /** With training.time_budget_seconds: the plan made from the timed first steps, and how it went. */
  time_budget: z
    .object({
      seconds: z.number(),
      measured_seconds_per_step: z.number(),
      planned_steps: z.number().int(),
      eval_every_steps: z.number().int(),
      eval_examples: z.number().int(),
      /** The budget ran out before the planned steps (the machine got slower): training stopped there. */
      stopped_by_budget: z.boolean(),
      /** Fewer steps than planned fitted the pace of the run's own steps: the schedule ended there (absent: as planned). */
      replanned_steps: z.number().int().nullable().optional(),
    })
    .nullable()
    .optional(),
  /** Task "classify" with training.class_balance "weighted_loss": each class's loss weight. */
  class_weights: z.record(z.string(), z.number()).nullable().optional(),
  /** Several processes: how the run was spread, as the Trainer saw it (mode: accelerate's distributed type, e.g. MULTI_CPU, MULTI_GPU, FSDP, DEEPSPEED). */
  distributed: z
    .object({
      world_size: z.number().int(),
      nnodes: z.number().int(),
      nproc_per_node: z.number().int(),
      strategy: z.enum(DISTRIBUTED_STRATEGIES),
      backend: z.string(),
      mode: z.string(),
    })
    .nullable()
    .optional(),
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
  embed: z.object({ model: z.string(), embeddings: z.array(z.array(z.number())), dimensions: z.number().int(), tokens: z.number().int() }),
  /** Per query, the corpus rows (indices) and their similarities, best first. */
  nearest: z.object({ indices: z.array(z.array(z.number().int().nonnegative())), scores: z.array(z.array(z.number())) }),
  load_adapter: LoadAdapterResultSchema,
  unload_adapter: z.object({ unloaded: z.boolean() }),
  score: ScoreResultSchema,
  train: TrainResultSchema,
  classify: z.object({
    /** Class names in the order of every output's probabilities. */
    labels: z.array(z.string()),
    outputs: z.array(z.object({ label: z.string(), probabilities: z.record(z.string(), z.number()) })),
    seconds: z.number(),
  }),
  export_merged: z.object({
    out: z.string(),
    files: z.array(z.object({ name: z.string(), bytes: z.number().int() })),
    dtype: z.string(),
    seconds: z.number(),
    /** The saved folder, loaded again with plain transformers, against base + adapter on the same prompts. */
    drift: z.object({
      prompts: z.number().int(),
      /** Greedy answers that are identical, token for token. */
      identical_answers: z.number().int(),
      /** Prompts whose next-token argmax is the same. */
      top1_agreement: z.number().int(),
      max_abs_logit_diff: z.number(),
      mean_abs_logit_diff: z.number(),
      /** The first prompts' answers from both, for the report. */
      samples: z.array(z.object({ prompt: z.string(), adapter: z.string(), merged: z.string() })),
    }),
  }),
  requantize_gguf: z.object({
    out: z.string(),
    type: z.string(),
    /** Tensor counts by type in the source file. */
    source_types: z.record(z.string(), z.number().int()),
    requantized: z.number().int(),
    kept: z.number().int(),
    bytes: z.number().int(),
    /** The matrices' relative error added by the new quantization (root of summed squares). */
    relative_error: z.number(),
    seconds: z.number(),
  }),
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
export const EvalEventSchema = z.object({
  kind: z.literal("eval"),
  step: z.number().int(),
  epoch: z.number(),
  eval_loss: z.number(),
  /** Task "classify" only (per-class figures and the confusion matrix go to metrics.jsonl). */
  accuracy: z.number().optional(),
  macro_f1: z.number().optional(),
  auc: z.number().nullable().optional(),
});
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
