// POST /v1/chat/completions and /v1/completions: validate, route `model` to the base or an adapter
// (falling back to the base, marked, when the adapter is unusable), queue, generate with a timeout
// and cancel-on-disconnect, and answer as JSON or as an SSE stream of chunks.
import { randomUUID } from "node:crypto";
import { Ajv2020 } from "ajv/dist/2020.js";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  ChatCompletionsRequestSchema,
  CompletionsRequestSchema,
  type ChatCompletion,
  type ChatCompletionChunk,
  type ChatCompletionMessage,
  type ChatServedBy,
  type Completion,
  type ChatCompletionsRequest,
  type ChatLogprobs,
  type CompletionLogprobs,
  type TokenLogprob,
} from "@reviewtune/contracts";
import { groundMessages, nearestNeighbours, type ChatMessage, type ReferenceIndex } from "@reviewtune/core";
import type { GenerateResult } from "@reviewtune/contracts";
import type { ModelRoute } from "../adapters/adapter-registry.js";
import { ClientGoneError, invalidRequest, parseBody, RequestTimeoutError, toHttpError } from "../http/api-error.js";
import { checkContextLength } from "../http/context-length.js";
import { EventStream } from "../http/sse.js";
import type { ServerContext } from "../server-context.js";

type Kind = "chat" | "text";

interface Job {
  kind: Kind;
  id: string;
  created: number;
  route: ModelRoute;
  servedBy: ChatServedBy;
  prompts: string[];
  /** Chat requests with `references`: the question to find training examples for, and how. */
  references?: { query: string; k: number; task?: string | undefined } | undefined;
  /** Set for a grounded adapter: the conversation whose last question gets its nearest training example. */
  ground?: { index: ReferenceIndex; messages: ChatMessage[] } | undefined;
  maxTokens: number;
  temperature: number;
  topP: number;
  seed: number;
  /** `response_format`'s schema: decoding is constrained to it. */
  jsonSchema?: Record<string, unknown> | undefined;
  stop: string[];
  presencePenalty: number;
  frequencyPenalty: number;
  /** Absent: no log-probabilities; n: each answer token's and the n likeliest alternatives. */
  logprobs?: number | undefined;
  stream: boolean;
  includeUsage: boolean;
}

export function registerCompletionRoutes(app: FastifyInstance, context: ServerContext): void {
  app.post("/v1/chat/completions", async (request, reply) => {
    const body = parseBody(ChatCompletionsRequestSchema, request.body);
    const messages = body.messages.map(toChatMessage);
    const job = makeJob(context, "chat", body, [context.backend.renderChat(messages)], body.max_completion_tokens ?? body.max_tokens);
    job.references = referencesAsked(context, body);
    // An adapter trained with grounded prompts is asked as it was trained: the question's nearest
    // training example before it (found in the queue, where the embedding is computed).
    // A fallback answers with the base: grounded only when the base is itself a grounded run's weights (key null).
    const grounding = context.grounding.get(job.route.adapter?.name ?? null);
    if (grounding) job.ground = { index: grounding, messages };
    job.jsonSchema = schemaOf(body.response_format);
    // 0 (what some clients send by default) asks for nothing; more needs logprobs, as at OpenAI.
    if (body.top_logprobs && !body.logprobs) throw invalidRequest("top_logprobs needs logprobs: true", "top_logprobs");
    if (body.logprobs) job.logprobs = body.top_logprobs ?? 0;
    return run(context, job, request, reply);
  });
  app.post("/v1/completions", async (request, reply) => {
    const body = parseBody(CompletionsRequestSchema, request.body);
    const prompts = typeof body.prompt === "string" ? [body.prompt] : body.prompt;
    if (prompts.some((prompt) => prompt.length === 0)) throw invalidRequest("prompt must not be empty", "prompt");
    const job = makeJob(context, "text", body, prompts, body.max_tokens);
    job.jsonSchema = schemaOf(body.response_format);
    if (body.logprobs != null) job.logprobs = body.logprobs;
    return run(context, job, request, reply);
  });
}

function toChatMessage(message: ChatCompletionMessage): ChatMessage {
  // "developer" is OpenAI's newer name for the system role; text parts are joined.
  const content = typeof message.content === "string" ? message.content : message.content.map((part) => part.text).join("");
  return { role: message.role === "developer" ? "system" : message.role, content };
}

/** Checks schemas against the JSON Schema meta-schema only; it never compiles or runs them. */
const metaSchema = new Ajv2020({ strict: false, validateFormats: false });

