// The llama.cpp backend: the base model's GGUF through node-llama-cpp, in this process, with PEFT
// adapters converted to GGUF LoRA by our own converter when they are loaded, and for a small base
// folded into a copy of it (gguf-merge.ts: the LoRA's run-time products cost a fifth of the speed).
// Each adapter (and the base) has its own pool of contexts holding `parallel` sequences between them,
// so up to that many prompts decode together (llama.cpp batches the sequences of a context; a small
// model's contexts decode on one thread each, side by side: see createPool). No Python: this is the
// fast CPU path.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ORDINAL_WINDOW, forcedContinuation, jointChoice, medianIndex, type GenerateResult, type JumpRule, type LoadAdapterResult, type OrdinalChoice } from "@reviewtune/contracts";
import { z } from "zod";
import { EngineRequestError } from "../errors.js";
import { readJsonFile } from "../files.js";
import { convertLoraToGguf, readGgufBaseInfo, readGgufHeader, readLoraConfig } from "../export/gguf-lora.js";
import { mergeGgufLora, mergeableType } from "../export/gguf-merge.js";
import { extractLargeEnums, withEnumTries } from "./enum-trie.js";
import { grammarSchema } from "./grammar-schema.js";
import { ChatTemplate, type ChatMessage } from "../templates/chat-template.js";
import PQueue from "p-queue";
// Loaded by start(): node-llama-cpp and its bindings (~40 MB resident) are for the commands that serve or ask with a GGUF.
import type { LlamaGrammarEvaluationState, ControlledEvaluateInputItem, Llama, LlamaContext, LlamaContextSequence, LlamaGrammar, LlamaModel, Token } from "node-llama-cpp";
import { schemasOf, type BackendState, type GenerationBackend, type GenerationRequest } from "./backend.js";
import { findStop, safeLength } from "./stop-strings.js";

export interface LlamaCppBackendOptions {
  /** The base model's GGUF file. */
  gguf: string;
  /** A chat template that replaces the one in the GGUF (a run's data.template). */
  templateOverride?: string | undefined;
  /**
   * CPU threads shared by all contexts (the base and every adapter): contexts decoding at once split
   * them. Default: llama.cpp's math cores (physical cores), at most the cores this process may use.
   */
  threads?: number | undefined;
  /** Sequences decoded at once per model (default 4), spread over its contexts. */
  parallel?: number;
  /** Tokens of context per sequence (default 1024). */
  contextPerSequence?: number;
  /** Where converted and merged adapters are cached (default: <tmp>/reviewtune-gguf-lora). */
  cacheDir?: string;
  /**
   * Fold each adapter into a copy of the base (see gguf-merge.ts) instead of applying it as a LoRA
   * at run time: faster decoding for the memory of a second model. Default: for a base file under
   * 1 GiB whose adapted weights are Q8_0, F16 or F32; false: always a LoRA.
   */
  mergeAdapters?: boolean;
  /**
   * The type of the contexts' key/value cache (see KV_CACHE_TYPES). Default q8_0: keys and values
   * at 8 bits with flash attention (llama.cpp quantizes values only there), about half the cache's
   * memory; f16: llama.cpp's default, the same answers as before this option.
   */
  kvCache?: KvCacheType;
}

/**
 * Key/value cache types. q8_0 measured on the demo run, `--parallel 4`, 40 analyses 4 at a time
 * (two runs each): peak 540/568 MB vs f16's 629/644; on 120 real reviews the same stars MAE and
 * sentiment accuracy (README, serving memory), 5% slower.
 */
export const KV_CACHE_TYPES = ["q8_0", "f16"] as const;
export type KvCacheType = (typeof KV_CACHE_TYPES)[number];
export const DEFAULT_KV_CACHE: KvCacheType = "q8_0";

/** Same meaning as the torch backend's: below this the adapter changes nothing a user could see. */
const NO_EFFECT_THRESHOLD = 1e-4;
const GRAMMAR_END = "\n".repeat(4);
/** Prompt tokens evaluated between two looks at the request's abort signal (node-llama-cpp's evaluation takes none). */
const PROMPT_CHUNK = 128;
const PROBE = "Analyze the sentiment of this review: The blender is great and the jar is sturdy.";
/** Tokens of the context made for the base's probe alone (the probe prompt is about 40). */
const PROBE_CONTEXT = 256;

/** The weights an adapter can adapt, by their GGUF names (see gguf-lora.ts). */
const PROJECTION = /^blk\.\d+\.(?:attn_[qkv]|attn_output|ffn_gate|ffn_up|ffn_down)\.weight$/;

/** A model file below this size decodes on one thread per context (see LlamaCppBackend.createPool). */
const SMALL_MODEL_BYTES = 1024 ** 3;

/** One model's contexts (see LlamaCppBackend.createPool). */
interface ContextPool {
  /** A merged adapter's own model (see loadAdapter), disposed with the pool; absent: the base's. */
  merged?: LlamaModel;
  /** The model the contexts belong to: the merged one, or the base. */
  model: LlamaModel;
  contexts: LlamaContext[];
  /** One slot per sequence of the pool: prompts beyond that wait for a free one. */
  slots: PQueue;
  /** Each context's free sequences, taken once and reused (a disposed sequence's id comes back only later). */
  free: Map<LlamaContext, LlamaContextSequence[]>;
}

/**
 * A free sequence of the context with the most free ones (the least busy), the one it used last (its
 * history is kept: see keepCommonPrefix). Callers hold one of the pool's slots.
 */
function takeSequence(pool: ContextPool): { context: LlamaContext; sequence: LlamaContextSequence } {
  let best: LlamaContext | undefined;
  for (const context of pool.contexts) if ((pool.free.get(context)?.length ?? 0) > (best ? pool.free.get(best)!.length : 0)) best = context;
  const sequence = best ? pool.free.get(best)!.pop() : undefined;
  if (!best || !sequence) throw new Error("no free sequence: a caller did not hold a slot");
  return { context: best, sequence };
}

async function disposePool(pool: ContextPool): Promise<void> {
  for (const context of pool.contexts) await context.dispose();
  await pool.merged?.dispose();
}

/** Text without its whitespace: an ordinal choice's `after` is matched ignoring the grammar's optional spaces. */
function squashSpace(text: string): string {
  return text.replace(/\s+/g, "");
}

