// A GenerationBackend that decodes on another server: any OpenAI-compatible engine (vLLM with
// --enable-lora, a llama.cpp llama-server, another reviewtune serve) behind `serve --upstream URL`.
// The front keeps what is reviewtune's own (adapter names, the probe and marked fallback, /v1/analyze,
// metrics, auth, queue limits) and sends each rendered prompt to the upstream's /v1/completions,
// streamed when the client streams. Adapters are the upstream's model names: one the upstream does
// not list (or lists as a fallback itself) is refused here, so the registry marks it a fallback.
//
// What it needs from the upstream: GET /v1/models; POST /v1/completions; where they exist, GET /props
// (the chat template and context, llama-server and reviewtune) and POST /tokenize (token counts,
// all three). The chat template: the run's override, else the upstream's /props, else the local
// model's (`localTemplate`). Without /tokenize the context check is left to the upstream.
import { jointChoice, medianIndex, type GenerateResult, type OrdinalChoice, type LoadAdapterResult, type TokenLogprob } from "@reviewtune/contracts";
import { ConfigError, EngineRequestError, ReviewtuneError } from "../errors.js";
import { ChatTemplate, type ChatMessage } from "../templates/chat-template.js";
import { schemasOf, type BackendState, type GenerationBackend, type GenerationRequest } from "./backend.js";

export interface UpstreamBackendOptions {
  /** The upstream's address: http://host:port, with or without /v1. */
  url: string;
  apiKey?: string | undefined;
  /** The base model's name upstream; default: the front's base id when the upstream lists it, else the first model it lists. */
  baseModel?: string | undefined;
  /** The front's name for its base model (what clients ask for). */
  baseId: string;
  /** Adapter folders by their name upstream (the front's adapter names). */
  adapterNames: ReadonlyMap<string, string>;
  /** A chat template that replaces the model's own (a run's data.template). */
  templateOverride?: string | undefined;
  /** The chat template of the local model, when the upstream does not say (vLLM): read without loading the model. */
  localTemplate?: (() => Promise<ChatTemplate | undefined>) | undefined;
  /** Requests sent at once (the front's queue runs this many). */
  concurrency?: number | undefined;
  /**
   * How long a call may wait for the upstream's answer, except completions (a long generation sends
   * nothing until it is done: the request's own time limit and cancel bound those). Default 30 s.
   */
  connectTimeoutMs?: number | undefined;
  /**
   * Sentence embeddings computed here (the engine's all-MiniLM-L6-v2), for training references; the
   * upstreams serve no such model. Absent: no embeddings (and no references).
   */
  embedder?: { embed(texts: string[], signal: AbortSignal): Promise<{ embeddings: number[][]; tokens: number }>; close(): Promise<void> } | undefined;
}

/** The upstream refused or failed a call: its status, code and message (4xx: the client's to fix). */
export class UpstreamError extends ReviewtuneError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

interface UpstreamModel {
  id: string;
  max_model_len?: number;
  reviewtune?: { kind?: string; status?: string; error?: { code: string } | null };
}

interface CompletionChoice {
  text?: string;
  finish_reason?: string | null;
  logprobs?: { tokens?: string[]; token_logprobs?: (number | null)[]; top_logprobs?: (Record<string, number> | null)[] } | null;
}

export class UpstreamBackend implements GenerationBackend {
  readonly name = "upstream" as const;
  readonly canEmbed: boolean;
  readonly concurrency: number;
  state: BackendState = "starting";
  contextLength: number | undefined;
  private template: ChatTemplate | undefined;
  private base = "";
  /** The upstream's models but the base, as it listed them at start. */
  otherModels: string[] = [];
  /** The upstream's address, without /v1. */
  readonly url: string;
  private tokenize = true;
  /** The upstream gives log-probabilities (until a reading comes back without them). */
  private logprobs = true;

