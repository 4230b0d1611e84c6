// POST /v1/embeddings: the embedded all-MiniLM-L6-v2 (384 dimensions, L2-normalized), through the
// same queue as generation (one engine does both), as floats or base64 float32 like OpenAI.
import type { FastifyInstance } from "fastify";
import { EMBEDDING_MODEL_ID, EmbeddingsRequestSchema, type EmbeddingList } from "@reviewtune/contracts";
import { ApiError, parseBody } from "../http/api-error.js";
import { withRequestSignal } from "../http/request-signal.js";
import type { ServerContext } from "../server-context.js";

export function registerEmbeddingRoutes(app: FastifyInstance, context: ServerContext): void {
  app.post("/v1/embeddings", async (request, reply) => {
    const body = parseBody(EmbeddingsRequestSchema, request.body);
    if (body.model !== EMBEDDING_MODEL_ID) {
      throw new ApiError(404, "invalid_request_error", "model_not_found", `embedding model "${body.model}" does not exist; this server has: ${EMBEDDING_MODEL_ID}`, "model");
    }
    const texts = typeof body.input === "string" ? [body.input] : body.input;
    const result = await withRequestSignal(reply, context.options.requestTimeoutMs, (requestSignal) =>
      context.enqueue(async (signal) => {
        const embedded = await context.backend.embed(texts, signal);
        signal.throwIfAborted();
        return embedded;
      }, requestSignal),
    );
    context.metrics.tokens.inc({ model: EMBEDDING_MODEL_ID, kind: "prompt" }, result.tokens);
    const base64 = body.encoding_format === "base64";
    const list: EmbeddingList = {
      object: "list",
      data: result.embeddings.map((vector, index) => ({
        object: "embedding",
        index,
        embedding: base64 ? Buffer.from(new Float32Array(vector).buffer).toString("base64") : vector,
      })),
      model: EMBEDDING_MODEL_ID,
      usage: { prompt_tokens: result.tokens, total_tokens: result.tokens },
    };
    return list;
  });
}
