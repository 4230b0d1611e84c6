// Loading and unloading adapters at run time. A request names a run by id, looked up under the
// server's runs folder: no request can make the server read a path of its choosing.
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { AdminLoadAdapterRequestSchema, ResourceNameSchema } from "@reviewtune/contracts";
import { ConfigError, groundingFolder, readRunRecord, runAdapterDir, type RunRecord } from "@reviewtune/core";
import { ApiError, parseBody } from "../http/api-error.js";
import type { ServerContext } from "../server-context.js";

export function registerAdminRoutes(app: FastifyInstance, context: ServerContext): void {
  app.post("/admin/adapters", async (request, reply) => {
    const body = parseBody(AdminLoadAdapterRequestSchema, request.body);
    const runsDir = context.options.runsDir;
    if (!runsDir) throw new ApiError(404, "invalid_request_error", "no_runs_dir", "this server was started without a runs folder (--runs-dir), so it cannot load adapters by run id");
    let adapterDir: string;
    let grounding: string | undefined;
    try {
      const run = readRunRecord(join(runsDir, body.run));
      if (!run.result?.adapter_dir) throw new ApiError(400, "invalid_request_error", "run_has_no_adapter", `run ${body.run} has no adapter (status ${run.status})`, "run");
      adapterDir = runAdapterDir(join(runsDir, body.run), run.result.adapter_dir);
      grounding = groundingDataset(run);
    } catch (error) {
      if (error instanceof ApiError) throw error;
      request.log.warn({ err: error }, "run lookup failed");
      throw new ApiError(404, "invalid_request_error", "run_not_found", `run ${body.run} was not found (or its run.json is unreadable) in the server's runs folder`, "run");
    }
    // Indexed before the adapter is served: it is never answered without its grounding.
    if (grounding) await context.addGrounding(body.name, grounding);
    else context.grounding.delete(body.name);
    const entry = await context.registry.load(body.name, adapterDir);
    return reply.code(entry.status === "loaded" ? 201 : 200).send({ name: entry.name, status: entry.status, error: entry.error, max_abs_logit_diff: entry.probe?.max_abs_logit_diff ?? null });
  });
  app.delete<{ Params: { name: string } }>("/admin/adapters/:name", async (request) => {
    const name = ResourceNameSchema.safeParse(request.params.name);
    if (!name.success || !(await context.registry.unload(name.data))) {
      throw new ApiError(404, "invalid_request_error", "model_not_found", `no adapter named "${request.params.name}"`, "name");
    }
    context.grounding.delete(name.data);
    return { name: name.data, unloaded: true };
  });
}

/**
 * The dataset folder a run's prompts are grounded on (data.grounding: nearest), or undefined; a 400
 * naming the folder when it is gone, since the adapter would be asked differently from how it was trained.
 */
export function groundingDataset(run: RunRecord): string | undefined {
  try {
    return groundingFolder(run);
  } catch (error) {
    if (error instanceof ConfigError) throw new ApiError(400, "invalid_request_error", "grounding_data_missing", `${error.message}; ${error.hint ?? ""}`.trim(), "run");
    throw error;
  }
}