  constructor(private readonly options: UpstreamBackendOptions) {
    this.url = options.url.replace(/\/+$/, "").replace(/\/v1$/, "");
    this.concurrency = options.concurrency ?? 4;
    this.canEmbed = options.embedder !== undefined;
  }

  get chatTemplate(): ChatTemplate | undefined {
    return this.template;
  }

  async start(): Promise<void> {
    try {
      const models = await this.models();
      const ids = models.map((model) => model.id);
      const wanted = this.options.baseModel ?? (ids.includes(this.options.baseId) ? this.options.baseId : ids.find((id) => !this.isAdapterName(id)));
      if (!wanted || !ids.includes(wanted)) {
        throw new ConfigError(`the upstream ${this.url} does not serve ${wanted ? `a model named "${wanted}"` : "any model"} (it lists: ${ids.join(", ") || "nothing"})`, [], {
          hint: "name the upstream's base model with --upstream-model",
        });
      }
      this.base = wanted;
      this.otherModels = ids.filter((id) => id !== wanted);
      const props = await this.props();
      this.contextLength = props?.default_generation_settings?.n_ctx ?? models.find((model) => model.id === wanted)?.max_model_len ?? undefined;
      const source = this.options.templateOverride ?? props?.chat_template ?? undefined;
      this.template = source ? new ChatTemplate(source, { bos_token: props?.bos_token ?? "", eos_token: props?.eos_token ?? "" }) : await this.options.localTemplate?.();
      if (!this.template) {
        throw new ConfigError(`no chat template for ${wanted}: the upstream does not tell it (no GET /props) and the local model has none`, [], {
          hint: "pass --model with the model folder or .gguf the upstream serves (its chat template is read from there), or --run of a run on it",
        });
      }
      this.state = "ready";
    } catch (error) {
      this.state = "failed";
      throw error;
    }
  }

  async whenReady(): Promise<void> {
    if (this.state !== "ready") throw new UpstreamError(503, "upstream_not_ready", `the upstream backend is ${this.state}`);
  }

  renderChat(messages: ChatMessage[]): string {
    if (!this.template) throw new Error("the backend has not started");
    return this.template.prompt(messages);
  }

  async countTokens(texts: string[]): Promise<number[]> {
    if (this.tokenize) {
      try {
        const counts: number[] = [];
        for (const text of texts) {
          const body = await this.call<{ count?: number; tokens?: unknown[] }>("/tokenize", { model: this.base, content: text, prompt: text, add_special: false, add_special_tokens: false });
          counts.push(body.count ?? body.tokens?.length ?? 0);
        }
        return counts;
      } catch (error) {
        if (!(error instanceof UpstreamError) || (error.status !== 404 && error.status !== 405)) throw error;
        this.tokenize = false; // no /tokenize there: the upstream checks its own context
        this.contextLength = undefined;
      }
    }
    return texts.map((text) => Math.ceil(text.length / 4)); // an estimate, for usage figures only
  }

