// The HTTP API of `reviewtune serve`, named by resource and endpoint: OpenAI-compatible request and
// response shapes plus reviewtune's own fields (which adapter answered, whether it fell back to the
// base model). Shared by the server and, later, the web studio. Requests are strict: an unknown or
// unsupported field is a 400 naming it, never silently ignored.
import { z } from "zod";
import { ReviewAnalysisSchema } from "./analysis.js";

/** Model and adapter names: no slashes or dots first, so a request can never name a file path. */
export const ResourceNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, "letters, digits, '_', '.', '-' only (a name, not a path)")
  .refine((name) => !name.includes(".."), "must not contain '..'");

/** Half of a UTF-16 surrogate pair without the other half (JSON's "\ud800" alone). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Text a model reads. A lone surrogate is not a character and has no UTF-8 form: tokenizers fail on it
 * (the engine's with a TypeError, a 500), so it is a 400 naming the field instead.
 */
export const TextSchema = z.string().refine((text) => !LONE_SURROGATE.test(text), "contains a lone UTF-16 surrogate (like \\ud800 without its pair), which is not text: send valid Unicode");

const TextPartSchema = z.strictObject({ type: z.literal("text"), text: TextSchema });

export const ChatCompletionMessageSchema = z.strictObject({
  role: z.enum(["system", "developer", "user", "assistant"]),
  content: z.union([TextSchema, z.array(TextPartSchema).min(1)]),
  name: z.string().max(64).optional(),
});
export type ChatCompletionMessage = z.infer<typeof ChatCompletionMessageSchema>;

/** Sampling fields both completion endpoints take. */
const samplingFields = {
  model: z.string().min(1).max(256),
  max_tokens: z.number().int().positive().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  seed: z.number().int().nonnegative().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.strictObject({ include_usage: z.boolean().optional() }).nullish(),
  n: z.literal(1, "only n=1 is supported").nullish(),
  /** Up to 4 strings that end the answer; the answer stops before the first one, which is not returned. */
  stop: z.union([TextSchema, z.array(TextSchema).max(4, "at most 4 stop strings")]).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  /** Accepted when empty (what clients send by default); token biases are refused by name, as no tokenizer-independent id exists here. */
  logit_bias: z.record(z.string(), z.number()).nullish(),
  // Bookkeeping fields OpenAI clients send: accepted and ignored (nothing is stored or billed).
  user: z.string().max(256).nullish(),
  store: z.boolean().nullish(),
  metadata: z.record(z.string(), z.string().max(512)).nullish(),
};

/** reviewtune's own request field: also answer with the training examples the question resembles most. */
export const ReferencesRequestSchema = z.union([
  z.boolean(),
  z.strictObject({
    /** How many examples (default 3). */
    k: z.number().int().min(1).max(20).optional(),
    /** Only examples of this task (sentiment, rating, features, quality, recommendation, summary...). */
    task: z.string().regex(/^[a-z_]{1,32}$/, "a task name (letters and '_')").optional(),
  }),
]);

/**
 * OpenAI's `response_format`: free text, any JSON object, or JSON following a schema. The JSON kinds
 * constrain decoding (llama.cpp grammar, the engine's xgrammar), so the answer always parses; a
 * schema the grammar engines cannot use is a 400 naming `response_format`.
 */
export const ResponseFormatSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("text") }),
  z.strictObject({ type: z.literal("json_object") }),
  z.strictObject({
    type: z.literal("json_schema"),
    json_schema: z.strictObject({
      name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "letters, digits, '_' and '-', at most 64"),
      description: z.string().max(4096).optional(),
      // Required here (optional at OpenAI): without a schema there is nothing to constrain to; use json_object.
      schema: z.record(z.string(), z.unknown()),
      /** Accepted for compatibility: decoding is always held to the schema. */
      strict: z.boolean().nullish(),
    }),
  }),
]);
export type ResponseFormat = z.infer<typeof ResponseFormatSchema>;

const TOOLS_UNSUPPORTED = "function calling (tools) is not supported by this server: ask for JSON with response_format json_schema instead";

