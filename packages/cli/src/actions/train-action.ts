// `reviewtune train`: resolve the config, then train (or resume) with a live progress bar.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  BUILTIN_DEMO,
  applyMix,
  CancelledError,
  DataError,
  DEMO_EXAMPLES_PER_REVIEW,
  classCounts,
  datasetPath,
  hasDatasetFile,
  prepareClassificationData,
  readDatasetCard,
  mergeConfig,
  resolveConfig,
  resumeRun,
  startRun,
  type RunRecord,
} from "@reviewtune/core";
import { z } from "zod";
import { CLASS_LABELS, tryParseJson, type TrainConfig } from "@reviewtune/contracts";
import { onInterrupt, startEngine } from "../engine.js";
import { trainingProgress } from "../progress.js";
import { errorEvent, eventChannel, type EventSink } from "../lib/event-channel.js";
import { printRunSummary } from "../lib/run-summary.js";

export interface TrainOptions {
  preset?: string;
  config?: string;
  data?: string;
  model?: string;
  method?: string;
  task?: string;
  labels?: string;
  epochs?: number;
  maxSteps?: number;
  timeBudget?: number;
  lr?: number;
  grounding?: string;
  batchSize?: number;
  allowPickle?: boolean;
  nprocPerNode?: number;
  nnodes?: number;
  nodeRank?: number;
  masterAddr?: string;
  masterPort?: number;
  distributed?: string;
  runsDir: string;
  resume?: string;
  dryRun?: boolean;
  set?: Record<string, unknown>;
  verbose?: boolean;
  /** Where TrainChannelEvents go (the run's folder, the end, a failure): "ipc" or a file path. */
  events?: string;
}

function overridesFrom(options: TrainOptions): Record<string, unknown> {
  const flags: Record<string, unknown> = {};
  if (options.data || options.grounding) flags.data = { ...(options.data ? { train: options.data } : {}), ...(options.grounding ? { grounding: options.grounding } : {}) };
  if (options.model || options.allowPickle) flags.model = { ...(options.model ? { source: options.model } : {}), ...(options.allowPickle ? { allow_pickle: true } : {}) };
  if (options.method) flags.method = options.method;
  if (options.task) flags.task = options.task;
  if (options.labels) flags.labels = options.labels;
  const training: Record<string, unknown> = {};
  if (options.epochs !== undefined) training.epochs = options.epochs;
  if (options.maxSteps !== undefined) training.max_steps = options.maxSteps;
  if (options.timeBudget !== undefined) training.time_budget_seconds = options.timeBudget;
  if (options.lr !== undefined) training.learning_rate = options.lr;
  if (options.batchSize !== undefined) training.batch_size = options.batchSize;
  if (Object.keys(training).length > 0) flags.training = training;
  const distributed: Record<string, unknown> = {};
  if (options.nprocPerNode !== undefined) distributed.nproc_per_node = options.nprocPerNode;
  if (options.nnodes !== undefined) distributed.nnodes = options.nnodes;
  if (options.nodeRank !== undefined) distributed.node_rank = options.nodeRank;
  if (options.masterAddr !== undefined) distributed.master_addr = options.masterAddr;
  if (options.masterPort !== undefined) distributed.master_port = options.masterPort;
  if (options.distributed !== undefined) distributed.strategy = options.distributed;
  if (Object.keys(distributed).length > 0) flags.distributed = distributed;
  return mergeConfig(flags, options.set ?? {}) as Record<string, unknown>;
}

/** Rows of the training file, and how many the mix keeps (what an epoch is made of, before oversampling). */
function countRows(path: string, mix: TrainConfig["data"]["mix"]): { rows: number; mixed: number } {
  const file = statSync(path).isDirectory() ? datasetPath(path, "train") : path;
  if (!existsSync(file)) throw new DataError(`data file ${file} does not exist`, file);
  const lines = readFileSync(file, "utf8").split("\n").filter((line) => line.trim());
  const rows = lines.map((line) => {
    // A bad line counts as a row without a group: the engine's reading names it; the plan only counts.
    const row = tryParseJson(line, z.object({ group: z.unknown(), task: z.unknown() })) ?? { group: undefined, task: undefined };
    return { group: typeof row.group === "string" ? row.group : "", ...(typeof row.task === "string" ? { task: row.task } : {}) };
  });
  return { rows: rows.length, mixed: applyMix(rows, mix).length };
}

function printClassificationData(config: TrainConfig): number | undefined {
  if (!config.data.train) {
    console.log(`  task         classify (${config.labels}: ${CLASS_LABELS[config.labels!].join(", ")})`);
    return undefined;
  }
  const prepared = prepareClassificationData(config.data, config.labels!, config.training.seed);
  const counts = (rows: typeof prepared.train) => Object.entries(classCounts(rows, config.labels!)).map(([label, count]) => `${label}: ${count}`).join(", ");
  console.log(`  task         classify (${config.labels}: ${counts(prepared.train)} in train; ${prepared.validation.length} validation rows)`);
  const sources = Object.entries(prepared.labelSources).map(([source, count]) => `${source} ${count}`).join(", ");
  console.log(`  labels from  ${sources}${prepared.labelSources.analyzer ? " (analyzer labels are read from the text, not given by reviewers)" : ""}`);
  return prepared.train.length;
}