/**
 * The JSON Schema `response_format` constrains the answer to: its own for json_schema, any JSON
 * object for json_object, none for text. A schema is checked against the meta-schema here, before
 * it is queued: node-llama-cpp's grammar builder reads a misspelled type as `null` instead of
 * refusing it, so without this a broken schema would be a 400 on the torch engine and a wrong answer
 * on llama.cpp. What a valid schema asks beyond a grammar engine is that engine's 400.
 */
function schemaOf(format: ChatCompletionsRequest["response_format"]): Record<string, unknown> | undefined {
  if (!format || format.type === "text") return undefined;
  // `additionalProperties: true` spelled out: node-llama-cpp reads a bare {"type": "object"} as `{}` only.
  if (format.type === "json_object") return { type: "object", additionalProperties: true };
  const { $schema: _dialect, ...schema } = format.json_schema.schema; // checked as 2020-12, the engine's dialect
  if (!metaSchema.validateSchema(schema)) {
    const problems = (metaSchema.errors ?? []).slice(0, 3).map((error) => `${error.instancePath || "(root)"} ${error.message}`);
    throw invalidRequest(`response_format.json_schema.schema is not a valid JSON Schema: ${problems.join("; ")}`, "response_format", "bad_schema");
  }
  return format.json_schema.schema;
}

/** What `references` asks for: the last user message is the question. */
function referencesAsked(context: ServerContext, body: ChatCompletionsRequest): Job["references"] {
  if (!body.references) return undefined;
  if (!context.references) {
    throw invalidRequest(
      `this server has no training references: ${context.options.referencesUnavailable ?? "start it with `reviewtune serve --run runs/<id>` (the run's dataset) or `--references <dataset folder>`"}`,
      "references",
      "references_unavailable",
    );
  }
  const question = [...body.messages].reverse().find((message) => message.role === "user");
  if (!question) throw invalidRequest("references need a user message to compare with the training examples", "references");
  const options = body.references === true ? {} : body.references;
  return { query: toChatMessage(question).content, k: options.k ?? 3, task: options.task };
}

function makeJob(
  context: ServerContext,
  kind: Kind,
  body: Pick<ChatCompletionsRequest, "model" | "temperature" | "top_p" | "seed" | "stream" | "stream_options" | "stop" | "presence_penalty" | "frequency_penalty" | "logit_bias">,
  prompts: string[],
  maxTokens: number | null | undefined,
): Job {
  const limit = context.options.maxTokensLimit;
  const tokens = maxTokens ?? Math.min(context.options.defaultMaxTokens, limit);
  if (tokens > limit) throw invalidRequest(`max_tokens ${tokens} is over this server's limit of ${limit}`, "max_tokens", "max_tokens_too_large");
  if (body.logit_bias && Object.keys(body.logit_bias).length > 0) {
    // Its keys are token ids of OpenAI's tokenizers; honouring them against another tokenizer would bias arbitrary tokens.
    throw invalidRequest("logit_bias is not supported: token ids differ between models; use stop, the penalties or response_format instead", "logit_bias", "unsupported_parameter");
  }
  const route = context.registry.route(body.model);
  return {
    kind,
    id: `${kind === "chat" ? "chatcmpl" : "cmpl"}-${randomUUID()}`,
    created: Math.floor(Date.now() / 1000),
    route,
    servedBy: { backend: context.backend.name, adapter: route.adapter?.name ?? null, fallback: route.fallback },
    prompts,
    maxTokens: tokens,
    temperature: body.temperature ?? 0, // greedy unless asked: reproducible answers for evaluation and labeling
    topP: body.top_p ?? 1,
    seed: body.seed ?? 0,
    // An empty stop string would end every answer at once: OpenAI clients mean "no stop" by it.
    stop: (typeof body.stop === "string" ? [body.stop] : (body.stop ?? [])).filter((stop) => stop.length > 0),
    presencePenalty: body.presence_penalty ?? 0,
    frequencyPenalty: body.frequency_penalty ?? 0,
    stream: body.stream ?? false,
    includeUsage: body.stream_options?.include_usage ?? false,
  };
}

/** The headers that mark who answered; a fallback is visible without parsing the body. */
function servedHeaders(job: Job): Record<string, string> {
  return {
    "x-reviewtune-model": job.route.adapter?.name ?? "base",
    ...(job.route.fallback ? { "x-reviewtune-fallback": job.route.fallback.code } : {}),
  };
}

