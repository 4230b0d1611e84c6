// Liveness (/health: the process answers), readiness (/ready: the model is loaded and the server is
// not restarting or draining) and Prometheus metrics.
import type { FastifyInstance } from "fastify";
import type { ServerContext } from "../server-context.js";

export function registerHealthRoutes(app: FastifyInstance, context: ServerContext): void {
  app.get("/health", async () => ({ status: "ok" }));
  app.get("/ready", async (_request, reply) => {
    const state = context.isDraining() ? "draining" : context.backend.state;
    if (state === "ready") return { status: "ok" };
    return reply.code(503).header("retry-after", "2").send({ status: state === "closed" ? "draining" : state });
  });
  app.get("/metrics", async (_request, reply) => {
    const text = await context.metrics.registry.metrics();
    return reply.type(context.metrics.registry.contentType).send(text);
  });
}