/** 90 -> "1m30s", 7200 -> "2h", 5400 -> "1h30m": exact to the second, as given. */
const formatSeconds = (given: number) => {
  const seconds = Math.round(given); // before the split: 119.7 is 2m, not 1m60s
  const parts: Array<[number, string]> = [[Math.floor(seconds / 3600), "h"], [Math.floor((seconds % 3600) / 60), "m"], [seconds % 60, "s"]];
  return parts.filter(([value]) => value > 0).map(([value, unit]) => `${value}${unit}`).join("") || "0s";
};

/**
 * How many validation examples each evaluation scores, and its share of the training time: the
 * engine's rule (train.py default_max_eval) when evaluation.max_examples is not set, 256 with a time
 * budget. Scoring an example costs about a third of training on one (no backward pass).
 */
export function evaluationSample(config: TrainConfig, trainRows: number | undefined): { examples: number; share: number | undefined } | undefined {
  const { training } = config;
  const trained = training.max_steps ? training.max_steps * training.batch_size * training.gradient_accumulation : trainRows !== undefined ? Math.ceil(training.epochs * trainRows) : undefined;
  const examples = config.evaluation.max_examples ?? (training.time_budget_seconds ? 256 : trained !== undefined ? Math.max(256, Math.floor(trained / 4)) : undefined);
  if (examples === undefined) return undefined;
  return { examples, share: trained ? examples / 3 / trained : undefined };
}

function printPlan(config: TrainConfig, origin: string): void {
  const { training, data } = config;
  let rows: number | undefined;
  let mixed: number | undefined;
  let classificationTrainRows: number | undefined;
  if (config.task === "classify") {
    console.log(`plan (${origin}):`);
    classificationTrainRows = printClassificationData(config);
  } else if (data.train && data.train !== BUILTIN_DEMO) {
    if (!existsSync(data.train)) throw new DataError(`data file ${data.train} does not exist`, data.train, undefined, { hint: "check data.train / --data" });
    ({ rows, mixed } = countRows(data.train, data.mix));
  } else if (data.train === BUILTIN_DEMO) rows = data.demo_reviews * DEMO_EXAMPLES_PER_REVIEW;
  const processes = config.distributed ? config.distributed.nproc_per_node * config.distributed.nnodes : 1;
  const effectiveBatch = training.batch_size * training.gradient_accumulation * processes;
  const hasValidationFile = !!data.validation || (!!data.train && data.train !== BUILTIN_DEMO && hasDatasetFile(data.train, "validation"));
  const epochRows = mixed ?? rows;
  const trainRows = classificationTrainRows ?? (epochRows !== undefined ? Math.round(epochRows * (hasValidationFile ? 1 : 1 - data.validation_fraction)) : undefined);
  const stepsPerEpoch = trainRows !== undefined ? Math.ceil(trainRows / effectiveBatch) : undefined;
  if (config.task !== "classify") console.log(`plan (${origin}):`);
  console.log(`  model        ${config.model.source}${config.model.allow_pickle ? " (pickle allowed)" : ""}`);
  console.log(`  method       ${config.method}${config.method !== "full" ? ` r=${config.lora.r} alpha=${config.lora.alpha} dropout=${config.lora.dropout} targets=${config.lora.target_modules.join(",")}` : ""}`);
  if (config.quantization) console.log(`  quantization ${config.quantization.bits}-bit ${config.quantization.quant_type}, compute ${config.quantization.compute_dtype}, double quant ${config.quantization.double_quant}`);
  console.log(`  data         ${data.train ?? "(not set: pass --data)"}${rows !== undefined ? ` (${rows} rows${mixed !== undefined && mixed !== rows ? `, ${mixed} kept by the mix before balancing` : ""})` : ""}`);
  if (config.task !== "classify") {
    const share = (value: number, what: string) => (value >= 1 ? `every ${what} example` : `${Math.round(value * 100)}% of the ${what} examples`);
    // A folder of ready-made examples (questions, descriptions) has no review tasks to mix nor sentiments to balance.
    const readyMade = !!data.train && data.train !== BUILTIN_DEMO && hasDatasetFile(data.train, "card") && readDatasetCard(data.train).reviews === 0;
    if (readyMade) console.log("  mix          every example as it is (ready-made examples: no review tasks to mix, no sentiment to balance)");
    else console.log(`  mix          ${share(data.mix.analysis, "analysis")} + ${share(data.mix.chat, "chat")} (datasets with analysis examples); balance ${data.balance}${data.balance === "sentiment" ? ` (at most x${data.balance_max_factor})` : ""}`);
    if (data.grounding === "nearest") console.log("  grounding    nearest: each prompt carries its most similar training example (of another group) and its answer, here and in eval, ask, generate, chat, test and serve");
  }
  console.log(`  optimizer    AdamW lr=${training.learning_rate} weight_decay=${training.weight_decay} ${training.scheduler} warmup=${training.warmup_steps}`);
  const packing = config.task === "classify" && training.packing === "padding_free" ? "padded to the longest in the batch (the head reads each example's last token)" : training.packing;
  const perProcess = processes > 1 ? ` x ${processes} processes` : "";
  console.log(`  batches      ${training.batch_size} x ${training.gradient_accumulation} accumulation${perProcess} = ${effectiveBatch}; max_length ${training.max_length}; ${packing}`);
  if (config.distributed) {
    const { nproc_per_node: perNode, nnodes, node_rank: rank, master_addr: address, master_port: port, strategy } = config.distributed;
    const where = nnodes > 1 ? `${nnodes} nodes x ${perNode}, this one rank ${rank}, meeting at ${address}:${port ?? 29500}` : `${perNode} on this machine`;
    console.log(`  processes    ${processes} (${where}) under torchrun, ${strategy}${rank > 0 ? "; node 0 writes the metrics and weights" : ""}`);
  }
  const length = training.time_budget_seconds
    ? `time budget ${formatSeconds(training.time_budget_seconds)} (steps planned from the first steps' speed; at most ${training.epochs} epochs)`
    : training.max_steps
      ? `${training.max_steps} steps`
      : `${training.epochs} epochs`;
  console.log(`  length       ${length}${stepsPerEpoch ? ` (~${stepsPerEpoch} steps/epoch)` : ""}`);
  // A warmup as long as the run: the learning rate climbs the whole time and never reaches its value. (A time budget shortens its warmup to a fifth of the steps that fit.)
  const totalSteps = training.time_budget_seconds ? undefined : training.max_steps ?? (stepsPerEpoch !== undefined ? Math.ceil(stepsPerEpoch * training.epochs) : undefined);
  if (totalSteps !== undefined && training.warmup_steps >= totalSteps) {
    console.log(`  warning      warmup ${training.warmup_steps} steps >= the run's ${totalSteps}: the learning rate never reaches ${training.learning_rate} (--set training.warmup_steps=${Math.floor(totalSteps / 10)})`);
  }
  console.log(`  evaluation   ${config.evaluation.strategy}${config.evaluation.every_steps ? ` every ${config.evaluation.every_steps} steps` : ""}${config.early_stopping ? `; early stopping patience ${config.early_stopping.patience}` : ""}`);
  const sample = evaluationSample(config, trainRows);
  if (sample) {
    const share = sample.share !== undefined ? `, each evaluation about ${Math.max(1, Math.round(100 * sample.share))}% of the training time` : "";
    console.log(`               on at most ${sample.examples} validation examples (a seeded sample; evaluation.max_examples)${share}`);
  }
  const saves = [
    ...(config.checkpoints.every_steps ? [`every ${config.checkpoints.every_steps} steps`] : []),
    ...(config.evaluation.strategy !== "no" || training.time_budget_seconds ? ["at evaluations"] : []),
  ];
  console.log(`  checkpoints  ${saves.length > 0 ? `${saves.join(" and ")}, keep ${config.checkpoints.keep}` : "only when stopped (Ctrl-C); set checkpoints.every_steps for more"}`);
}