async function run(context: ServerContext, job: Job, request: FastifyRequest, reply: FastifyReply) {
  const controller = new AbortController();
  const onClose = () => {
    if (!reply.raw.writableFinished) controller.abort(new ClientGoneError("the client disconnected"));
  };
  reply.raw.on("close", onClose);
  const timeoutSeconds = context.options.requestTimeoutMs / 1000;
  const timer = setTimeout(() => controller.abort(new RequestTimeoutError(timeoutSeconds)), context.options.requestTimeoutMs);
  const generate = (onToken?: (index: number, text: string) => void) =>
    context.enqueue(async (signal) => {
      // Counted in the queue: the engine's tokenizer answers between generations, and the queue's
      // bound and time limit hold for a flood of huge prompts too.
      const embed = (texts: string[]) => context.embed(texts, signal);
      if (job.ground) {
        const [neighbour] = await nearestNeighbours(job.ground.index, embed, [{ messages: job.ground.messages }]);
        if (signal.aborted) throw signal.reason;
        job.prompts = [context.backend.renderChat(groundMessages(job.ground.messages, neighbour))];
        if (neighbour) job.servedBy.grounding = { similarity: neighbour.similarity, task: neighbour.task, review: neighbour.group, prompt: neighbour.prompt, answer: neighbour.answer };
      }
      await checkContextLength(context, job.prompts, job.maxTokens, job.kind === "chat" ? "messages" : "prompt");
      if (job.references && context.references) {
        // In the queue, like the generation: the engine embeds the question.
        const [found = []] = await context.references.search(embed, [job.references.query], { k: job.references.k, ...(job.references.task ? { task: job.references.task } : {}) });
        if (signal.aborted) throw signal.reason;
        job.servedBy.references = found.map((reference) => ({ similarity: reference.similarity, task: reference.task, review: reference.group, prompt: reference.prompt, answer: reference.answer }));
      }
      const result = await context.backend.generate({
        adapterDir: job.route.adapter?.dir,
        prompts: job.prompts,
        maxNewTokens: job.maxTokens,
        temperature: job.temperature,
        topP: job.topP,
        seed: job.seed,
        jsonSchema: job.jsonSchema,
        stop: job.stop,
        presencePenalty: job.presencePenalty,
        frequencyPenalty: job.frequencyPenalty,
        logprobs: job.logprobs,
        onToken,
        signal,
      });
      countTokens(context, job, result); // computed tokens count, even for a cancelled generation
      // A cancelled generation resolves normally; the reason it was cancelled is the answer.
      if (signal.aborted) throw signal.reason;
      return result;
    }, controller.signal);
  try {
    if (!job.stream) {
      const result = await generate();
      return reply.headers(servedHeaders(job)).send(job.kind === "chat" ? chatCompletion(job, result) : textCompletion(job, result));
    }
    return await stream(context, job, request, reply, generate);
  } finally {
    clearTimeout(timer);
    reply.raw.off("close", onClose);
  }
}

async function stream(
  context: ServerContext,
  job: Job,
  request: FastifyRequest,
  reply: FastifyReply,
  generate: (onToken: (index: number, text: string) => void) => Promise<GenerateResult>,
) {
  reply.hijack(); // from here on we write the response ourselves (headers go out with the first chunk)
  const events = new EventStream(reply.raw, servedHeaders(job));
  const base = { id: job.id, created: job.created, model: job.route.model };
  const chatChunk = (choices: ChatCompletionChunk["choices"], extra: Partial<ChatCompletionChunk> = {}): ChatCompletionChunk => ({
    ...base,
    object: "chat.completion.chunk",
    choices,
    ...extra,
  });
  const textChunk = (choices: Completion["choices"], extra: Partial<Completion> = {}): Completion => ({ ...base, object: "text_completion", choices, ...extra });
  // The role chunk comes first, as OpenAI sends it, but only with the first token: an error before
  // that still gets its real status code.
  let roleSent = false;
  const sent: string[] = [];
  const onToken = (index: number, text: string) => {
    sent[index] = (sent[index] ?? "") + text;
    if (job.kind === "chat") {
      if (!roleSent) {
        roleSent = true;
        events.send(chatChunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null, logprobs: null }], { reviewtune: job.servedBy }));
      }
      events.send(chatChunk([{ index, delta: { content: text }, finish_reason: null, logprobs: null }]));
    } else {
      events.send(textChunk([{ index, text, finish_reason: null, logprobs: null }], events.started ? {} : { reviewtune: job.servedBy }));
    }
  };
  try {
    const result = await generate(onToken);
    // The engine holds back a token that ends in half a UTF-8 character; the final text has it.
    result.outputs.forEach((output, index) => {
      const streamed = sent[index] ?? "";
      if (output.text.length > streamed.length && output.text.startsWith(streamed)) onToken(index, output.text.slice(streamed.length));
    });
    const usage = usageOf(result);
    if (job.kind === "chat") {
      if (!roleSent) events.send(chatChunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null, logprobs: null }], { reviewtune: job.servedBy }));
      // Log-probabilities come whole with the last chunk: clients join each chunk's logprobs.content.
      events.send(chatChunk([{ index: 0, delta: {}, finish_reason: finishReason(result, 0), logprobs: chatLogprobs(job, result, 0) }], { reviewtune: job.servedBy }));
      if (job.includeUsage) events.send(chatChunk([], { usage }));
    } else {
      events.send(textChunk(result.outputs.map((_, index) => ({ index, text: "", finish_reason: finishReason(result, index), logprobs: textLogprobs(job, result, index) })), { reviewtune: job.servedBy }));
      if (job.includeUsage) events.send(textChunk([], { usage }));
    }
    events.done();
  } catch (error) {
    if (error instanceof ClientGoneError) return;
    const { status, headers, body } = toHttpError(error, (unexpected) => request.log.error({ err: unexpected }, "stream failed"));
    if (!events.started) {
      reply.raw.writeHead(status, { ...headers, "content-type": "application/json; charset=utf-8" });
      reply.raw.end(JSON.stringify(body));
      return;
    }
    // Mid-stream the status is gone: OpenAI clients raise on an `error` event.
    events.send(body);
    events.done();
  }
}

