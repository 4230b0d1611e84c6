// `reviewtune serve`'s HTTP server: fastify with an OpenAI-compatible /v1 API in front of a generation
// backend, a bounded queue, adapters with fallback, Prometheus metrics, one error handler, and a
// graceful close that lets queued requests finish. Build it with createServer, test it with inject.
import { timingSafeEqual } from "node:crypto";
import cors from "@fastify/cors";
import Fastify, { type FastifyInstance } from "fastify";
import PQueue from "p-queue";
import { AdapterRegistry } from "./adapters/adapter-registry.js";
import { ReferenceIndex } from "@reviewtune/core";
import type { ServerContext, ServerOptions } from "./server-context.js";
import { ApiError, ClientGoneError, QueueFullError, ServiceUnavailableError, toHttpError } from "./http/api-error.js";
import { hostCheckHook } from "./http/host-check.js";
import { createMetrics } from "./metrics/metrics.js";
import { registerPropsRoutes } from "./routes/props.js";
import { registerAdminRoutes } from "./routes/admin.js";
import { registerAnalyzeRoutes } from "./routes/analyze.js";
import { registerClassifyRoutes } from "./routes/classify.js";
import { registerCompletionRoutes } from "./routes/completions.js";
import { registerEmbeddingRoutes } from "./routes/embeddings.js";
import { registerHealthRoutes } from "./routes/health.js";
import { registerModelRoutes } from "./routes/models.js";

export type { ServerContext, ServerOptions } from "./server-context.js";

export interface ReviewtuneServer {
  app: FastifyInstance;
  context: ServerContext;
  /** Starts the backend, loads the start-up adapters (each probed), brings the reference index up to date; call before listen. `say`: progress a person waits on (embedding a dataset the first time takes minutes). */
  prepare(options?: { say?: (line: string) => void }): Promise<void>;
  /** Stops taking requests, lets queued and running ones finish, then stops the backend. */
  close(): Promise<void>;
}

const OPEN_ROUTES = new Set(["/health", "/ready"]);

