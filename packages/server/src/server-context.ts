// What every route of `reviewtune serve` is given: the server's options and its shared state (the
// backend, adapters, metrics, the queue). Its own module, so routes depend on it and server.ts on the
// routes, never both ways.
import type PQueue from "p-queue";
import type { ClassifierChoice, GenerationBackend, ReferenceIndex } from "@reviewtune/core";
import type { AdapterRegistry } from "./adapters/adapter-registry.js";
import type { ServerMetrics } from "./metrics/metrics.js";

export interface ServerOptions {
  backend: GenerationBackend;
  /** The id the base model answers to in `model` (also "base"). */
  baseId: string;
  /** Adapters loaded at start: name -> PEFT adapter folder. */
  adapters?: Array<{ name: string; dir: string }>;
  /** Classification runs answered by POST /v1/classify, by name (a run's id). */
  classifiers?: Array<{ name: string; choice: ClassifierChoice }>;
  /** The dataset whose training examples answer `references: true` (indexed at prepare(), incrementally). */
  references?: { dataset: string } | undefined;
  /** Without `references`: why this server has none, said in the 400 to `references: true` (default: how to start it with some). */
  referencesUnavailable?: string | undefined;
  /**
   * Adapters trained with grounded prompts (data.grounding: nearest), by name (null: the base model,
   * when it is a fully fine-tuned run's weights), with the dataset whose training examples ground each
   * chat question (indexed at prepare()).
   */
  grounded?: Array<{ adapter: string | null; dataset: string }> | undefined;
  /** Sentence embeddings (all-MiniLM-L6-v2) for references and grounding; default: the backend's own. */
  embed?: ((texts: string[], signal: AbortSignal) => Promise<{ embeddings: number[][] }>) | undefined;
  /** Where POST /admin/adapters finds runs by id (requests never carry a path). */
  runsDir?: string | undefined;
  /** Required as `Authorization: Bearer <key>` on every route but /health and /ready. */
  apiKey?: string | undefined;
  /** Origins allowed by CORS; none (the default): no CORS headers at all. */
  corsOrigins?: string[];
  /**
   * Names besides loopback and the bound address a request's Host may give, and origins besides the
   * server's own (and corsOrigins) a request's Origin may give; anything else is 403 (DNS rebinding).
   */
  allowedHosts?: string[];
  allowedOrigins?: string[];
  bodyLimitBytes?: number;
  /** Requests that may wait for the backend; one more gets 429. */
  queueCapacity?: number;
  requestTimeoutMs?: number;
  /** The largest max_tokens a request may ask for, and the default when it asks for none. */
  maxTokensLimit?: number;
  defaultMaxTokens?: number;
  /** Prompts longer than this many tokens get 400 context_length_exceeded (the model's context always applies). */
  maxPromptTokens?: number | undefined;
  /** fastify's logger (pino) options; false to stay quiet (tests). */
  logger?: boolean | Record<string, unknown>;
}

export interface ServerContext {
  options: Required<Pick<ServerOptions, "queueCapacity" | "requestTimeoutMs" | "maxTokensLimit" | "defaultMaxTokens">> & ServerOptions;
  backend: GenerationBackend;
  registry: AdapterRegistry;
  metrics: ServerMetrics;
  queue: PQueue;
  /** Runs `task` when the backend has a free slot; 429 when too many wait, 503 while draining. */
  enqueue<T>(task: (signal: AbortSignal) => Promise<T>, signal: AbortSignal): Promise<T>;
  /** The training-reference index, once prepare() has brought it up to date. */
  references?: ReferenceIndex;
  /** The grounding index of each grounded adapter, null: the base model (a fully fine-tuned run's weights). */
  grounding: Map<string | null, ReferenceIndex>;
  /**
   * Grounds the chat questions to `adapter` on `dataset`'s training examples (indexed now): for an
   * adapter of a run trained with data.grounding "nearest", loaded at start or later.
   */
  addGrounding(adapter: string | null, dataset: string): Promise<void>;
  /** ServerOptions.embed, or the backend's. */
  embed(texts: string[], signal: AbortSignal): Promise<number[][]>;
  isDraining(): boolean;
}