function finishReason(result: GenerateResult, index: number): "stop" | "length" {
  return result.outputs[index]?.finish_reason === "stop" ? "stop" : "length";
}

function usageOf(result: GenerateResult) {
  const prompt = result.outputs.reduce((sum, output) => sum + (output.prompt_tokens ?? 0), 0);
  const completion = result.outputs.reduce((sum, output) => sum + output.new_tokens, 0);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

function countTokens(context: ServerContext, job: Job, result: GenerateResult): void {
  const usage = usageOf(result);
  context.metrics.tokens.inc({ model: job.route.model, kind: "prompt" }, usage.prompt_tokens);
  context.metrics.tokens.inc({ model: job.route.model, kind: "completion" }, usage.completion_tokens);
}

function chatCompletion(job: Job, result: GenerateResult): ChatCompletion {
  return {
    id: job.id,
    object: "chat.completion",
    created: job.created,
    model: job.route.model,
    choices: [{ index: 0, message: { role: "assistant", content: result.outputs[0]?.text ?? "" }, finish_reason: finishReason(result, 0), logprobs: chatLogprobs(job, result, 0) }],
    usage: usageOf(result),
    reviewtune: job.servedBy,
  };
}

function textCompletion(job: Job, result: GenerateResult): Completion {
  return {
    id: job.id,
    object: "text_completion",
    created: job.created,
    model: job.route.model,
    choices: result.outputs.map((output, index) => ({ index, text: output.text, finish_reason: finishReason(result, index), logprobs: textLogprobs(job, result, index) })),
    usage: usageOf(result),
    reviewtune: job.servedBy,
  };
}

const bytesOf = (token: string) => [...Buffer.from(token, "utf8")];

/** The backend's per-token log-probabilities in OpenAI's chat shape; null unless asked for. */
function chatLogprobs(job: Job, result: GenerateResult, index: number): ChatLogprobs | null {
  if (job.logprobs === undefined) return null;
  const entries: TokenLogprob[] = result.outputs[index]?.logprobs ?? [];
  return {
    content: entries.map((entry) => ({
      token: entry.token,
      logprob: entry.logprob,
      bytes: bytesOf(entry.token),
      top_logprobs: entry.top.map((alternative) => ({ token: alternative.token, logprob: alternative.logprob, bytes: bytesOf(alternative.token) })),
    })),
    refusal: null,
  };
}

/** The same in the legacy completions shape (tokens, their log-probabilities, alternatives by token, offsets). */
function textLogprobs(job: Job, result: GenerateResult, index: number): CompletionLogprobs | null {
  if (job.logprobs === undefined) return null;
  const entries: TokenLogprob[] = result.outputs[index]?.logprobs ?? [];
  let offset = 0;
  const offsets = entries.map((entry) => {
    const at = offset;
    offset += entry.token.length;
    return at;
  });
  return {
    tokens: entries.map((entry) => entry.token),
    token_logprobs: entries.map((entry) => entry.logprob),
    top_logprobs: entries.map((entry) => Object.fromEntries(entry.top.map((alternative) => [alternative.token, alternative.logprob]))),
    text_offset: offsets,
  };
}