export async function runTrain(options: TrainOptions): Promise<void> {
  const events = options.events === undefined ? undefined : eventChannel(options.events);
  try {
    await train(options, events);
  } catch (error) {
    events?.(errorEvent(error));
    throw error;
  } finally {
    events?.close();
  }
}

async function train(options: TrainOptions, events: EventSink | undefined): Promise<void> {
  let directory: string | undefined = options.resume;
  let config: TrainConfig | undefined;
  let origin = "";
  if (!options.resume) {
    ({ config, origin } = resolveConfig({
      ...(options.preset ? { preset: options.preset } : {}),
      ...(options.config ? { configFile: options.config } : {}),
      overrides: overridesFrom(options),
    }));
    printPlan(config, origin);
    if (options.dryRun) {
      console.log("dry run: configuration is valid; nothing was trained");
      return;
    }
  }
  const engine = await startEngine({ verbose: options.verbose ?? false });
  const progress = trainingProgress();
  const controller = new AbortController();
  const dispose = onInterrupt(() => controller.abort());
  try {
    const runOptions = { engine, onEvent: progress.onEvent, signal: controller.signal, onRunFolder: (id: string, dir: string) => events?.({ event: "run", id, dir }), onStatus: (message: string) => console.error(message) };
    const record = options.resume ? await resumeRun(options.resume, runOptions) : await startRun(config!, origin, options.runsDir, runOptions);
    progress.stop();
    events?.({ event: "done", id: record.id, status: record.status });
    directory ??= join(options.runsDir, record.id);
    printRunSummary(record, directory);
    if (record.status === "cancelled") {
      throw new CancelledError(`training stopped at step ${record.result?.global_step}; a checkpoint was saved`, {
        hint: `continue with: reviewtune train --resume ${directory}`,
      });
    }
  } finally {
    progress.stop();
    dispose();
    await engine.shutdown();
  }
}