export function createServer(options: ServerOptions): ReviewtuneServer {
  const resolved = {
    queueCapacity: 16,
    requestTimeoutMs: 120_000,
    maxTokensLimit: 1024,
    defaultMaxTokens: 256,
    ...options,
  };
  const queue = new PQueue({ concurrency: options.backend.concurrency ?? 1 });
  const metrics = createMetrics({ waiting: () => queue.size, running: () => queue.pending }, () => options.backend.pid);
  const app = Fastify({ logger: options.logger ?? false, bodyLimit: options.bodyLimitBytes ?? 1024 * 1024, return503OnClosing: true });
  // JSON only: fastify's default text/plain parser would turn a wrong content type into a confusing 400.
  app.removeContentTypeParser("text/plain");
  // Clients (and some HTTP libraries) send `content-type: application/json` on every request, a body-less
  // DELETE included; fastify's JSON parser would refuse that empty body with a 400.
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    if (body === "" && request.method === "DELETE") return done(null, undefined);
    parseJson(request, body as string, done);
  });
  const log = (level: "info" | "warn" | "error", message: string) => app.log[level](message);
  options.backend.onRestart(async () => metrics.engineRestarts.inc());
  const registry = new AdapterRegistry(options.baseId, options.backend, metrics, log);
  let draining = false;

  const context: ServerContext = {
    options: resolved,
    backend: options.backend,
    registry,
    metrics,
    queue,
    isDraining: () => draining,
    grounding: new Map(),
    async addGrounding(adapter, dataset) {
      const index = await ReferenceIndex.open(dataset);
      const update = await index.update((texts) => context.embed(texts, new AbortController().signal));
      app.log.info(`grounding for ${adapter ?? "the base model"}: ${update.total} training examples of ${dataset} (${update.added} embedded now)`);
      context.grounding.set(adapter, index);
    },
    embed: async (texts, signal) => (await (options.embed ?? ((batch: string[], stop: AbortSignal) => options.backend.embed(batch, stop)))(texts, signal)).embeddings,
    async enqueue(task, signal) {
      if (draining) throw new ServiceUnavailableError("shutting_down", "the server is shutting down", 5);
      if (queue.size >= resolved.queueCapacity) {
        metrics.rejected.inc({ reason: "queue_full" });
        throw new QueueFullError(resolved.queueCapacity, Math.max(1, Math.ceil(queue.size / 2)));
      }
      // Aborting removes a waiting request from the queue; a running one keeps its slot until the
      // backend has really stopped (the task sees the abort and cancels the generation).
      const waiting = new AbortController();
      let started = false;
      const onAbort = () => !started && waiting.abort(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        return (await queue.add(
          async () => {
            started = true;
            await options.backend.whenReady().catch((error: unknown) => {
              throw new ServiceUnavailableError("engine_unavailable", `the engine could not be started: ${(error as Error).message.split("\n")[0]}`, 30);
            });
            signal.throwIfAborted();
            try {
              return await task(signal);
            } catch (error) {
              // A request aborted (time limit, client gone) fails for that reason, whatever the
              // backend threw while it was being stopped.
              if (signal.aborted) throw signal.reason;
              throw error;
            }
          },
          { signal: waiting.signal },
        )) as Awaited<ReturnType<typeof task>>;
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
    },
  };

  app.addHook(
    "onRequest",
    hostCheckHook({
      allowedHosts: options.allowedHosts,
      allowedOrigins: [...(options.allowedOrigins ?? []), ...(options.corsOrigins ?? [])],
      letOriginIn: (origin) => `start the server with --cors-origin ${origin} to let that page call it (--allow-origin ${origin} when a reverse proxy serves the page and this API as one origin)`,
    }),
  );
  // After the host check (fastify runs hooks in the order they are added, plugins' included): the
  // CORS plugin answers a preflight in its own hook, and before it a page of any origin got a 204
  // for its preflight (without CORS headers) where its request itself got the 403 naming the flag.
  // The headers a preflight asks for are allowed as asked (the plugin's default), for the allowed
  // origins only: OpenAI's JavaScript client sends its own (x-stainless-os, x-stainless-retry-count...)
  // with every request, and a fixed list of authorization and content-type failed its every call
  // from a browser ("Failed to fetch"). The API key still guards every route but /health.
  if (options.corsOrigins && options.corsOrigins.length > 0) {
    void app.register(cors, { origin: options.corsOrigins, methods: ["GET", "POST", "DELETE"] });
  }
  const expectedKey = options.apiKey ? Buffer.from(options.apiKey) : undefined;
  app.addHook("onRequest", async (request, reply) => {
    // Latency of everything, streams included: observed when the response is done.
    const started = process.hrtime.bigint();
    let observed = false;
    // A connection closed before the response finished is a client that left (nginx's 499), whatever
    // status the response had set (200 for a stream already under way): counted as such, not as an answer.
    const observe = (finished: boolean) => {
      if (observed) return;
      observed = true;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const status = finished ? String(reply.raw.statusCode) : "499";
      metrics.requestDuration.observe({ route: request.routeOptions.url ?? "unmatched", status }, seconds);
    };
    reply.raw.once("finish", () => observe(true));
    reply.raw.once("close", () => observe(reply.raw.writableFinished));
    if (!expectedKey || OPEN_ROUTES.has(request.url.split("?")[0]!)) return;
    // The scheme is case-insensitive (RFC 9110 section 11.1): "bearer KEY" is as good as "Bearer KEY".
    const given = Buffer.from(/^bearer +(.*)$/i.exec(request.headers.authorization ?? "")?.[1]?.trim() ?? "");
    if (given.length !== expectedKey.length || !timingSafeEqual(given, expectedKey)) {
      throw new ApiError(401, "invalid_request_error", "invalid_api_key", "missing or wrong API key: send Authorization: Bearer <key>");
    }
  });

  app.setErrorHandler((error, request, reply) => {
    if (error instanceof ClientGoneError) return reply.code(499).send(); // nobody is listening
    const { status, headers, body } = toHttpError(error, (unexpected) => request.log.error({ err: unexpected }, "request failed"));
    return reply.code(status).headers(headers).send(body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: { message: `no route ${request.method} ${request.url.split("?")[0]}`, type: "invalid_request_error", param: null, code: "not_found" } }),
  );

  registerHealthRoutes(app, context);
  registerModelRoutes(app, context);
  registerCompletionRoutes(app, context);
  registerAnalyzeRoutes(app, context);
  registerEmbeddingRoutes(app, context);
  registerClassifyRoutes(app, context);
  registerAdminRoutes(app, context);
  registerPropsRoutes(app, context);

  return {
    app,
    context,
    async prepare(prepareOptions: { say?: (line: string) => void } = {}) {
      await options.backend.start();
      for (const adapter of options.adapters ?? []) await registry.load(adapter.name, adapter.dir);
      if (options.references) {
        const index = await ReferenceIndex.open(options.references.dataset);
        let said = performance.now();
        const update = await index.update((texts) => context.embed(texts, new AbortController().signal), {
          onProgress: (done, todo) => {
            if (done < todo && performance.now() - said < 10_000) return;
            said = performance.now();
            prepareOptions.say?.(`training references: ${done.toLocaleString("en-US")} of ${todo.toLocaleString("en-US")} new examples embedded`);
          },
        });
        app.log.info(`training references: ${update.total} examples of ${options.references.dataset} (${update.added} embedded now)`);
        context.references = index;
      }
      for (const { adapter, dataset } of options.grounded ?? []) await context.addGrounding(adapter, dataset);
    },
    async close() {
      draining = true;
      await queue.onIdle();
      await app.close();
      await options.backend.close();
    },
  };
}