/** A character's class as a byte-level BPE pre-tokenizer splits text: a jump is fed only where the class changes. */
function charClass(char: string): string {
  return /\p{L}/u.test(char) ? "letter" : /\p{N}/u.test(char) ? "digit" : /\s/.test(char) ? "space" : "other";
}

/** A token of the answer, and what to evaluate if decoding goes on after it (see LlamaCppBackend.tokensOf). */
interface Step {
  token: Token;
  next: Token[];
  logprob?: number;
  top?: Array<{ token: string; logprob: number }>;
}

/** Compiled grammars kept (the fixed schemas of a server's clients, and the last requests' per-review ones). */
const GRAMMAR_CACHE = 64;

/** Whether a constrained answer is already one whole JSON value (then the grammar has only its end marker left). */
function completeJson(text: string): boolean {
  if (!text.trimEnd().endsWith("}")) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Sets the threads a context's next batches may take (see contextThreads). */
type ThreadSetter = (threads: number) => void;

/**
 * node-llama-cpp gives a context one thread count for a prompt's batches and for the answer's
 * one-token steps alike (llama.cpp's n_threads_batch is set equal to n_threads), but a small model
 * wants two different ones: a prompt's batch is matrix work that two threads nearly halve (300
 * prompt tokens: 0.68 -> 0.39 s on two cores), while a one-token step on two threads spends its time
 * at barriers (92 answer tokens: 0.99 -> 1.34 s). This changes what a context asks node-llama-cpp's
 * thread splitter for (the splitter grants it per batch), through the fields it keeps them in
 * (LlamaContext._idealThreads and its splitter consumer's _wantedThreads). If a version lacks them,
 * undefined: every batch keeps the context's own count (slower prompts, same answers).
 */
function contextThreads(context: LlamaContext): ThreadSetter | undefined {
  type Splitter = { _addWantedThreads?: (threads: number) => void; _removeWantedThreads?: (threads: number) => void };
  type Internals = { _idealThreads?: unknown; _threadSplitterConsumer?: { _wantedThreads?: unknown }; _llama?: { _threadsSplitter?: Splitter } };
  const internals = context as unknown as Internals;
  const splitter = internals._llama?._threadsSplitter;
  const add = splitter?._addWantedThreads;
  const remove = splitter?._removeWantedThreads;
  if (typeof internals._idealThreads !== "number" || !splitter || typeof add !== "function" || typeof remove !== "function") return undefined;
  return (threads) => {
    internals._idealThreads = threads; // what a consumer made later (after the context was idle) asks for
    const consumer = internals._threadSplitterConsumer;
    if (consumer && typeof consumer._wantedThreads === "number" && consumer._wantedThreads !== threads) {
      remove.call(splitter, consumer._wantedThreads);
      consumer._wantedThreads = threads;
      add.call(splitter, threads);
    }
  };
}

/** Tells a grammar state of a token that was not sampled (see grammarAcceptor). */
interface GrammarAcceptor {
  can(state: LlamaGrammarEvaluationState, token: Token): boolean;
  accept(state: LlamaGrammarEvaluationState, token: Token): void;
}

/**
 * node-llama-cpp's grammar state can only learn of sampled tokens through its public API; jumping
 * forward over text a grammar forces needs it told of tokens that were fed instead. This reaches the
 * native calls node-llama-cpp itself makes for validated predicted tokens (LlamaSampler's
 * _acceptTokenOnGrammarEvaluationState). If a version lacks them, nothing jumps (answers are the same,
 * only slower); the llama.cpp backend test fails on that, so an upgrade cannot lose it unseen.
 */
function grammarAcceptor(llama: Llama): GrammarAcceptor | undefined {
  type Native = { canBeNextTokenForGrammarEvaluationState?: (state: unknown, token: Token) => boolean; acceptGrammarEvaluationStateToken?: (state: unknown, token: Token) => void };
  const native = (llama as unknown as { _bindings?: { AddonSampler?: Native } })._bindings?.AddonSampler;
  const can = native?.canBeNextTokenForGrammarEvaluationState;
  const accept = native?.acceptGrammarEvaluationStateToken;
  if (typeof can !== "function" || typeof accept !== "function") return undefined;
  const stateOf = (state: LlamaGrammarEvaluationState) => (state as unknown as { _state: unknown })._state;
  return { can: (state, token) => can(stateOf(state), token), accept: (state, token) => accept(stateOf(state), token) };
}

/** An ordinal choice as tokens: its options, a second choice decided with it (OrdinalChoice.then), or the option already decided. */
interface OrdinalTokens {
  after: string;
  choices: Token[];
  then?: { text: Token[]; raw: string; after: string; choices: Token[]; bands: number[] } | undefined;
  decided?: Token | undefined;
}

export class LlamaCppBackend implements GenerationBackend {
  readonly name = "llamacpp" as const;
  readonly canEmbed = false;
  state: BackendState = "starting";
  private llama: Llama | undefined;
  /** node-llama-cpp's grammar state constructor, once start() has loaded the module. */
  private grammarState: ((options: { model: LlamaModel; grammar: LlamaGrammar }) => LlamaGrammarEvaluationState) | undefined;
  /**
   * The base's weights: loaded at start, released when every adapter served is merged into its own
   * model and nothing asked for the base (serving a run: 200 MB of 790 for the embedded model), and
   * loaded again when the base is asked for (see baseWeights, releaseBaseWeights).
   */
  private model: LlamaModel | undefined;
  private loadingBase: Promise<LlamaModel> | undefined;
  /** Whether the base's weights are in memory now (see releaseBaseWeights; the backend test checks it). */
  get baseWeightsLoaded(): boolean {
    return this.model !== undefined;
  }
  /** A merged model being loaded and probed while the base is released: it tokenizes meanwhile. */
  private pendingVocabulary: LlamaModel | undefined;
  /** The base file's size and trained context, read at start (the model may be released). */
  private baseBytes = 0;
  private trainContextSize = 0;
  private template: ChatTemplate | undefined;

  get chatTemplate(): ChatTemplate | undefined {
    return this.template;
  }
  /** The base's pool, made on first use (see basePool). */
  private base: Promise<ContextPool> | undefined;
  private readonly adapters = new Map<string, ContextPool>();
  private ready: Promise<void> = Promise.resolve();
  private baseProbe: ReturnType<LlamaCppBackend["probeBase"]> | undefined;
  /** The base GGUF's architecture and head counts, which adapter conversion needs. */
  private baseInfo: ReturnType<typeof readGgufBaseInfo> | undefined;
  /** Grammars compiled from JSON Schemas, by the schema's text (compiling costs more than a short answer). */
  private readonly grammars = new Map<string, Promise<LlamaGrammar>>();
  /** See grammarAcceptor: undefined where this node-llama-cpp has no way to feed a grammar unsampled tokens. */
  private acceptor: GrammarAcceptor | undefined;
  /** Whether the base's projections can take a merged adapter (see mergedFile); read once. */
  private baseMergeable: boolean | undefined;
  /** Tokens fed by jumping forward since start (the backend test checks that analyses jump). */
  jumpedTokens = 0;
  /** Second readings of a joint ordinal choice whose tokens stayed in the context (see tokensOf). */
  keptReads = 0;
  /** Prompt chunks evaluated on the whole thread budget since start (see complete; the backend test checks it). */
  widePromptChunks = 0;
  /** Prompts being answered now, over every pool: a lone one's prompt takes every thread (see complete). */
  private active = 0;

  constructor(private readonly options: LlamaCppBackendOptions) {}

  get parallel(): number {
    return this.options.parallel ?? 4;
  }

  /** The thread budget all contexts share (see LlamaCppBackendOptions.threads). */
  get threads(): number {
    if (this.options.threads !== undefined) return this.options.threads;
    // Hyperthreads add nothing to llama.cpp's matrix kernels (its own default is the physical cores);
    // availableParallelism() is what the scheduler lets this process use (affinity, containers).
    return Math.max(1, Math.min(this.llama?.cpuMathCores ?? availableParallelism(), availableParallelism()));
  }

  /** Tokens a prompt and its answer may take: a sequence's share of its context, at most what the model was trained on. */
  get contextLength(): number | undefined {
    if (!this.template) return undefined;
    return Math.min(this.options.contextPerSequence ?? 1024, this.trainContextSize || Number.POSITIVE_INFINITY);
  }

  /** Requests the server may hand over at once: as many as a context decodes together. */
  get concurrency(): number {
    return this.parallel;
  }

  async start(): Promise<void> {
    this.ready = (async () => {
      // One thread budget for every context (node-llama-cpp's ThreadsSplitter): without it each context
      // took all the cores, so the base and an adapter answering together ran twice as many threads as
      // cores, and llama.cpp's threads spin at every barrier while one of them waits for a core (17-28 s
      // instead of 0.4 s for an answer beside a training). See createContext for how it is shared.
      const { getLlama, LlamaGrammarEvaluationState, LlamaLogLevel } = await import("node-llama-cpp");
      this.grammarState = (options) => new LlamaGrammarEvaluationState(options);
      this.llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
      this.llama.maxThreads = this.threads;
      this.acceptor = grammarAcceptor(this.llama);
      this.model = await this.llama.loadModel({ modelPath: this.options.gguf });
      this.baseBytes = this.model.size;
      this.trainContextSize = this.model.trainContextSize;
      this.baseInfo = readGgufBaseInfo(this.options.gguf);
      const metadata = this.model.fileInfo.metadata as { tokenizer?: { chat_template?: string } };
      const source = this.options.templateOverride ?? metadata.tokenizer?.chat_template;
      if (!source) throw new Error(`${this.options.gguf} has no chat template (tokenizer.chat_template); pass the run's template`);
      const special = (token: Token | null) => (token === null ? undefined : this.model!.detokenize([token], true));
      this.template = new ChatTemplate(source, { bos_token: special(this.model.tokens.bos), eos_token: special(this.model.tokens.eos) });
      this.state = "ready";
    })();
    await this.ready;
  }

  whenReady(): Promise<void> {
    return this.ready;
  }

  renderChat(messages: ChatMessage[]): string {
    if (!this.template) throw new Error("the backend has not started");
    return this.template.prompt(messages);
  }

  async countTokens(texts: string[]): Promise<number[]> {
    // As complete() tokenizes a prompt: special-token text (the chat template's markers) as one token each.
    return texts.map((text) => this.vocabulary.tokenize(text, true).length);
  }

  async generate(request: GenerationRequest): Promise<GenerateResult> {
    const pool = request.adapterDir ? this.adapters.get(resolve(request.adapterDir)) : await this.basePool();
    if (!pool) throw new Error(`adapter ${request.adapterDir} is not loaded`);
    const started = performance.now();
    const schemas = schemasOf(request);
    const grammars = await Promise.all(schemas.map((schema) => (schema ? this.grammarFor(schema) : undefined)));
    const outputs: GenerateResult["outputs"] = new Array(request.prompts.length);
    // Each prompt on a sequence of its own, as many at once as the pool has: llama.cpp batches those of
    // one context, and the contexts decode side by side.
    await Promise.all(request.prompts.map((_, index) => pool.slots.add(async () => (outputs[index] = await this.complete(pool, request, index, grammars[index])))));
    const seconds = (performance.now() - started) / 1000;
    const tokens = outputs.reduce((sum, output) => sum + output.new_tokens, 0);
    return { outputs, seconds, tokens_per_second: seconds > 0 ? tokens / seconds : 0, adapter_loaded: Boolean(request.adapterDir) };
  }

  /** llama.cpp's grammar for a JSON Schema (node-llama-cpp supports a subset: what it refuses is named in the error). */
  private grammarFor(schema: Record<string, unknown>): Promise<LlamaGrammar> {
    const key = JSON.stringify(schema);
    let grammar = this.grammars.get(key);
    if (grammar) {
      // most recently used last: the oldest goes first when the cache is full
      this.grammars.delete(key);
      this.grammars.set(key, grammar);
    } else {
      const { schema: readable, unenforced } = grammarSchema(schema);
      if (unenforced.length > 0) {
        const error = new EngineRequestError(
          "invalid_request",
          `the JSON Schema asks what llama.cpp's grammar cannot hold an answer to: ${unenforced.join("; ")}`,
          "response_format",
          null,
          "write a bounded number as an enum of its values (stars: {\"enum\": [1, 2, 3, 4, 5]}), keep to types, enums, const, properties, items, lengths and oneOf/anyOf, or serve with --backend torch",
        );
        return Promise.reject(error);
      }
      // A schema per review (each aspect term one of its phrases) makes a grammar per request: keep the last few.
      if (this.grammars.size >= GRAMMAR_CACHE) this.grammars.delete(this.grammars.keys().next().value!);
      grammar = this.compileGrammar(readable).catch((error: Error) => {
        this.grammars.delete(key);
        throw new EngineRequestError("invalid_request", `the JSON Schema cannot be used to constrain decoding: ${error.message}`, "response_format", null, "use types, enums, required properties and bounded strings/arrays");
      });
      this.grammars.set(key, grammar);
    }
    return grammar;
  }

  /**
   * node-llama-cpp's grammar for the schema, with its large string enums as prefix trees (see
   * enum-trie.ts): the rest of the schema is converted once (its grammar is cached like any other),
   * a per-review enum only adds its tree's rules.
   */
  private async compileGrammar(schema: Record<string, unknown>): Promise<LlamaGrammar> {
    type JsonSchema = Parameters<Llama["createGrammarForJsonSchema"]>[0];
    const { schema: skeleton, enums } = extractLargeEnums(schema);
    if (enums.length === 0) return this.llama!.createGrammarForJsonSchema(schema as JsonSchema);
    const converted = await this.grammarFor(skeleton);
    let text: string;
    try {
      text = withEnumTries(converted.grammar, enums);
    } catch {
      return this.llama!.createGrammarForJsonSchema(schema as JsonSchema); // written another way: the flat enum
    }
    return this.llama!.createGrammar({ grammar: text, stopGenerationTriggers: converted.stopGenerationTriggers, trimWhitespaceSuffix: converted.trimWhitespaceSuffix });
  }

  private async complete(pool: ContextPool, request: GenerationRequest, index: number, grammar?: LlamaGrammar): Promise<GenerateResult["outputs"][number]> {
    const model = pool.model;
    // Cancelled while it waited for a sequence (client gone, time limit): no prompt evaluation at all.
    if (request.signal.aborted) return { text: "", new_tokens: 0, finish_reason: "cancelled" };
    const { context, sequence } = takeSequence(pool);
    this.active += 1;
    try {
      const prompt = model.tokenize(request.prompts[index]!, true);
      let rest = await this.keepCommonPrefix(sequence, prompt);
      // The prompt in chunks, so that a timeout or a client that left stops a long prompt's evaluation
      // within one chunk instead of after all of it (the last token goes to evaluate(): its logits
      // start the answer). A prompt that is the only work of the moment takes the whole thread budget
      // (see contextThreads); the answer goes back to the context's own count.
      const setThreads = this.threadsPerContext < this.threads ? contextThreads(context) : undefined;
      try {
        while (request.maxNewTokens > 0 && rest.length > 1 && !request.signal.aborted) {
          const alone = setThreads !== undefined && this.active === 1;
          setThreads?.(alone ? this.threads : this.threadsPerContext);
          if (alone) this.widePromptChunks += 1;
          const chunk = rest.slice(0, Math.min(PROMPT_CHUNK, rest.length - 1));
          await sequence.evaluateWithoutGeneratingNewTokens(chunk);
          rest = rest.slice(chunk.length);
        }
      } finally {
        setThreads?.(this.threadsPerContext);
      }
      if (request.signal.aborted) return { text: "", new_tokens: 0, prompt_tokens: prompt.length, finish_reason: "cancelled" };
      const generated: Token[] = [];
      const logprobs: NonNullable<GenerateResult["outputs"][number]["logprobs"]> = [];
      const stops = request.stop ?? [];
      let text = "";
      let finish: "stop" | "length" | "cancelled" = "length";
      const options = {
        temperature: request.temperature,
        topP: request.topP,
        ...(grammar ? { grammarEvaluationState: this.grammarState!({ model, grammar }) } : {}),
        ...(request.temperature > 0 ? { seed: request.seed } : {}),
        // OpenAI's penalties are llama.cpp's additive ones over the answer so far; penalty 1 switches
        // off the multiplicative repeat penalty node-llama-cpp would otherwise apply (1.1).
        ...(request.presencePenalty || request.frequencyPenalty
          ? { repeatPenalty: { punishTokens: () => generated, maxPunishTokens: request.maxNewTokens, penalty: 1, presencePenalty: request.presencePenalty ?? 0, frequencyPenalty: request.frequencyPenalty ?? 0 } }
          : {}),
      };
      const ordinals = request.temperature === 0 ? this.ordinalTokens(request.ordinal) : [];
      // Jumping forward feeds tokens nobody sampled: not where their log-probabilities are asked for.
      const jumps = request.jumps && request.logprobs === undefined ? request.jumps.map((rule) => ({ after: new RegExp(rule.after), text: rule.text })) : undefined;
      if (request.maxNewTokens > 0) {
        for await (const item of this.tokensOf(sequence, rest, options, request.logprobs, ordinals, jumps)) {
          const token = item.token;
          if (request.signal.aborted) {
            finish = "cancelled";
            break;
          }
          if (model.isEogToken(token)) {
            finish = "stop";
            break;
          }
          generated.push(token);
          if (item.logprob !== undefined) logprobs.push({ token: model.detokenize([token]), logprob: item.logprob, top: item.top ?? [] });
          const full = model.detokenize(generated);
          // node-llama-cpp's JSON grammar ends the value with four newlines (its stop trigger, which only
          // its chat session applies): that is where a constrained answer is complete.
          if (grammar && (full.endsWith(GRAMMAR_END) || completeJson(full))) {
            finish = "stop";
            break;
          }
          const stopAt = findStop(full, stops);
          // Hold back text that ends in half a UTF-8 character (the next token completes it), with a
          // grammar trailing whitespace (it may be the start of the end marker), and a tail that may
          // become a stop string; nothing from a stop string on is ever sent.
          let decoded = grammar ? full.trimEnd() : full;
          if (stopAt >= 0) decoded = full.slice(0, stopAt);
          else if (stops.length > 0) decoded = decoded.slice(0, safeLength(decoded, stops));
          if ((stopAt >= 0 || !decoded.endsWith("\uFFFD")) && decoded.length > text.length) {
            request.onToken?.(index, decoded.slice(text.length));
            text = decoded;
          }
          if (stopAt >= 0) {
            finish = "stop";
            break;
          }
          if (generated.length >= request.maxNewTokens) break;
        }
      }
      // node-llama-cpp ends the generator itself at an end-of-generation token, without yielding it.
      if (finish === "length" && generated.length < request.maxNewTokens) finish = "stop";
      let answer = model.detokenize(generated);
      const stopAt = findStop(answer, stops);
      if (stopAt >= 0) answer = answer.slice(0, stopAt);
      return {
        text: grammar ? answer.trimEnd() : answer,
        new_tokens: generated.length,
        prompt_tokens: prompt.length,
        finish_reason: finish,
        ...(request.logprobs !== undefined ? { logprobs } : {}),
      };
    } finally {
      this.active -= 1;
      pool.free.get(context)!.push(sequence);
    }
  }

  /** The ordinal choices whose options are one token each, as tokens (the others are decoded as usual; a `then` whose options are not is dropped). */
  private ordinalTokens(ordinals: OrdinalChoice[] | undefined): OrdinalTokens[] {
    const usable: OrdinalTokens[] = [];
    const single = (choices: string[]) => {
      const tokens = choices.map((choice) => this.vocabulary.tokenize(choice, false));
      return tokens.every((each) => each.length === 1) ? tokens.map((each) => each[0]!) : undefined;
    };
    for (const ordinal of ordinals ?? []) {
      const choices = single(ordinal.choices);
      if (!choices) continue;
      const then = ordinal.then && single(ordinal.then.choices);
      usable.push({
        after: squashSpace(ordinal.after),
        choices,
        then: ordinal.then && then ? { text: this.vocabulary.tokenize(ordinal.then.text, false), raw: ordinal.then.text, after: squashSpace(ordinal.then.text), choices: then, bands: ordinal.then.bands } : undefined,
      });
    }
    return usable;
  }

  /**
   * The model's weights over `options` as the next token after `tokens`, which are evaluated in one
   * batch at the end of the sequence and stay there (the caller erases them, or keeps them where the
   * answer goes on with them).
   */
  private async readNext(sequence: LlamaContextSequence, tokens: Token[], options: Token[]): Promise<number[]> {
    const input = tokens.map((token, index): ControlledEvaluateInputItem => (index === tokens.length - 1 ? [token, { generateNext: { logits: { filter: { tokens: options } } } }] : token));
    const logits = (await sequence.controlledEvaluate(input)).at(-1)?.next.logits;
    const values = options.map((option) => logits?.get(option) ?? Number.NEGATIVE_INFINITY);
    const top = Math.max(...values);
    return values.map((value) => (Number.isFinite(value) ? Math.exp(value - top) : 0));
  }

  /** Whether the grammar (if any) admits `tokens` next, one after another (checked on a copy of its state). */
  private admits(state: LlamaGrammarEvaluationState | undefined, tokens: Token[]): boolean {
    if (!state) return true;
    if (!this.acceptor) return false;
    const probe = state.clone();
    for (const token of tokens) {
      if (!this.acceptor.can(probe, token)) return false;
      this.acceptor.accept(probe, token);
    }
    return true;
  }

  /**
   * The generated tokens; with `logprobs` (the number of alternatives) also each one's log-probability
   * and the likeliest alternatives, from llama.cpp's next-token probabilities. Each comes with `next`:
   * the tokens to evaluate if decoding goes on from there.
   *
   * With ordinal choices, within the answer's first ORDINAL_WINDOW tokens: where the answer so far
   * ends with a pending choice's `after`, one step is evaluated with the whole next-token distribution
   * and, if its likeliest token is an option, the median option is taken in place of it and decoding
   * goes on from the option taken (the rest of the answer is conditioned on it). Only those steps pay
   * for the distribution (node-llama-cpp builds a map over the whole vocabulary: 76 -> 29 tokens/s
   * when every step has it). With a grammar, replacing the sampled option is safe because the options
   * are alternatives of one enum, after each of which the grammar (which accepted the sampled one)
   * continues the same way. A likeliest token that is no option (a space the grammar admits) is kept,
   * and the choice comes at the next step. A choice with a `then` reads the model's weights over the
   * second choice's options after its median option and the text between (one batch, erased again),
   * decides both (jointChoice), and writes the second's option where it comes. After an option, the
   * jump rules' text follows in the same batch, as after a sampled token.
   */
  private async *tokensOf(
    sequence: LlamaContextSequence,
    tokens: Token[],
    options: Parameters<LlamaContextSequence["evaluate"]>[1],
    logprobs: number | undefined,
    ordinals: OrdinalTokens[],
    jumps: Array<{ after: RegExp; text: string }> | undefined,
  ): AsyncGenerator<Step> {
    const pending = [...ordinals];
    const generated: Token[] = [];
    const state = options?.grammarEvaluationState as LlamaGrammarEvaluationState | undefined;
    let kept: Token[] | undefined; // after an option: tokens read into the context that the answer goes on with
    const due = () => {
      if (pending.length === 0 || generated.length >= ORDINAL_WINDOW) return -1;
      const text = squashSpace(this.vocabulary.detokenize(generated));
      return pending.findIndex((ordinal) => text.endsWith(ordinal.after));
    };
    for (;;) {
      const at = due();
      if (at >= 0) {
        const ordinal = pending[at]!;
        let step: { token: Token; probabilities?: ReadonlyMap<Token, number> } | undefined;
        // A choice decided earlier needs the distribution only where log-probabilities are asked.
        const metadata = ordinal.decided === undefined || logprobs !== undefined ? { probabilities: true as const } : {};
        for await (const item of sequence.evaluateWithMetadata(tokens, metadata, options)) {
          step = item;
          break;
        }
        if (!step) return; // the answer ended (end of generation)
        let chosen = step.token;
        if (ordinal.choices.includes(step.token)) {
          pending.splice(at, 1);
          if (ordinal.decided !== undefined) chosen = ordinal.decided;
          else {
            const weights = ordinal.choices.map((choice) => step.probabilities?.get(choice) ?? 0);
            const median = medianIndex(weights);
            if (median >= 0) chosen = ordinal.choices[median]!;
            if (median >= 0 && ordinal.then) {
              const then = ordinal.then;
              const start = sequence.nextTokenIndex;
              const joint = jointChoice(weights, await this.readNext(sequence, [chosen, ...then.text], then.choices), then.bands);
              const decided = joint ? then.choices[joint.second]! : undefined;
              // Where the answer goes on exactly as read (the median option kept, the jump rules saying
              // the answer continues with that text, the grammar admitting it and the second option),
              // the read tokens stay in the context: one batch fewer. Otherwise they are erased and the
              // answer goes on from the option taken.
              const continues = jumps !== undefined && forcedContinuation(jumps, this.vocabulary.detokenize([...generated, chosen])) === then.raw;
              if (joint && joint.first === median && continues && this.admits(state, [...then.text, decided!])) {
                kept = [...then.text, decided!];
                this.keptReads += 1;
              }
              else await sequence.eraseContextTokenRanges([{ start, end: sequence.nextTokenIndex }]);
              if (joint) {
                chosen = ordinal.choices[joint.first]!;
                // The second choice is written as decided; a choice of its own over the same options goes.
                const same = (other: OrdinalTokens) => other.choices.length === then.choices.length && other.choices.every((token, index) => token === then.choices[index]);
                for (let index = pending.length - 1; index >= 0; index -= 1) if (same(pending[index]!)) pending.splice(index, 1);
                if (!kept) pending.unshift({ after: then.after, choices: then.choices, decided });
              }
            }
          }
        }
        generated.push(chosen);
        tokens = [chosen];
        yield { token: chosen, next: tokens, ...(logprobs === undefined ? {} : { logprob: Math.log(step.probabilities?.get(chosen) ?? 0), top: this.topLogprobs(step.probabilities, logprobs) }) };
        if (kept) {
          // The text read after the option is already in the context; the second option is not yet.
          for (const token of kept) {
            if (state) this.acceptor!.accept(state, token);
            generated.push(token);
            this.jumpedTokens += 1;
            yield { token, next: [token] };
          }
          tokens = [kept.at(-1)!];
          kept = undefined;
        }
        // What the answer must go on with after the option (the keys up to the next value) comes in the same batch.
        tokens = yield* this.jumpSteps(generated, jumps, state, tokens);
        continue;
      }
      // Plain steps until a choice is due (or to the end).
      let paused = false;
      for await (const item of this.plainSteps(sequence, tokens, options, logprobs, generated, jumps)) {
        yield item;
        if (due() >= 0) {
          tokens = item.next;
          paused = true;
          break;
        }
      }
      if (!paused) return;
    }
  }

  /**
   * Tokens decoded as usual (with their log-probabilities when asked), starting by evaluating `tokens`,
   * each pushed to `generated` as it comes. With jump rules, where the answer so far must go on with
   * known text (ANALYSIS_JUMPS: the keys between the values), that text's tokens come next without
   * being decoded one by one: they are evaluated in one batch with the last sampled token (on one
   * thread 8 tokens in one batch took 41 ms, one at a time 86 ms), after the grammar admitted and
   * accepted each. Only
   * where the text starts at a change of character class (see charClass), so that its tokens are the
   * ones the whole answer tokenizes to.
   */
  private async *plainSteps(
    sequence: LlamaContextSequence,
    tokens: Token[],
    options: Parameters<LlamaContextSequence["evaluate"]>[1],
    logprobs: number | undefined,
    generated: Token[],
    jumps: Array<{ after: RegExp; text: string }> | undefined,
  ): AsyncGenerator<Step> {
    if (logprobs !== undefined) {
      for await (const item of sequence.evaluateWithMetadata(tokens, { confidence: true, probabilities: logprobs > 0 }, options)) {
        const probabilities = (item as { probabilities?: Map<Token, number> }).probabilities;
        generated.push(item.token);
        yield { token: item.token, next: [item.token], logprob: Math.log(item.confidence), top: this.topLogprobs(probabilities, logprobs) };
      }
      return;
    }
    const iterator = sequence.evaluate(tokens, options);
    const state = options?.grammarEvaluationState as LlamaGrammarEvaluationState | undefined;
    let input: Token[] | undefined;
    try {
      for (;;) {
        const { value: token, done } = await iterator.next(input);
        if (done) return;
        generated.push(token);
        input = [token];
        yield { token, next: input };
        input = yield* this.jumpSteps(generated, jumps, state, input);
      }
    } finally {
      await iterator.return();
    }
  }

  /**
   * After a token the answer took: the text the jump rules say must follow, each token accepted by the
   * grammar, pushed to `generated` and yielded; returns `input` with them (what to evaluate next).
   */
  private *jumpSteps(generated: Token[], jumps: Array<{ after: RegExp; text: string }> | undefined, state: LlamaGrammarEvaluationState | undefined, input: Token[]): Generator<Step, Token[]> {
    let next = input;
    for (const forced of jumps ? this.jumpAfter(generated, jumps, state) : []) {
      if (state) this.acceptor!.accept(state, forced);
      generated.push(forced);
      next = [...next, forced];
      this.jumpedTokens += 1;
      yield { token: forced, next };
    }
    return next;
  }

  /** The tokens the answer must go on with under the jump rules, or none (see plainSteps). */
  private jumpAfter(generated: Token[], jumps: Array<{ after: RegExp; text: string }>, state: LlamaGrammarEvaluationState | undefined): Token[] {
    if (state && !this.acceptor) return [];
    const answer = this.vocabulary.detokenize(generated);
    const rest = forcedContinuation(jumps, answer);
    if (!rest || (answer.length > 0 && charClass(answer.at(-1)!) === charClass(rest[0]!))) return [];
    const forced = this.vocabulary.tokenize(rest, false);
    return this.admits(state, forced) ? forced : [];
  }

  /** The `count` likeliest tokens of a next-token distribution (node-llama-cpp's map is sorted, likeliest first). */
  private topLogprobs(probabilities: ReadonlyMap<Token, number> | undefined, count: number): Array<{ token: string; logprob: number }> {
    return [...(probabilities ?? new Map<Token, number>()).entries()].slice(0, count).map(([token, probability]) => ({ token: this.vocabulary.detokenize([token]), logprob: Math.log(probability) }));
  }

  async embed(): Promise<{ embeddings: number[][]; tokens: number }> {
    throw new EngineRequestError("invalid_request", "the llamacpp backend has no embedding model; serve with --backend torch for /v1/embeddings", "model", null, "serve with --backend torch");
  }

  /** Loads a PEFT adapter folder, converted by our converter; or, given `ggufLora`, that converted file as it is. */
  async loadAdapter(dir: string, ggufLora?: string): Promise<LoadAdapterResult> {
    const adapterDir = resolve(dir);
    const config = join(adapterDir, "adapter_config.json");
    const weights = join(adapterDir, "adapter_model.safetensors");
    if (!existsSync(config)) {
      throw new EngineRequestError("adapter_not_found", `${adapterDir} is not a PEFT adapter folder (no adapter_config.json)`, null, config, "pass the adapter/ folder of a finished run");
    }
    if (!existsSync(weights)) {
      throw new EngineRequestError("adapter_weights_missing", `${adapterDir} has adapter_config.json but no adapter_model.safetensors`, null, weights, "copy the adapter's weights file too (training writes it beside adapter_config.json)");
    }
    try {
      readJsonFile(config, z.looseObject({}));
    } catch (error) {
      throw new EngineRequestError("adapter_config_invalid", (error as Error).message, null, config, "restore the file from the run's adapter/ folder");
    }
    let gguf: string;
    let converted: { rank: number; alpha: number };
    try {
      converted = readLoraConfig(adapterDir);
      if (ggufLora) {
        gguf = resolve(ggufLora);
        if (!existsSync(gguf)) throw new Error(`${gguf} does not exist`);
      } else {
        // Converted once per adapter version and base: the key covers the weights' path, size and time
        // and the base's architecture and head counts (q/k rows are permuted for them).
        const { size, mtimeMs } = statSync(weights);
        gguf = this.cacheFile([weights, size, mtimeMs, this.baseInfo], ".gguf");
        if (!existsSync(gguf)) convertLoraToGguf({ adapterDir, out: gguf, ...this.baseInfo! }); // written whole or not at all
      }
    } catch (error) {
      const message = (error as Error).message;
      const code = /truncated|corrupt|not a safetensors/.test(message) ? "corrupt_weights" : "adapter_incompatible";
      throw new EngineRequestError(code, `${adapterDir}: ${message}`, null, weights, "export --format merged works for any adapter");
    }
    // The base's answer to the probe first, before a merged copy of the model is loaded beside it.
    const base = await (this.baseProbe ??= this.probeBase()); // the same for every adapter
    let pool: ContextPool;
    try {
      const file = this.mergedFile(gguf);
      if (file) await this.releaseBaseWeights();
      const merged = file ? await this.llama!.loadModel({ modelPath: file }) : undefined;
      this.pendingVocabulary = merged;
      pool = await this.createPool(merged ? { merged } : { lora: gguf }).catch(async (error: unknown) => {
        this.pendingVocabulary = undefined;
        await merged?.dispose();
        throw error;
      });
    } catch (error) {
      await this.keepVocabulary();
      throw new EngineRequestError("adapter_incompatible", `llama.cpp refused the adapter ${adapterDir}: ${(error as Error).message}`, null, weights, "use the base model the adapter was trained on");
    }
    let tuned: Awaited<ReturnType<LlamaCppBackend["nextTokenLogProbabilities"]>>;
    try {
      tuned = await this.nextTokenLogProbabilities(pool);
    } catch (error) {
      this.pendingVocabulary = undefined;
      await disposePool(pool);
      await this.keepVocabulary();
      throw error;
    }
    this.pendingVocabulary = undefined;
    let max = 0;
    let sum = 0;
    for (const [token, value] of tuned.values) {
      const difference = Math.abs(value - (base.values.get(token) ?? Math.log(1e-9)));
      max = Math.max(max, difference);
      sum += difference;
    }
    if (max < NO_EFFECT_THRESHOLD) {
      await disposePool(pool);
      await this.keepVocabulary();
      throw new EngineRequestError("adapter_no_effect", `adapter ${adapterDir} loads but does not change the model's next-token probabilities`, null, adapterDir, "the adapter is untrained or scaled to zero");
    }
    const previous = this.adapters.get(adapterDir);
    this.adapters.set(adapterDir, pool);
    if (previous) await disposePool(previous);
    return {
      adapter: adapterDir,
      rank: converted.rank,
      alpha: converted.alpha,
      base_model: null,
      // llama.cpp gives probabilities, not logits: the difference of log-probabilities over the likely tokens.
      max_abs_logit_diff: max,
      mean_abs_logit_diff: tuned.values.size ? sum / tuned.values.size : 0,
      top1_changed: tuned.top !== base.top,
      probe_tokens: tuned.promptTokens,
    };
  }

  /**
   * The adapter folded into a copy of the base (cached beside the converted adapters, keyed by both
   * files' path, size and time), when merging is on (see LlamaCppBackendOptions.mergeAdapters) and
   * every projection an adapter can touch is of a type gguf-merge rewrites; else undefined.
   */
  private mergedFile(lora: string): string | undefined {
    const wanted = this.options.mergeAdapters ?? this.baseBytes < SMALL_MODEL_BYTES;
    if (!wanted) return undefined;
    this.baseMergeable ??= [...readGgufHeader(this.options.gguf).tensors].every(([name, tensor]) => !PROJECTION.test(name) || mergeableType(tensor.type));
    if (!this.baseMergeable) return undefined;
    const identity = [lora, this.options.gguf].map((file) => {
      const { size, mtimeMs } = statSync(file);
      return [resolve(file), size, mtimeMs];
    });
    const out = this.cacheFile(identity, ".merged.gguf");
    if (!existsSync(out)) mergeGgufLora({ base: this.options.gguf, lora, out }); // written whole or not at all
    return out;
  }

  /** A file in the cache named after what it is made from (paths, sizes, times, settings). */
  private cacheFile(identity: unknown, suffix: string): string {
    const cache = this.options.cacheDir ?? join(tmpdir(), "reviewtune-gguf-lora");
    mkdirSync(cache, { recursive: true });
    const key = createHash("sha256").update(JSON.stringify(identity)).digest("hex").slice(0, 24);
    return join(cache, `${key}${suffix}`);
  }

  async unloadAdapter(dir: string): Promise<void> {
    const adapterDir = resolve(dir);
    const entry = this.adapters.get(adapterDir);
    this.adapters.delete(adapterDir);
    if (entry) await disposePool(entry);
    await this.keepVocabulary();
  }

  /** Loads the base again when no model is left to tokenize (the last merged adapter went, or failed to load). */
  private async keepVocabulary(): Promise<void> {
    if (!this.model && ![...this.adapters.values()].some((pool) => pool.merged)) await this.baseWeights();
  }

  /**
   * The model that tokenizes: the base while it is loaded, else a merged adapter's model (the base's
   * vocabulary: merging rewrites projections only).
   */
  private get vocabulary(): LlamaModel {
    const model = this.model ?? [...this.adapters.values()].find((pool) => pool.merged)?.merged ?? this.pendingVocabulary;
    if (!model) throw new Error("the backend has not started");
    return model;
  }

  /** The base's weights, loaded again if they were released. */
  private async baseWeights(): Promise<LlamaModel> {
    if (this.model) return this.model;
    this.loadingBase ??= this.llama!.loadModel({ modelPath: this.options.gguf }).then(
      (model) => {
        this.model = model;
        this.loadingBase = undefined;
        return model;
      },
      (error: unknown) => {
        this.loadingBase = undefined;
        throw error;
      },
    );
    return this.loadingBase;
  }

  /**
   * Frees the base's weights when nothing uses them: no base pool (no request asked for the base yet)
   * and no adapter applied at run time over it. Called before a merged adapter's model is loaded, so
   * the two are never in memory together; that model then tokenizes.
   */
  private async releaseBaseWeights(): Promise<void> {
    if (!this.model || this.base || this.loadingBase || [...this.adapters.values()].some((pool) => !pool.merged)) return;
    const model = this.model;
    this.model = undefined;
    await model.dispose();
  }

  onRestart(): void {
    // In process: there is no engine to restart.
  }

  async close(): Promise<void> {
    this.state = "closed";
    for (const pool of this.adapters.values()) await disposePool(pool);
    this.adapters.clear();
    const base = await this.base?.catch(() => undefined);
    if (base) await disposePool(base);
    await this.model?.dispose();
    await this.llama?.dispose();
  }

  /**
   * The contexts of one model (the base, or the base with one adapter): as many as the threads a
   * context gets divide into the budget, the `parallel` sequences spread over them. A small model
   * decodes fastest on one thread per context: its operations are too short to split, and with two
   * threads llama.cpp spends most of a token waiting at barriers (perf on SmolLM2-135M with an r16
   * adapter: 74% of the time in ggml_barrier); two one-thread contexts decoded 94 tokens/s where one
   * two-thread context decoded 65.
   */
  private async createPool(adapter: { lora?: string; merged?: LlamaModel; probe?: boolean } = {}): Promise<ContextPool> {
    const { lora, merged, probe } = adapter;
    const model = merged ?? (await this.baseWeights());
    const threadsEach = this.threadsPerContext;
    // A probe needs one sequence for one short prompt.
    const count = probe ? 1 : Math.max(1, Math.min(this.parallel, Math.floor(this.threads / threadsEach)));
    const sequencesEach = probe ? 1 : Math.ceil(this.parallel / count);
    const contexts: LlamaContext[] = [];
    try {
      for (let index = 0; index < count; index++) {
        contexts.push(
          await model.createContext({
            sequences: sequencesEach,
            contextSize: probe ? PROBE_CONTEXT : sequencesEach * (this.options.contextPerSequence ?? 1024),
            // A decode batch holds at most one prompt chunk's tokens; llama.cpp sizes its buffers by it.
            batchSize: PROMPT_CHUNK,
            ...this.kvCacheOptions(),
            // Contexts decoding together split the budget (node-llama-cpp's ThreadsSplitter), each keeping
            // at least one thread, so an adapter's context is never starved by a busy base context.
            threads: { ideal: threadsEach, min: 1 },
            ...(lora ? { lora: { adapters: [{ filePath: lora, scale: 1 }] } } : {}),
          }),
        );
      }
    } catch (error) {
      for (const context of contexts) await context.dispose();
      throw error;
    }
    return {
      ...(merged ? { merged } : {}),
      model,
      contexts,
      slots: new PQueue({ concurrency: count * sequencesEach }),
      free: new Map(contexts.map((context) => [context, Array.from({ length: sequencesEach }, () => context.getSequence())])),
    };
  }

  /** createContext's cache options for options.kvCache. */
  private kvCacheOptions(): { flashAttention?: boolean; experimentalKvCacheKeyType?: "Q8_0"; experimentalKvCacheValueType?: "Q8_0" } {
    if ((this.options.kvCache ?? DEFAULT_KV_CACHE) === "f16") return {};
    return { flashAttention: true, experimentalKvCacheKeyType: "Q8_0", experimentalKvCacheValueType: "Q8_0" };
  }

  /** Threads of one context: one for a small model (see createPool), the whole budget for a large one. */
  private get threadsPerContext(): number {
    return this.baseBytes < SMALL_MODEL_BYTES ? 1 : this.threads;
  }

  /**
   * The base's pool, made when the base is first asked (serving a run, most requests name its adapter,
   * and a pool's contexts are 100 MB each for the embedded model: see README, serving memory).
   */
  private basePool(): Promise<ContextPool> {
    this.base ??= this.createPool().catch((error: unknown) => {
      this.base = undefined;
      throw error;
    });
    return this.base;
  }

  /** The base's probe distribution: from its pool if it has one, else from one small context made for it. */
  private async probeBase(): Promise<Awaited<ReturnType<LlamaCppBackend["probe"]>>> {
    if (this.base) return this.nextTokenLogProbabilities(await this.base);
    const pool = await this.createPool({ probe: true });
    try {
      return await this.nextTokenLogProbabilities(pool);
    } finally {
      await disposePool(pool);
    }
  }

  /** Log-probabilities of the likeliest next tokens after the probe prompt (those above 1e-6). */
  private nextTokenLogProbabilities(pool: ContextPool): Promise<{ values: Map<Token, number>; top: Token | undefined; promptTokens: number }> {
    return pool.slots.add(() => this.probe(pool));
  }

  private async probe(pool: ContextPool): Promise<{ values: Map<Token, number>; top: Token | undefined; promptTokens: number }> {
    const { context, sequence } = takeSequence(pool);
    try {
      const prompt = this.vocabulary.tokenize(this.renderChat([{ role: "user", content: PROBE }]), true);
      await sequence.clearHistory();
      for await (const item of sequence.evaluateWithMetadata(prompt, { probabilities: true }, { temperature: 0 })) {
        const values = new Map<Token, number>();
        for (const [token, probability] of item.probabilities) if (probability > 1e-6) values.set(token, Math.log(probability));
        return { values, top: item.token, promptTokens: prompt.length };
      }
      return { values: new Map(), top: undefined, promptTokens: prompt.length };
    } finally {
      pool.free.get(context)!.push(sequence);
    }
  }

  /**
   * Erases the sequence's history after the part it shares with `prompt` and returns the tokens still
   * to evaluate. Prompts of one server share their start (the chat template's system turn, the task's
   * question), whose KV cache is then computed once instead of per request. At least the last prompt
   * token is always evaluated: generation starts from its logits.
   */
  private async keepCommonPrefix(sequence: LlamaContextSequence, prompt: Token[]): Promise<Token[]> {
    await sequence.adaptStateToTokens(prompt.slice(0, -1), false);
    return prompt.slice(sequence.nextTokenIndex);
  }
}
