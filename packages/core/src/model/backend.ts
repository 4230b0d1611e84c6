// The one model interface every command goes through: whatever generates text (the torch engine, or
// llama.cpp in process). The server, `eval`, `analyze`, `ask`/`chat`/`generate` and the export drift
// checks all take a GenerationBackend. Prompts arrive as chat messages or raw text; the backend applies
// its model's chat template.
import type { GenerateResult, JumpRule, LoadAdapterResult, OrdinalChoice } from "@reviewtune/contracts";
import type { ClassifierChoice, ClassifyResult } from "../classify/classify.js";
import type { ChatMessage, ChatTemplate } from "../templates/chat-template.js";

export type BackendName = "torch" | "llamacpp" | "upstream";
export type BackendState = "starting" | "ready" | "restarting" | "failed" | "closed";

export interface GenerationRequest {
  /** The adapter's folder; absent: the base model answers. */
  adapterDir?: string | undefined;
  prompts: string[];
  maxNewTokens: number;
  temperature: number;
  topP: number;
  seed: number;
  /**
   * A JSON Schema every answer must follow, or one per prompt (an array as long as `prompts`, e.g.
   * the analysis schema of each review, whose aspect terms are that review's phrases): decoding is
   * constrained to it (llama.cpp's grammar, or the engine's logits processor), so each answer
   * parses. Absent: free text.
   */
  jsonSchema?: Record<string, unknown> | Array<Record<string, unknown>> | undefined;
  /** Up to 4 strings that end an answer; its text stops before the first (never streamed either). */
  stop?: string[] | undefined;
  /** OpenAI's penalties (-2..2): a token's logit is lowered by frequency x its count in the answer so far + presence once it appeared. */
  presencePenalty?: number | undefined;
  frequencyPenalty?: number | undefined;
  /** Absent: no log-probabilities; n: each answer token's log-probability and the n likeliest alternatives (outputs[i].logprobs). */
  logprobs?: number | undefined;
  /** Ordered choices inside the answer decided by their median (greedy decoding only): see OrdinalChoice. */
  ordinal?: OrdinalChoice[] | undefined;
  /**
   * Text the answer is known to go on with after given ends (e.g. ANALYSIS_JUMPS: the keys between an
   * analysis's values). The llama.cpp path feeds it in one batch instead of decoding it token by token;
   * the torch engine decodes as usual. Never where log-probabilities are asked for.
   */
  jumps?: JumpRule[] | undefined;
  /** Called with (prompt index, new text) while tokens arrive. */
  onToken?: ((index: number, text: string) => void) | undefined;
  /** Aborting cancels the generation; the result then has finish_reason "cancelled". */
  signal: AbortSignal;
}

export interface GenerationBackend {
  readonly name: BackendName;
  readonly state: BackendState;
  /** false: there is no embedding model (embed() always refuses), so /v1/models does not list one; absent: there is. */
  readonly canEmbed?: boolean;
  /** Requests it can work on at once (default 1: the engine answers one request at a time). */
  readonly concurrency?: number;
  /** The process that computes, where it is not this one (the torch engine's); absent: in process. */
  readonly pid?: number | undefined;
  /**
   * Tokens one prompt and its answer may take together (the model's context, or llama.cpp's context
   * per sequence); known once started. Past it a model cannot answer, so the server refuses first.
   */
  readonly contextLength?: number | undefined;
  /** The chat template renderChat applies (its source and tokens), once started: what GET /props tells a front (`serve --upstream`). */
  readonly chatTemplate?: ChatTemplate | undefined;
  /**
   * Models the backend's upstream lists besides the base, once started (`serve --upstream`): names a
   * request may mean though this server was not told them (no --adapter or --run for them).
   */
  readonly otherModels?: readonly string[];
  /** Starts (model loaded, chat template known). */
  start(): Promise<void>;
  /** Resolves once the backend can take a request (waits through a restart); rejects if it failed for good. */
  whenReady(): Promise<void>;
  renderChat(messages: ChatMessage[]): string;
  /** Tokens of each text under the model's tokenizer (no special tokens added). */
  countTokens(texts: string[]): Promise<number[]>;
  generate(request: GenerationRequest): Promise<GenerateResult>;
  /** Sentence embeddings (normalized) from the embedded embedding model, and the tokens read. */
  embed(texts: string[], signal: AbortSignal): Promise<{ embeddings: number[][]; tokens: number }>;
  /** Labels and probabilities from a classification head (base + SEQ_CLS adapter, or a fully tuned folder). */
  classify?(classifier: ClassifierChoice, texts: string[], signal: AbortSignal): Promise<ClassifyResult>;
  /** Loads and probes an adapter; rejects with EngineRequestError (code says why) when it cannot be used. */
  loadAdapter(dir: string): Promise<LoadAdapterResult>;
  unloadAdapter(dir: string): Promise<void>;
  /** Called after the backend came back from a crash (adapters must be loaded again). */
  onRestart(listener: () => Promise<void>): void;
  close(): Promise<void>;
}

/** The schema each prompt's answer follows: one for all, one per prompt, or none. */
export function schemasOf(request: Pick<GenerationRequest, "prompts" | "jsonSchema">): Array<Record<string, unknown> | undefined> {
  const { jsonSchema, prompts } = request;
  if (Array.isArray(jsonSchema)) {
    if (jsonSchema.length !== prompts.length) throw new Error(`${jsonSchema.length} JSON Schemas for ${prompts.length} prompts: give one for all or one per prompt`);
    return jsonSchema;
  }
  return prompts.map(() => jsonSchema);
}