export const ChatCompletionsRequestSchema = z.strictObject({
  ...samplingFields,
  messages: z.array(ChatCompletionMessageSchema).min(1).max(512),
  max_completion_tokens: z.number().int().positive().nullish(),
  response_format: ResponseFormatSchema.nullish(),
  references: ReferencesRequestSchema.nullish(),
  /** Each answer token's log-probability; `top_logprobs` (0-20) also the likeliest alternatives at each. */
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  // Function calling is not served: said by name (it was "Unrecognized key"); an empty list, or a
  // choice that asks for no call, is what some clients send by default and asks for nothing.
  tools: z.array(z.unknown()).max(0, TOOLS_UNSUPPORTED).nullish(),
  tool_choice: z.enum(["none", "auto"], TOOLS_UNSUPPORTED).nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  functions: z.array(z.unknown()).max(0, TOOLS_UNSUPPORTED).nullish(),
});
export type ChatCompletionsRequest = z.infer<typeof ChatCompletionsRequestSchema>;

export const CompletionsRequestSchema = z.strictObject({
  ...samplingFields,
  prompt: z.union([TextSchema, z.array(TextSchema).min(1).max(32)]),
  /** The legacy completions' form: the log-probabilities of the answer tokens and of the n (0-5) likeliest at each. */
  logprobs: z.number().int().min(0).max(5).nullish(),
  /** As on chat completions (vLLM takes it here too): the answer constrained to JSON, or to a schema. */
  response_format: ResponseFormatSchema.nullish(),
});
export type CompletionsRequest = z.infer<typeof CompletionsRequestSchema>;

/**
 * POST /tokenize: how many tokens a text is under the served model's tokenizer. Takes llama-server's
 * `content` or vLLM's `prompt`, and answers vLLM's `count` and `max_model_len`, so that a front
 * (`serve --upstream`) asks any of the three the same way.
 */
export const HttpTokenizeRequestSchema = z
  .strictObject({
    model: z.string().max(256).optional(),
    content: TextSchema.optional(),
    prompt: TextSchema.optional(),
    /** Accepted (both servers' names); the count never includes special tokens added here. */
    add_special: z.boolean().optional(),
    add_special_tokens: z.boolean().optional(),
  })
  .refine((body) => body.content !== undefined || body.prompt !== undefined, { message: "give the text as content (llama-server's name) or prompt (vLLM's)", path: ["content"] });
export const HttpTokenizeResponseSchema = z.object({ count: z.number().int(), max_model_len: z.number().int().nullable() });
export type HttpTokenizeResponse = z.infer<typeof HttpTokenizeResponseSchema>;

/** GET /props (llama-server's shape, the fields a front needs): the chat template prompts are rendered with, and the context. */
export const PropsResponseSchema = z.object({
  model: z.string(),
  chat_template: z.string().nullable(),
  bos_token: z.string().nullable(),
  eos_token: z.string().nullable(),
  default_generation_settings: z.object({ n_ctx: z.number().int().nullable() }),
});
export type PropsResponse = z.infer<typeof PropsResponseSchema>;

export const FinishReasonSchema = z.enum(["stop", "length"]);

export const UsageSchema = z.object({ prompt_tokens: z.number().int(), completion_tokens: z.number().int(), total_tokens: z.number().int() });

/** reviewtune's own block on every completion: who answered, and why not the adapter asked for. */
export const ServedBySchema = z.object({
  backend: z.enum(["torch", "llamacpp", "upstream"]),
  adapter: z.string().nullable(),
  /** Set when the requested adapter could not be used and the base model answered instead. */
  fallback: z.object({ adapter: z.string(), code: z.string(), message: z.string() }).nullable(),
});
export type ServedBy = z.infer<typeof ServedBySchema>;

/** A training example the question resembles, with the cosine similarity of the two prompts. */
export const TrainingReferenceSchema = z.object({
  similarity: z.number(),
  task: z.string(),
  /** The review the example was made from (its group in the dataset). */
  review: z.string(),
  prompt: z.string(),
  answer: z.string(),
});
export type TrainingReference = z.infer<typeof TrainingReferenceSchema>;

