// /studio/api presets, estimate, train, runs: start a run (the real CLI in a child process), follow
// it over SSE from its folder (metrics.jsonl + run.json), stop and resume it.
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { StudioTrainRequestSchema, type PresetSummary, type RunSummary, type StudioTrainRequest, type TrainEstimate } from "@reviewtune/contracts";
import { DEFAULT_MODEL } from "@reviewtune/contracts";
import { ConfigError, isRunFolder, listPresets, listRunIds, readRunRecord, resolveConfig, runPath } from "@reviewtune/core";
import { parseInput, StudioApiError } from "../http/studio-error.js";
import { modelFolder, readModelConfig } from "../model-files.js";
import { readPoints, summarizeRun } from "../runs/run-view.js";
import { estimateTraining } from "../training/estimate.js";
import { trainArguments } from "../training/trainer.js";
import { runFolder, type StudioContext } from "../context.js";

export function presetSummaries(): PresetSummary[] {
  return listPresets().flatMap((name) => {
    try {
      const { config } = resolveConfig({ preset: name });
      if (config.task === "classify") return []; // the studio trains generative runs; heads train from the CLI
      const { training } = config;
      return [{
        name,
        description: config.description ?? "",
        defaults: {
          model: config.model.source,
          method: config.method,
          ...(training.max_steps ? { max_steps: training.max_steps } : { epochs: training.epochs }),
          learning_rate: training.learning_rate,
          batch_size: training.batch_size,
          max_length: training.max_length,
          lora_r: config.lora.r,
          activation_checkpointing: config.training.activation_checkpointing,
        },
      }];
    } catch {
      return [];
    }
  });
}

/**
 * The models the studio trains: the embedded default, the presets' models, the studio's own --model,
 * and the models earlier runs trained. Anything else is refused: a request naming any folder or hub id
 * would have this machine read arbitrary paths or download a model for whoever sends it.
 */
export function knownModels(context: StudioContext): string[] {
  const known = new Set([DEFAULT_MODEL, context.model, ...presetSummaries().map((preset) => preset.defaults.model)]);
  for (const id of listRunIds(context.runsDir)) {
    try {
      known.add(readRunRecord(join(context.runsDir, id)).config.model.source);
    } catch {
      // an unreadable run.json names no model
    }
  }
  return [...known];
}

function checkKnownModel(context: StudioContext, model: string): void {
  const known = knownModels(context);
  if (known.includes(model)) return;
  throw new StudioApiError(400, "model_not_allowed", `the studio trains only models it knows (${known.join(", ")}), not "${model}": a web request must not make it read another folder or download a model`, {
    hint: "pick one of those, or restart `reviewtune studio --model <source>` (or train from the terminal with `reviewtune train --model <source>`)",
    fields: { model: "not a model this studio knows" },
  });
}

/** The estimate for a request: the model's config.json, the preset's other settings, the dataset's size. */
export function estimateFor(context: StudioContext, request: StudioTrainRequest): TrainEstimate {
  checkKnownModel(context, request.model);
  const folder = modelFolder(request.model);
  if (!folder) {
    throw new StudioApiError(400, "model_not_local", `no local config.json for ${request.model}, so its size is unknown`, {
      hint: "pass a local model folder, or run `reviewtune setup` once so the embedded model is prepared",
      fields: { model: "no local folder with config.json" },
    });
  }
  const { config } = resolveConfig({ preset: request.preset });
  const trainRows = context.datasets.examples(request.dataset, "train").length;
  const card = context.datasets.card(request.dataset);
  // Tokens per example: the card's count with a tokenizer when the build had one, else ~1.4 tokens a word plus the template's ~20.
  const meanTokens = card?.tokens?.total.mean ?? (card?.example_words.mean ? card.example_words.mean * 1.4 + 20 : null);
  const measured = listRunIds(context.runsDir)
    .map((id) => {
      try {
        return readRunRecord(join(context.runsDir, id));
      } catch {
        return null;
      }
    })
    .find((record) => record?.result?.tokens_per_second && record.config.model.source === request.model && record.config.method === request.method && record.status === "completed");
  const input = {
    request,
    model: readModelConfig(folder),
    targetModules: config.lora.target_modules,
    gradientAccumulation: config.training.gradient_accumulation,
    trainRows,
    meanTokens,
    meanAnswerTokens: card?.tokens?.completion.mean ?? null,
    measured: measured ? { tokensPerSecond: measured.result!.tokens_per_second, run: measured.id } : undefined,
  };
  return { ...estimateTraining(input), table: estimateTable(input) };
}