  async generate(request: GenerationRequest): Promise<GenerateResult> {
    const started = performance.now();
    const model = request.adapterDir ? this.options.adapterNames.get(request.adapterDir) : this.base;
    if (!model) throw new EngineRequestError("adapter_not_loaded", `no upstream model for ${request.adapterDir}`, null, null, null);
    const schemas = schemasOf(request);
    const outputs = new Array<GenerateResult["outputs"][number]>(request.prompts.length);
    let next = 0;
    const worker = async () => {
      while (next < request.prompts.length) {
        const index = next++;
        outputs[index] = await this.answer(model, index, request, schemas[index]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, request.prompts.length) }, worker));
    const seconds = (performance.now() - started) / 1000;
    const tokens = outputs.reduce((sum, output) => sum + output.new_tokens, 0);
    return { outputs, seconds, tokens_per_second: seconds > 0 ? tokens / seconds : 0, adapter_loaded: model !== this.base };
  }

  private async complete(model: string, index: number, request: GenerationRequest, schema: Record<string, unknown> | undefined): Promise<GenerateResult["outputs"][number]> {
    const stream = request.onToken !== undefined;
    const body = {
      model,
      prompt: request.prompts[index],
      max_tokens: request.maxNewTokens,
      temperature: request.temperature,
      top_p: request.topP,
      seed: request.seed,
      ...(request.stop?.length ? { stop: request.stop } : {}),
      ...(request.presencePenalty ? { presence_penalty: request.presencePenalty } : {}),
      ...(request.frequencyPenalty ? { frequency_penalty: request.frequencyPenalty } : {}),
      ...(request.logprobs !== undefined ? { logprobs: request.logprobs } : {}),
      ...(schema ? { response_format: { type: "json_schema", json_schema: { name: "answer", schema } } } : {}),
      ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
    };
    let text = "";
    let finish: string | null | undefined;
    let usage: { prompt_tokens?: number; completion_tokens?: number } | undefined;
    let chunks = 0;
    const logprobs: TokenLogprob[] = [];
    const take = (choice: CompletionChoice | undefined) => {
      if (!choice) return;
      if (choice.text) {
        text += choice.text;
        chunks += 1;
        request.onToken?.(index, choice.text);
      }
      if (choice.finish_reason) finish = choice.finish_reason;
      const lp = choice.logprobs;
      for (const [position, token] of (lp?.tokens ?? []).entries()) {
        const top = Object.entries(lp?.top_logprobs?.[position] ?? {}).map(([alternative, logprob]) => ({ token: alternative, logprob }));
        logprobs.push({ token, logprob: lp?.token_logprobs?.[position] ?? 0, top });
      }
    };
    try {
      if (stream) {
        await this.stream("/v1/completions", body, request.signal, (event: { choices?: CompletionChoice[]; usage?: typeof usage }) => {
          take(event.choices?.[0]);
          if (event.usage) usage = event.usage;
        });
      } else {
        const answer = await this.call<{ choices?: CompletionChoice[]; usage?: typeof usage }>("/v1/completions", body, request.signal);
        take(answer.choices?.[0]);
        usage = answer.usage;
      }
    } catch (error) {
      if (!request.signal.aborted) throw error;
      finish = "cancelled";
    }
    if (request.signal.aborted) finish = "cancelled";
    return {
      text,
      new_tokens: usage?.completion_tokens ?? chunks,
      ...(usage?.prompt_tokens !== undefined ? { prompt_tokens: usage.prompt_tokens } : {}),
      finish_reason: finish === "length" ? "length" : finish === "cancelled" ? "cancelled" : "stop",
      ...(request.logprobs !== undefined ? { logprobs } : {}),
    };
  }

  /**
   * One prompt's answer. Ordered choices (request.ordinal, greedy decoding) are decided as the
   * in-process backends decide them (decision 0018), from the upstream's next-token
   * log-probabilities, before the answer is decoded where they can be: the choice whose key opens the
   * schema's object (the analysis's stars, decision 0017) is read after `{"stars":`, its `then` after
   * the median star, jointChoice decides the pair, and the answer is decoded once with the pair fixed
   * in its schema (the rest of it follows them: quality and recommendation are written after a
   * consistent pair): three requests, one of them a decoding (greedy first, then the readings and a
   * second decoding where the pair differed, cost four requests and two decodings for most answers of
   * a trained model). Where nothing can be decided first (no such choice, or a model that has not
   * learnt the compact answer: see decideFirst), the answer is decoded greedily and decided after it
   * (decideOrdinals). An upstream without log-probabilities keeps the greedy answer (the stars could
   * then contradict the sentiment).
   */
  private async answer(model: string, index: number, request: GenerationRequest, schema: Record<string, unknown> | undefined): Promise<GenerateResult["outputs"][number]> {
    const readings = new Map<string, number[] | undefined>();
    const decided = await this.decideFirst(model, request.prompts[index]!, request, schema, readings);
    if (decided) return this.complete(model, index, request, fixedSchema(schema as ObjectSchema, decided));
    return this.decideOrdinals(model, index, request, schema, await this.complete(model, index, request, schema), readings);
  }

  /** decideFirst and decideOrdinals apply to greedy answers to an object schema; the choices decided after the answer are also not streamed. */
  private ordinalsApply(request: GenerationRequest, schema: Record<string, unknown> | undefined): schema is ObjectSchema {
    return request.ordinal !== undefined && request.temperature === 0 && this.logprobs && isObjectSchema(schema);
  }

  /**
   * The ordinal choice at the start of the answer decided before it is decoded (see answer), or
   * undefined. Only where the reading after the compact opening (`{"stars":`, as formatAnalysis
   * writes it and a trained model answers) puts at least FIRST_READING_MASS on the options: a model
   * that has not learnt the compact answer may write `{\n  "stars": ` instead, and its reading there
   * (after the greedy answer) is the one the in-process backends take.
   */
  private async decideFirst(model: string, prompt: string, request: GenerationRequest, schema: Record<string, unknown> | undefined, readings: Map<string, number[] | undefined>): Promise<Map<string, string | number> | undefined> {
    if (!this.ordinalsApply(request, schema)) return undefined;
    const opening = Object.keys(schema.properties)[0];
    const choice = request.ordinal!.find((candidate) => ordinalKey(candidate.after) === opening);
    if (!choice) return undefined;
    const context = `${prompt}{${choice.after}`;
    const first = await this.reading(model, context, choice.choices, request.signal, readings);
    if (!first || first.reduce((sum, weight) => sum + weight, 0) < FIRST_READING_MASS) return undefined;
    const decided = await this.decideChoice(model, context, choice, schema, undefined, request.signal, readings);
    return decided && decided.length > 0 ? new Map(decided) : undefined;
  }

  /**
   * The ordinal choices decided after a greedy answer (not streamed): where the answer reaches a choice,
   * the reading after the answer so far gives the options' weights (the greedy option stands in for
   * the median where none of the options is among the upstream's five likeliest tokens), and an answer
   * whose values differ from the decided ones is decoded again with them fixed in its schema.
   */
  private async decideOrdinals(
    model: string,
    index: number,
    request: GenerationRequest,
    schema: Record<string, unknown> | undefined,
    greedy: GenerateResult["outputs"][number],
    readings: Map<string, number[] | undefined>,
  ): Promise<GenerateResult["outputs"][number]> {
    if (!this.ordinalsApply(request, schema) || request.onToken || greedy.finish_reason !== "stop") return greedy;
    let answer: Record<string, unknown>;
    try {
      answer = JSON.parse(greedy.text) as Record<string, unknown>;
    } catch {
      return greedy; // not the schema's JSON (cut short): nothing to decide in it
    }
    const prompt = request.prompts[index]!;
    const decided = new Map<string, string | number>();
    for (const choice of request.ordinal!) {
      const key = ordinalKey(choice.after);
      if (!key || decided.has(key)) continue;
      const at = endOf(greedy.text, choice.after);
      if (at < 0) continue;
      const values = await this.decideChoice(model, prompt + greedy.text.slice(0, at), choice, schema, String(answer[key]), request.signal, readings);
      if (!values) return greedy;
      for (const [name, value] of values) decided.set(name, value);
    }
    if ([...decided].every(([key, value]) => answer[key] === value)) return greedy;
    const again = await this.complete(model, index, request, fixedSchema(schema, decided));
    return { ...again, new_tokens: greedy.new_tokens + again.new_tokens };
  }

  /**
   * One ordinal choice decided from the reading after `context` (the prompt and the answer up to the
   * choice), with its `then` read after the median option and jointChoice deciding the two: the keys
   * and values decided, none where no option is among the likeliest tokens and there is no `greedy`
   * option to stand in for the median, undefined when the upstream gives no log-probabilities.
   */
  private async decideChoice(
    model: string,
    context: string,
    choice: OrdinalChoice,
    schema: ObjectSchema,
    greedy: string | undefined,
    signal: AbortSignal,
    readings: Map<string, number[] | undefined>,
  ): Promise<Array<[string, string | number]> | undefined> {
    const key = ordinalKey(choice.after);
    if (!key || !schema.properties[key]) return [];
    const first = await this.reading(model, context, choice.choices, signal, readings);
    if (!first) return undefined;
    let median = medianIndex(first);
    if (median < 0 && greedy !== undefined) median = choice.choices.indexOf(greedy);
    if (median < 0) return [];
    const then = choice.then;
    const thenKey = then ? ordinalKey(then.text) : undefined;
    if (!then || !thenKey || !schema.properties[thenKey]) return [[key, ordinalValue(choice.choices[median]!, choice.after)]];
    const second = await this.reading(model, `${context}${choice.choices[median]}${then.text}`, then.choices, signal, readings);
    const joint = (second && jointChoice(first, second, then.bands)) ?? { first: median, second: then.bands[median]! };
    return [
      [key, ordinalValue(choice.choices[joint.first]!, choice.after)],
      [thenKey, ordinalValue(then.choices[joint.second]!, then.text)],
    ];
  }

  /** optionWeights, read once per context for one answer (the reading decideFirst took is the one after a compact greedy answer too). */
  private async reading(model: string, context: string, options: readonly string[], signal: AbortSignal, readings: Map<string, number[] | undefined>): Promise<number[] | undefined> {
    const key = `${options.join("\u0000")}\u0000${context}`;
    if (!readings.has(key)) readings.set(key, await this.optionWeights(model, context, options, signal));
    return readings.get(key);
  }

  /**
   * The weight of each option as the upstream's next token after `prompt`, or undefined without
   * log-probabilities. From its five likeliest tokens (the most the completions API gives): a model
   * trained on the analysis puts nearly all its mass on the options, an untrained one may leave some
   * out (weight 0; the in-process backends read every option's logit). A token that begins two
   * options counts for neither.
   */
  private async optionWeights(model: string, prompt: string, options: readonly string[], signal: AbortSignal): Promise<number[] | undefined> {
    const answer = await this.call<{ choices?: CompletionChoice[] }>("/v1/completions", { model, prompt, max_tokens: 1, temperature: 0, logprobs: 5 }, signal);
    const top = answer.choices?.[0]?.logprobs?.top_logprobs?.[0];
    if (!top) {
      this.logprobs = false; // asked once: the later answers are greedy without asking again
      return undefined;
    }
    const weights = options.map(() => 0);
    for (const [token, logprob] of Object.entries(top)) {
      const matching = token ? options.flatMap((option, at) => (option.startsWith(token) ? [at] : [])) : [];
      if (matching.length === 1) weights[matching[0]!]! += Math.exp(logprob);
    }
    return weights;
  }

  async embed(texts: string[], signal: AbortSignal): Promise<{ embeddings: number[][]; tokens: number }> {
    if (!this.options.embedder) throw new EngineRequestError("no_embedding_model", "a front over an upstream has no embedding model here", null, null, null);
    return this.options.embedder.embed(texts, signal);
  }

  /** An adapter is the upstream's model of that name: refused (the registry then falls back, marked) when it does not list it, or lists it as a fallback itself. */
  async loadAdapter(dir: string): Promise<LoadAdapterResult> {
    const name = this.options.adapterNames.get(dir);
    const model = (await this.models()).find((entry) => entry.id === name);
    if (!name || !model) {
      throw new EngineRequestError("adapter_not_upstream", `the upstream ${this.url} serves no model named "${name}" for ${dir}`, null, dir, `start the upstream with this adapter under that name (vLLM: --lora-modules ${name}=<dir>)`);
    }
    if (model.reviewtune?.status === "fallback") {
      throw new EngineRequestError("adapter_upstream_fallback", `the upstream answers "${name}" with its base model (${model.reviewtune.error?.code ?? "fallback"})`, null, dir, null);
    }
    return this.probe(dir, name);
  }

  /**
   * The probe, through the upstream: the next token's top log-probabilities after a fixed prompt,
   * base against adapter. An adapter that changes none of them does nothing (refused as in process);
   * an upstream without log-probabilities leaves the adapter unprobed (NaN differences).
   */
  private async probe(dir: string, name: string): Promise<LoadAdapterResult> {
    const prompt = this.renderChat([{ role: "user", content: "Is this product worth buying? The battery died after two days." }]);
    const next = async (model: string) => {
      const answer = await this.call<{ choices?: CompletionChoice[] }>("/v1/completions", { model, prompt, max_tokens: 1, temperature: 0, logprobs: 5 });
      return answer.choices?.[0]?.logprobs?.top_logprobs?.[0] ?? undefined;
    };
    let base: Record<string, number> | undefined;
    let tuned: Record<string, number> | undefined;
    try {
      [base, tuned] = await Promise.all([next(this.base), next(name)]);
    } catch {
      base = tuned = undefined;
    }
    const unprobed = { adapter: dir, rank: null, alpha: null, base_model: this.base, max_abs_logit_diff: Number.NaN, mean_abs_logit_diff: Number.NaN, top1_changed: false, probe_tokens: 0 };
    if (!base || !tuned) return unprobed;
    // Differences of log-probabilities (what an upstream gives) over both top-5s; a token missing from
    // one table counts at that table's lowest, an upper bound on its own.
    const floor = (table: Record<string, number>) => Math.min(...Object.values(table));
    const union = [...new Set([...Object.keys(base), ...Object.keys(tuned)])];
    const differences = union.map((token) => Math.abs((base![token] ?? floor(base!)) - (tuned![token] ?? floor(tuned!))));
    const top = (table: Record<string, number>) => Object.entries(table).sort((a, b) => b[1] - a[1])[0]?.[0];
    const result = {
      ...unprobed,
      max_abs_logit_diff: Math.max(0, ...differences),
      mean_abs_logit_diff: differences.length ? differences.reduce((sum, value) => sum + value, 0) / differences.length : 0,
      top1_changed: top(base) !== top(tuned),
      probe_tokens: 1,
    };
    if (result.max_abs_logit_diff === 0 && !result.top1_changed) {
      throw new EngineRequestError("adapter_no_effect", `"${name}" upstream answers the probe exactly as the base model`, null, dir, null);
    }
    return result;
  }

  async unloadAdapter(): Promise<void> {}

  onRestart(): void {}

  async close(): Promise<void> {
    this.state = "closed"; // the server drains its queue before closing the backend: nothing is in flight
    await this.options.embedder?.close();
  }

  private isAdapterName(id: string): boolean {
    return [...this.options.adapterNames.values()].includes(id);
  }

  private async models(): Promise<UpstreamModel[]> {
    const list = await this.call<{ data?: UpstreamModel[] }>("/v1/models");
    return (list.data ?? []).filter((model) => model.reviewtune?.kind !== "embedding");
  }

  private async props(): Promise<{ chat_template?: string | null; bos_token?: string | null; eos_token?: string | null; default_generation_settings?: { n_ctx?: number | null } } | undefined> {
    try {
      return await this.call("/props");
    } catch (error) {
      if (error instanceof UpstreamError && (error.status === 404 || error.status === 405)) return undefined; // vLLM has none
      throw error;
    }
  }

  private async fetch(path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
    const controller = new AbortController();
    const abort = () => controller.abort();
    signal?.addEventListener("abort", abort, { once: true });
    const timer = path === "/v1/completions" ? undefined : setTimeout(abort, this.options.connectTimeoutMs ?? 30_000);
    try {
      const response = await fetch(`${this.url}${path}`, {
        method: body === undefined ? "GET" : "POST",
        headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...(this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {}) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: controller.signal,
      });
      clearTimeout(timer);
      if (!response.ok) throw await this.refusal(path, response);
      return response;
    } catch (error) {
      clearTimeout(timer);
      if (error instanceof UpstreamError || signal?.aborted) throw error;
      throw new UpstreamError(502, "upstream_unavailable", `the upstream ${this.url} did not answer ${path}: ${(error as Error).message}`);
    } finally {
      signal?.removeEventListener("abort", abort);
    }
  }

  private async refusal(path: string, response: Response): Promise<UpstreamError> {
    const text = await response.text().catch(() => "");
    let message = text.slice(0, 500);
    let code = `upstream_${response.status}`;
    let param: string | null = null;
    try {
      const parsed = JSON.parse(text) as { error?: { message?: string; code?: string | number; param?: string | null } | string; message?: string };
      const error = typeof parsed.error === "object" ? parsed.error : undefined;
      message = error?.message ?? (typeof parsed.error === "string" ? parsed.error : parsed.message) ?? message;
      if (typeof error?.code === "string") code = error.code;
      param = error?.param ?? null;
    } catch {
      // not JSON: the text itself is the message
    }
    if (response.status === 401 || response.status === 403) {
      return new UpstreamError(502, "upstream_unauthorized", `the upstream ${this.url} refused this server's key (${response.status} on ${path}): ${message}`);
    }
    return new UpstreamError(response.status >= 500 ? 502 : response.status, code, response.status >= 500 ? `the upstream failed (${response.status} on ${path}): ${message}` : message, param);
  }

  private async call<T>(path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const response = await this.fetch(path, body, signal);
    return (await response.json()) as T;
  }

  /** Server-sent events of a streamed completion, each `data:` line's JSON to `onEvent`, until [DONE]. */
  private async stream<E>(path: string, body: unknown, signal: AbortSignal, onEvent: (event: E) => void): Promise<void> {
    const response = await this.fetch(path, body, signal);
    if (!response.body) throw new UpstreamError(502, "upstream_stream", `the upstream sent no stream for ${path}`);
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, end).trim();
        buffer = buffer.slice(end + 1);
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") return;
        onEvent(JSON.parse(data) as E);
      }
    }
  }
}