/** The reviewtune block of a chat completion: who answered, and the references when asked for. */
export const ChatServedBySchema = ServedBySchema.extend({
  references: z.array(TrainingReferenceSchema).optional(),
  /** Set when the adapter was trained with grounded prompts: the training example put before the question. */
  grounding: TrainingReferenceSchema.optional(),
});
export type ChatServedBy = z.infer<typeof ChatServedBySchema>;

/** A token and its log-probability, as OpenAI sends it (bytes: the token's UTF-8 bytes). */
const TokenLogprobSchema = z.object({ token: z.string(), logprob: z.number(), bytes: z.array(z.number().int()).nullable() });
/** A chat choice's `logprobs` when asked for: each answer token with its likeliest alternatives. */
export const ChatLogprobsSchema = z.object({
  content: z.array(TokenLogprobSchema.extend({ top_logprobs: z.array(TokenLogprobSchema) })).nullable(),
  refusal: z.null(),
});
export type ChatLogprobs = z.infer<typeof ChatLogprobsSchema>;
/** A text completion choice's `logprobs` (the legacy shape). */
export const CompletionLogprobsSchema = z.object({
  tokens: z.array(z.string()),
  token_logprobs: z.array(z.number()),
  top_logprobs: z.array(z.record(z.string(), z.number())),
  text_offset: z.array(z.number().int()),
});
export type CompletionLogprobs = z.infer<typeof CompletionLogprobsSchema>;

export const ChatCompletionSchema = z.object({
  id: z.string(),
  object: z.literal("chat.completion"),
  created: z.number().int(),
  model: z.string(),
  choices: z.array(
    z.object({
      index: z.number().int(),
      message: z.object({ role: z.literal("assistant"), content: z.string() }),
      finish_reason: FinishReasonSchema,
      logprobs: ChatLogprobsSchema.nullable(),
    }),
  ),
  usage: UsageSchema,
  reviewtune: ChatServedBySchema,
});
export type ChatCompletion = z.infer<typeof ChatCompletionSchema>;

export const ChatCompletionChunkSchema = z.object({
  id: z.string(),
  object: z.literal("chat.completion.chunk"),
  created: z.number().int(),
  model: z.string(),
  choices: z.array(
    z.object({
      index: z.number().int(),
      delta: z.object({ role: z.literal("assistant").optional(), content: z.string().optional() }),
      finish_reason: FinishReasonSchema.nullable(),
      logprobs: ChatLogprobsSchema.nullable(),
    }),
  ),
  usage: UsageSchema.nullable().optional(),
  reviewtune: ChatServedBySchema.optional(),
});
export type ChatCompletionChunk = z.infer<typeof ChatCompletionChunkSchema>;

export const CompletionSchema = z.object({
  id: z.string(),
  object: z.literal("text_completion"),
  created: z.number().int(),
  model: z.string(),
  choices: z.array(z.object({ index: z.number().int(), text: z.string(), finish_reason: FinishReasonSchema.nullable(), logprobs: CompletionLogprobsSchema.nullable() })),
  usage: UsageSchema.nullable().optional(),
  reviewtune: ServedBySchema.optional(),
});
export type Completion = z.infer<typeof CompletionSchema>;

/** The embedded sentence-embedding model's id. */
export const EMBEDDING_MODEL_ID = "all-minilm-l6-v2";

export const EmbeddingsRequestSchema = z.strictObject({
  model: z.string().min(1).max(256),
  input: z.union([TextSchema.pipe(z.string().min(1)), z.array(TextSchema.pipe(z.string().min(1))).min(1).max(2048)]),
  /** The official openai client asks for base64 (little-endian float32) unless told otherwise. */
  encoding_format: z.enum(["float", "base64"]).optional(),
  user: z.string().max(256).optional(),
});
export type EmbeddingsRequest = z.infer<typeof EmbeddingsRequestSchema>;

export const EmbeddingListSchema = z.object({
  object: z.literal("list"),
  data: z.array(z.object({ object: z.literal("embedding"), index: z.number().int(), embedding: z.union([z.array(z.number()), z.string()]) })),
  model: z.string(),
  usage: z.object({ prompt_tokens: z.number().int(), total_tokens: z.number().int() }),
});
export type EmbeddingList = z.infer<typeof EmbeddingListSchema>;

