// `reviewtune studio`'s server: one fastify app for the /v1 API (createServer from @reviewtune/server,
// with references), the studio's JSON API under /studio/api, and the UI at /. The studio keeps
// serving its pages when the engine cannot start; the status says why and what to do.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { StudioStatus } from "@reviewtune/contracts";
import { isEnvironmentReady, listRunIds } from "@reviewtune/core";
import { TorchBackend, type GenerationBackend } from "@reviewtune/core";
import { baseModelId, createServer, type ReviewtuneServer } from "@reviewtune/server";
import type { FastifyInstance } from "fastify";
import { DatasetStore } from "./datasets/dataset-store.js";
import { studioErrorHandler, StudioApiError } from "./http/studio-error.js";
import { registerCompareRoutes } from "./routes/compare.js";
import { registerDatasetRoutes } from "./routes/datasets.js";
import { registerEvaluateRoutes } from "./routes/evaluate.js";
import { registerTrainingRoutes } from "./routes/training.js";
import { Trainer } from "./training/trainer.js";
import { registerUiAssets } from "./ui-assets.js";
import type { StudioContext } from "./context.js";

export interface StudioOptions {
  runsDir: string;
  /** Dataset folders, or folders of them. */
  dataDirs: string[];
  /** The base model the compare page asks (runs trained on it load as adapters). */
  model: string;
  /** Default: the torch engine on `model`. */
  backend?: GenerationBackend;
  /** The default engine's torch threads (the compare page's answers); default: every core. */
  threads?: number | undefined;
  /** The dataset whose training examples answer `references: true`; default: the first dataset found; null: none. */
  references?: string | null;
  /** The `reviewtune` bin trainings run (default: this checkout's). */
  cliBin?: string;
  /** Extra environment for training processes. */
  trainEnv?: Record<string, string>;
  logger?: boolean | Record<string, unknown>;
  /** Names and origins accepted besides localhost and the studio's own (every other Host or Origin: 403, see host-check.ts). */
  allowedHosts?: string[];
  allowedOrigins?: string[];
}

export interface Studio {
  app: FastifyInstance;
  server: ReviewtuneServer;
  context: StudioContext;
  /** Starts the engine and indexes the references; a failure is kept as the status's engine problem, not thrown. */
  prepare(): Promise<void>;
  close(): Promise<void>;
}

const ENGINE_FIX = "run `npm run setup` (or `reviewtune setup`) to install the engine, then restart `reviewtune studio`";

export async function createStudio(options: StudioOptions): Promise<Studio> {
  const runsDir = resolve(options.runsDir);
  const datasets = new DatasetStore(options.dataDirs);
  const references =
    options.references === null ? null : options.references ? resolve(options.references) : ([...datasets.folders().values()].find((folder) => existsSync(join(folder, "train.jsonl"))) ?? null);
  const engineReady = options.backend !== undefined || isEnvironmentReady();
  const backend = options.backend ?? new TorchBackend({ model: { source: options.model, allow_pickle: false }, threads: options.threads, log: (level, message) => console.error(`[studio] ${level}: ${message}`) });
  const server = createServer({
    backend,
    baseId: baseModelId(options.model),
    references: references ? { dataset: references } : undefined,
    runsDir,
    logger: options.logger ?? false,
    allowedHosts: options.allowedHosts ?? [],
    allowedOrigins: options.allowedOrigins ?? [],
  });
  const context: StudioContext = {
    runsDir,
    model: options.model,
    datasets,
    trainer: new Trainer({ runsDir, ...(options.cliBin ? { cliBin: options.cliBin } : {}), ...(options.trainEnv ? { env: options.trainEnv } : {}) }),
    server,
    engineProblem: engineReady ? null : { problem: "the engine (Python: torch, transformers, peft) is not installed", fix: ENGINE_FIX },
    references,
  };
  const { app } = server;
  await app.register(
    async (scope) => {
      scope.setErrorHandler(studioErrorHandler);
      scope.setNotFoundHandler((request) => {
        throw new StudioApiError(404, "not_found", `no studio route ${request.method} ${request.url.split("?")[0]}`, { hint: "see packages/contracts/src/studio-api.ts for the routes" });
      });
      scope.get("/status", async (): Promise<StudioStatus> => ({
        version: "0.1.0",
        model: context.model,
        runs_dir: runsDir,
        data_dirs: options.dataDirs.map((dir) => resolve(dir)),
        engine: {
          ready: !context.engineProblem && backend.state === "ready",
          problem: context.engineProblem?.problem ?? (backend.state === "ready" ? null : backend.state === "failed" ? "the engine stopped and could not be started again" : `the engine is ${backend.state}`),
          // No fix while it is starting or restarting: that is not a problem, only a wait.
          fix: context.engineProblem?.fix ?? (backend.state === "failed" ? "restart `reviewtune studio`; its terminal shows why the engine stopped" : null),
        },
        references,
        runs: listRunIds(runsDir).length,
        datasets: datasets.folders().size,
      }));
      registerDatasetRoutes(scope, context);
      registerTrainingRoutes(scope, context);
      registerCompareRoutes(scope, context);
      registerEvaluateRoutes(scope, context);
    },
    { prefix: "/studio/api" },
  );
  await registerUiAssets(app);
  let started = false;
  return {
    app,
    server,
    context,
    async prepare() {
      if (context.engineProblem) return;
      started = true;
      try {
        await server.prepare();
      } catch (error) {
        const message = (error as Error).message.split("\n")[0] ?? "unknown error";
        context.engineProblem = { problem: `the engine could not start ${options.model}: ${message}`, fix: `check the model (--model), or ${ENGINE_FIX}` };
        console.error(`[studio] ${context.engineProblem.problem}`);
      }
    },
    async close() {
      await context.trainer.close();
      if (started) await server.close(); // drains queued requests, then stops the engine
      else await app.close();
    },
  };
}