/** Recipe R4's table: samples (R4's demo 3,000 and this dataset's own count among them) x epochs x batch size, from the same estimate. */
function estimateTable(input: Parameters<typeof estimateTraining>[0]): NonNullable<TrainEstimate["table"]> {
  const samples = [...new Set([1_000, 3_000, 10_000, input.trainRows].filter((count) => count > 0))].sort((a, b) => a - b);
  return samples.flatMap((count) =>
    [1, 2, 3].flatMap((epochs) =>
      [2, 4, 8].map((batch) => {
        const estimate = estimateTraining({ ...input, trainRows: count, request: { ...input.request, epochs, batch_size: batch, max_steps: undefined } });
        return { samples: count, epochs, batch_size: batch, steps: estimate.steps, seconds: estimate.seconds };
      }),
    ),
  );
}

export function registerTrainingRoutes(app: FastifyInstance, context: StudioContext): void {
  const summary = (id: string): RunSummary => {
    const folder = runFolder(context, id);
    if (!isRunFolder(folder)) throw new StudioApiError(404, "not_found", `run ${id} was not found in ${context.runsDir}`, { hint: "pick a run from the list, or start one on the Train page" });
    return summarizeRun(folder, { active: !!context.trainer.attached(id), logTail: () => context.trainer.logTail(id) });
  };

  app.get("/presets", async () => presetSummaries());
  app.post("/estimate", async (request) => estimateFor(context, parseInput(StudioTrainRequestSchema, request.body)));

  app.post("/train", async (request, reply) => {
    const body = parseInput(StudioTrainRequestSchema, request.body);
    if (context.engineProblem) throw new StudioApiError(503, "engine_not_ready", context.engineProblem.problem, { hint: context.engineProblem.fix });
    if (!listPresets().includes(body.preset)) throw new StudioApiError(400, "invalid_request", `unknown preset "${body.preset}"`, { fields: { preset: "unknown preset" }, hint: `choose one of: ${listPresets().join(", ")}` });
    checkKnownModel(context, body.model); // before estimateFor, whose errors do not stop a training
    const folder = context.datasets.folder(body.dataset);
    let estimate: TrainEstimate | null = null;
    try {
      estimate = estimateFor(context, body);
    } catch (error) {
      if (!(error instanceof StudioApiError) && !(error instanceof ConfigError)) throw error; // no estimate for a hub model: train anyway
    }
    const id = await context.trainer.start(trainArguments(body, folder, context.runsDir), estimate);
    return reply.code(201).send(summary(id));
  });

  app.get("/runs", async () => listRunIds(context.runsDir).flatMap((id) => {
    try {
      return [summary(id)];
    } catch {
      return []; // a folder with an unreadable run.json is not a run to list
    }
  }));
  app.get<{ Params: { id: string } }>("/runs/:id", async (request) => summary(request.params.id));

  app.post<{ Params: { id: string } }>("/runs/:id/stop", async (request) => {
    summary(request.params.id);
    context.trainer.stop(request.params.id);
    return summary(request.params.id);
  });

  app.post<{ Params: { id: string } }>("/runs/:id/resume", async (request) => {
    const current = summary(request.params.id);
    if (current.active) throw new StudioApiError(409, "already_running", `run ${current.id} is already training`, { hint: "wait for it, or stop it first" });
    if (current.status === "completed" || current.status === "early_stopped") throw new StudioApiError(409, "already_finished", `run ${current.id} already ${current.status}`, { hint: "start a new run on the Train page instead" });
    if (context.engineProblem) throw new StudioApiError(503, "engine_not_ready", context.engineProblem.problem, { hint: context.engineProblem.fix });
    context.trainer.resume(current.id);
    return { ...summary(request.params.id), active: true };
  });

  // Server-sent events: every point so far, then new ones as metrics.jsonl grows, the run's summary
  // when it changes, and `end` once the run has stopped and no process of ours is attached.
  app.get<{ Params: { id: string } }>("/runs/:id/events", async (request, reply) => {
    const id = request.params.id;
    const folder = runFolder(context, id);
    let last = summary(id);
    reply.hijack();
    const response = reply.raw;
    response.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive" });
    const send = (event: string, data: unknown) => response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    let offset = 0;
    let closed = false;
    let metricsSize = -1;
    const tick = () => {
      if (closed) return;
      try {
        const size = existsSync(runPath(folder, "metrics")) ? statSync(runPath(folder, "metrics")).size : 0;
        if (size !== metricsSize) {
          metricsSize = size;
          const read = readPoints(folder, offset);
          offset = read.next;
          for (const point of read.points) send("point", point);
        }
        const now = summary(id);
        if (JSON.stringify(now) !== JSON.stringify(last)) send("run", now);
        last = now;
        if (now.status !== "running" && !now.active) {
          send("end", now);
          response.end();
          closed = true;
          return;
        }
      } catch (error) {
        request.log.warn({ err: error }, "run stream");
      }
      setTimeout(tick, 500);
    };
    send("run", last);
    response.on("close", () => (closed = true));
    tick();
  });
}