/** POST /v1/classify: labels and probabilities from a classification run (`reviewtune train --task classify`). */
export const ClassifyBodySchema = z.strictObject({
  model: z.string().min(1).max(256),
  input: z.union([TextSchema, z.array(TextSchema).min(1).max(512)]),
});
export type ClassifyBody = z.infer<typeof ClassifyBodySchema>;

export const ClassificationListSchema = z.object({
  object: z.literal("list"),
  model: z.string(),
  /** Every class, in the head's order. */
  labels: z.array(z.string()),
  data: z.array(z.object({ object: z.literal("classification"), index: z.number().int(), label: z.string(), probabilities: z.record(z.string(), z.number()) })),
});
export type ClassificationList = z.infer<typeof ClassificationListSchema>;

/** Reviews per POST /v1/analyze: they are decoded together, so one request stays within the time limit. */
export const ANALYZE_MAX_REVIEWS = 64;

const nonBlank = (field: string, max: number) => TextSchema.pipe(z.string().max(max)).refine((text) => text.trim().length > 0, `${field} must not be empty`);

/** One review to analyze: the fields the analysis prompt is made from (the training prompt's). */
export const AnalyzeReviewSchema = z.strictObject({
  text: nonBlank("text", 20_000),
  title: z.string().max(1000).optional(),
  product_title: z.string().max(1000).optional(),
  category: z.string().max(256).optional(),
  /** Echoed back on the analysis, so a client can match answers without counting. */
  id: z.string().max(256).optional(),
});
export type AnalyzeReview = z.infer<typeof AnalyzeReviewSchema>;

/** POST /v1/analyze: the structured analysis of each review (ReviewAnalysis), by the base model or an adapter. */
export const AnalyzeRequestSchema = z.strictObject({
  /** The base model's id (or "base", the default) or an adapter's name, as in chat completions. */
  model: z.string().min(1).max(256).optional(),
  reviews: z.array(AnalyzeReviewSchema).min(1).max(ANALYZE_MAX_REVIEWS, `at most ${ANALYZE_MAX_REVIEWS} reviews per request; send more requests`),
});
export type AnalyzeRequest = z.infer<typeof AnalyzeRequestSchema>;

export const AnalysisListSchema = z.object({
  object: z.literal("list"),
  model: z.string(),
  /** In the order of `reviews`. */
  data: z.array(
    z.object({
      index: z.number().int(),
      id: z.string().nullable(),
      /** Null only if the answer did not parse (decoding is constrained, so it should not happen); `error` says why. */
      analysis: ReviewAnalysisSchema.nullable(),
      error: z.string().optional(),
    }),
  ),
  usage: UsageSchema,
  reviewtune: ServedBySchema,
});
export type AnalysisList = z.infer<typeof AnalysisListSchema>;

export const ModelSchema = z.object({
  id: z.string(),
  object: z.literal("model"),
  created: z.number().int(),
  owned_by: z.string(),
  reviewtune: z.object({
    kind: z.enum(["base", "adapter", "embedding"]),
    /** "fallback": the adapter failed to load; requests for it are answered by the base model. */
    status: z.enum(["loaded", "fallback"]),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    /** The startup probe: how much the adapter moves the next-token logits. */
    max_abs_logit_diff: z.number().nullable(),
  }),
});
export const ModelListSchema = z.object({ object: z.literal("list"), data: z.array(ModelSchema) });
export type ModelList = z.infer<typeof ModelListSchema>;

export const ApiErrorBodySchema = z.object({
  error: z.object({ message: z.string(), type: z.string(), param: z.string().nullable(), code: z.string().nullable() }),
});
export type ApiErrorBody = z.infer<typeof ApiErrorBodySchema>;

/** POST /admin/adapters: load a finished run's adapter under a name. A run id, never a path. */
export const AdminLoadAdapterRequestSchema = z.strictObject({ name: ResourceNameSchema, run: ResourceNameSchema });
export type AdminLoadAdapterRequest = z.infer<typeof AdminLoadAdapterRequestSchema>;

export const HealthSchema = z.object({ status: z.enum(["ok", "starting", "restarting", "draining", "failed"]) });
