// GET /v1/models: the base model and every adapter, with each adapter's state and probe result.
import type { FastifyInstance } from "fastify";
import { EMBEDDING_MODEL_ID, type ModelList } from "@reviewtune/contracts";
import type { ServerContext } from "../server-context.js";
import { ApiError } from "../http/api-error.js";

export function registerModelRoutes(app: FastifyInstance, context: ServerContext): void {
  const list = (): ModelList => ({
    object: "list",
    data: [
      {
        id: context.registry.baseId,
        object: "model",
        created: context.registry.created,
        owned_by: "reviewtune",
        reviewtune: { kind: "base", status: "loaded", error: null, max_abs_logit_diff: null },
      },
      // Only where /v1/embeddings can answer: the llama.cpp backend has no embedding model.
      ...(context.backend.canEmbed === false
        ? []
        : [
            {
              id: EMBEDDING_MODEL_ID,
              object: "model" as const,
              created: context.registry.created,
              owned_by: "reviewtune",
              reviewtune: { kind: "embedding" as const, status: "loaded" as const, error: null, max_abs_logit_diff: null },
            },
          ]),
      ...context.registry.list().map((entry) => ({
        id: entry.name,
        object: "model" as const,
        created: entry.created,
        owned_by: "reviewtune",
        reviewtune: { kind: "adapter" as const, status: entry.status, error: entry.error, max_abs_logit_diff: entry.probe?.max_abs_logit_diff ?? null },
      })),
    ],
  });
  app.get("/v1/models", async () => list());
  app.get<{ Params: { id: string } }>("/v1/models/:id", async (request) => {
    const model = list().data.find((entry) => entry.id === request.params.id);
    if (!model) throw new ApiError(404, "invalid_request_error", "model_not_found", `model "${request.params.id}" does not exist`, "model");
    return model;
  });
}
