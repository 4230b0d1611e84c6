// POST /v1/classify: labels and probabilities from the classification runs this server was started
// with (`reviewtune serve --run runs/<classification run>`), through the same queue as generation.
import type { FastifyInstance } from "fastify";
import { ClassifyBodySchema, type ClassificationList } from "@reviewtune/contracts";
import { ApiError, parseBody } from "../http/api-error.js";
import { withRequestSignal } from "../http/request-signal.js";
import type { ServerContext } from "../server-context.js";

export function registerClassifyRoutes(app: FastifyInstance, context: ServerContext): void {
  app.post("/v1/classify", async (request, reply) => {
    const body = parseBody(ClassifyBodySchema, request.body);
    const classifiers = context.options.classifiers ?? [];
    const classifier = classifiers.find((entry) => entry.name === body.model);
    if (!classifier) {
      const known = classifiers.map((entry) => entry.name).join(", ");
      throw new ApiError(404, "invalid_request_error", "model_not_found", `classifier "${body.model}" does not exist; ${known ? `this server has: ${known}` : "this server was started without a classification run (reviewtune serve --run runs/<id of a --task classify run>)"}`, "model");
    }
    const { backend } = context;
    if (!backend.classify) throw new ApiError(400, "invalid_request_error", "unsupported_backend", `the ${backend.name} backend cannot classify; serve with --backend torch`, "model");
    const texts = typeof body.input === "string" ? [body.input] : body.input;
    const result = await withRequestSignal(reply, context.options.requestTimeoutMs, (signal) =>
      context.enqueue((queued) => backend.classify!(classifier.choice, texts, queued), signal),
    );
    const list: ClassificationList = {
      object: "list",
      model: classifier.name,
      labels: result.labels,
      data: result.outputs.map((output, index) => ({ object: "classification", index, label: output.label, probabilities: output.probabilities })),
    };
    return list;
  });
}