/**
 * The options' share of the next token's probability after the compact opening for the answer to be
 * decided before it is decoded (decideFirst). A trained model puts nearly all of it there (it learnt
 * the compact answer); the untrained embedded model put 2-36% (it writes spaces and line breaks).
 */
export const FIRST_READING_MASS = 0.5;

type ObjectSchema = Record<string, unknown> & { properties: Record<string, unknown> };

/** A JSON Schema of an object with properties (what ordinal choices name keys of). */
function isObjectSchema(schema: unknown): schema is ObjectSchema {
  return typeof schema === "object" && schema !== null && typeof (schema as { properties?: unknown }).properties === "object" && (schema as { properties?: unknown }).properties !== null;
}

/** The key an ordinal choice's text ends at: `"stars":` -> stars, `,"sentiment":"` -> sentiment. */
function ordinalKey(text: string): string | undefined {
  return /"([^"\\]+)":"?$/.exec(text)?.[1];
}

/** An option as the JSON value it is written as: a string where the text before it opens a quote, else a number. */
function ordinalValue(option: string, before: string): string | number {
  return before.endsWith('"') ? option : Number(option);
}

/** Where `after` ends in `text` (spaces after its colon allowed, as another engine may write them), or -1. */
function endOf(text: string, after: string): number {
  const pattern = new RegExp(after.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/:/g, ":\\s*"));
  const found = pattern.exec(text);
  return found ? found.index + found[0].length : -1;
}

/** `schema` with each decided key's value fixed (an enum of that one value). */
function fixedSchema(schema: ObjectSchema, decided: ReadonlyMap<string, string | number>): ObjectSchema {
  const properties = { ...schema.properties };
  for (const [key, value] of decided) properties[key] = { ...(properties[key] as object), enum: [value] };
  return { ...schema, properties };
}
