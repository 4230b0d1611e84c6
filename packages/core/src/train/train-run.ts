// `reviewtune train`: config + data -> a run folder, trained by the engine. Data shaping (chat
// template, split) happens here; the engine gets rendered {prompt, completion} files, or with task
// "classify" {text, label} files and the class names.
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { CLASS_LABELS, RUN_FORMAT, type ChatRow, type InstructionRow, type EngineEvent, type TrainConfig, type TrainResult, type VllmLint } from "@reviewtune/contracts";
import { prepareClassificationData } from "../data/classification-data.js";
import { heldOutGroups, prepareData, readSourceRows, rowGroup, sha256, toJsonl, type PreparedData, type SourceRows } from "../data/instruction-data.js";
import { REVIEW_TASKS } from "../data/augment/answers.js";
import { ANALYSIS_TASK } from "../data/augment/augment.js";
import { groundConversations } from "../references/grounding.js";
import { ReferenceIndex, referenceExample } from "../references/reference-index.js";
import type { EngineClient } from "../engine/client.js";
import { ConfigError, DataError, EngineRequestError, ReviewtuneError } from "../errors.js";
import { chatTemplateFor } from "../templates/model-template.js";
import { lintAdapterForVllm } from "../export/vllm-lint.js";
import { methodReport } from "./method-report.js";
import { runPath } from "./run-folder.js";
import { createRunDirectory, gitSha, interruptedBecause, readRunRecord, startHeartbeat, writeRunRecord, type RunRecord } from "./runs.js";

/** Tasks whose prompt is a review: not grounded (data.grounding). */
const REVIEW_TASK_NAMES = [ANALYSIS_TASK, ...REVIEW_TASKS] as const;

export interface TrainRunOptions {
  engine: EngineClient;
  onEvent?: (event: EngineEvent) => void;
  signal?: AbortSignal;
  /** Called once the run's folder exists with its run.json (a new run) or is about to be trained again (a resume). */
  onRunFolder?: (id: string, directory: string) => void;
  /** Progress of the steps before training (data.grounding's search). */
  onStatus?: (message: string) => void;
}

/** The rows the engine trains on: rendered chat rows, or (task "classify") texts with their class. */
async function prepareRows(config: TrainConfig, engine: EngineClient, onStatus: (message: string) => void): Promise<{ data: PreparedData | ReturnType<typeof prepareClassificationData>; labelSources?: Record<string, number> }> {
  if (config.task === "classify") {
    const data = prepareClassificationData(config.data, config.labels!, config.training.seed);
    return { data, labelSources: data.labelSources };
  }
  const template = await chatTemplateFor(engine, config.model, config.data.template);
  const rows = readSourceRows(config.data, config.training.seed);
  if (config.data.grounding === "nearest") await groundTrainingRows(config, rows, engine, onStatus);
  return { data: prepareData(config.data, template, config.training.seed, rows) };
}

/** What grounding must not take as a neighbour: the groups (and group-less rows, by index id) the split will hold out for validation. */
export function groundingExclusions(spec: TrainConfig["data"], seed: number, rows: SourceRows): { excludeGroups?: Set<string> | undefined; excludeIds?: Set<string> | undefined } {
  const held = heldOutGroups(spec, seed, rows);
  if (!held) return {};
  const excludeIds = new Set(
    rows.train.flatMap((row, at) => (row.group === undefined && "messages" in row && held.has(rowGroup(row, rows.trainFile, at)) ? [referenceExample(row as ChatRow, "train").id] : [])),
  );
  return { excludeGroups: held, excludeIds };
}

/**
 * data.grounding "nearest": each training and validation row's prompt gets its nearest training
 * example of another group, from the reference index of the dataset folder (embedded once, kept
 * there). Only chat rows of question, description and instruction tasks: a review task's prompt is
 * the review itself, and review evaluation does not ground.
 */
async function groundTrainingRows(config: TrainConfig, rows: SourceRows, engine: EngineClient, onStatus: (message: string) => void): Promise<void> {
  const folder = config.data.train!;
  const hint = "train on a dataset folder of questions or descriptions (reviewtune data build), or set data.grounding: none";
  if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new ConfigError(`data.grounding: nearest needs data.train to be a dataset folder (its training split is what is searched); got ${folder}`, [], { hint });
  for (const [file, list] of [[rows.trainFile, rows.train], [rows.validationFile, rows.validation ?? []]] as const) {
    const at = list.findIndex((row) => !("messages" in row) || (REVIEW_TASK_NAMES as readonly string[]).includes(row.task ?? ""));
    if (at >= 0) {
      const row = list[at]!;
      throw new ConfigError(`data.grounding: nearest grounds question, description and instruction rows; ${file} line ${at + 1} is ${"messages" in row ? `a "${row.task}" review row` : "a prompt/completion row"}`, [], { hint });
    }
  }
  const index = await ReferenceIndex.open(folder);
  onStatus(`grounding: indexing the training prompts of ${folder} (all-MiniLM-L6-v2)`);
  const update = await index.update(engine);
  onStatus(`grounding: ${update.total} training examples indexed (${update.added} embedded now); finding each row's nearest of another group`);
  const started = performance.now();
  const chatRows = (list: InstructionRow[]) => list as ChatRow[];
  // Without a validation file, the split holds groups of train.jsonl out after this: they are in the
  // index, and must not lend their answers to training prompts. A row without a group is split alone
  // (by its line) but indexed under "": such held-out rows are excluded by their index id.
  const { excludeGroups, excludeIds } = groundingExclusions(config.data, config.training.seed, rows);
  const ground = async (list: InstructionRow[], inIndex: boolean) => {
    // A training row is in the index: its own entry (by id) and its group's are skipped.
    const queries = chatRows(list).map((row) => ({ messages: row.messages, group: row.group, ...(inIndex ? { id: referenceExample(row, "train").id } : {}) }));
    const { conversations, neighbours } = await groundConversations(index, engine, queries, { excludeGroups, excludeIds });
    return { rows: conversations.map((messages, at) => ({ ...chatRows(list)[at]!, messages })), neighbours };
  };
  const train = await ground(rows.train, true);
  rows.train = train.rows;
  const validation = rows.validation ? await ground(rows.validation, false) : undefined;
  if (validation) rows.validation = validation.rows;
  const found = train.neighbours.flatMap((neighbour) => (neighbour ? [neighbour.similarity] : []));
  const alone = train.neighbours.length - found.length + (validation ? validation.neighbours.filter((neighbour) => !neighbour).length : 0);
  const mean = found.reduce((sum, value) => sum + value, 0) / Math.max(1, found.length);
  onStatus(
    `grounding: ${rows.train.length + (rows.validation?.length ?? 0)} rows grounded in ${((performance.now() - started) / 1000).toFixed(1)} s (training rows' mean similarity to their neighbour ${mean.toFixed(3)})` +
      (alone > 0 ? `; ${alone} row(s) found no neighbour outside their own group among the 64 nearest and stay bare` : ""),
  );
}

export async function startRun(config: TrainConfig, origin: string, runsDirectory: string, options: TrainRunOptions): Promise<RunRecord> {
  // A grounded run reads its dataset folder again at inference (ask, serve, eval): recorded absolute,
  // so any working directory finds it.
  if (config.data.grounding === "nearest" && config.data.train) config = { ...config, data: { ...config.data, train: resolve(config.data.train) } };
  const { data, labelSources } = await prepareRows(config, options.engine, options.onStatus ?? (() => {}));
  const { id, directory } = createRunDirectory(runsDirectory, config.name ?? "run");
  const trainText = toJsonl(data.train);
  const validationText = data.validation.length > 0 ? toJsonl(data.validation) : null;
  const trainFile = join(runPath(directory, "data"), "train.jsonl");
  const validationFile = validationText ? join(runPath(directory, "data"), "val.jsonl") : null;
  writeFileSync(trainFile, trainText);
  if (validationFile && validationText) writeFileSync(validationFile, validationText);
  const now = new Date().toISOString();
  const record: RunRecord = {
    format: RUN_FORMAT,
    id,
    status: "running",
    created: now,
    updated: now,
    origin,
    config,
    seed: config.training.seed,
    git_sha: gitSha(),
    versions: { ...options.engine.ready.versions, node: process.version, engine: options.engine.ready.engine_version, device: options.engine.ready.device, allocator: options.engine.allocator.name },
    data: {
      ...(labelSources ? { label_sources: labelSources } : {}),
      ...("balance" in data && data.balance ? { balance: data.balance } : {}),
      source: data.source,
      train_rows: data.train.length,
      validation_rows: data.validation.length,
      hash: sha256(trainText + (validationText ?? "")),
      train_file: trainFile,
      validation_file: validationFile,
    },
    result: null,
    error: null,
    attempts: 1,
  };
  writeRunRecord(directory, record);
  options.onRunFolder?.(id, directory);
  return runEngine(directory, record, false, options);
}

export async function resumeRun(directory: string, options: TrainRunOptions): Promise<RunRecord> {
  const record = readRunRecord(directory);
  if (record.status === "completed" || record.status === "early_stopped") {
    throw new ReviewtuneError(`run ${record.id} is already ${record.status}`, { hint: "start a new run instead of --resume" });
  }
  // Two processes training one run folder would overwrite each other's checkpoints.
  if (record.status === "running" && !interruptedBecause(directory, record)) {
    throw new ReviewtuneError(`run ${record.id} is still being trained by another process (see ${runPath(directory, "heartbeat")})`, {
      hint: "wait for it, or stop it (Ctrl-C where it runs) and resume then",
    });
  }
  const texts = [record.data.train_file, record.data.validation_file].map((file) => {
    if (file && !existsSync(file)) throw new DataError(`${file} is missing, so the run cannot resume`, file);
    return file ? readFileSync(file, "utf8") : "";
  });
  if (sha256(texts.join("")) !== record.data.hash) {
    throw new DataError(`the run's data files changed since it started (hash mismatch)`, record.data.train_file, undefined, {
      hint: "start a new run; resuming on different data would not continue the same training",
    });
  }
  options.onRunFolder?.(record.id, resolve(directory));
  return runEngine(directory, { ...record, status: "running", error: null, attempts: record.attempts + 1 }, true, options);
}

async function runEngine(directory: string, record: RunRecord, resume: boolean, options: TrainRunOptions): Promise<RunRecord> {
  const stopHeartbeat = startHeartbeat(directory);
  try {
    return await trainInEngine(directory, record, resume, options);
  } finally {
    stopHeartbeat();
  }
}

async function trainInEngine(directory: string, record: RunRecord, resume: boolean, options: TrainRunOptions): Promise<RunRecord> {
  writeRunRecord(directory, record);
  let result: TrainResult;
  try {
    result = await options.engine.request(
      "train",
      {
        run_dir: directory,
        config: record.config,
        train_file: record.data.train_file,
        ...(record.data.validation_file ? { eval_file: record.data.validation_file } : {}),
        ...(record.config.task === "classify" && record.config.labels ? { label_names: [...CLASS_LABELS[record.config.labels]] } : {}),
        resume,
      },
      { ...(options.onEvent ? { onEvent: options.onEvent } : {}), ...(options.signal ? { signal: options.signal } : {}) },
    );
  } catch (error) {
    const failed: RunRecord = {
      ...record,
      status: "failed",
      error: { message: (error as Error).message, ...(error instanceof EngineRequestError ? { code: error.code } : {}) },
    };
    writeRunRecord(directory, failed);
    throw error;
  }
  // R3's report row for every run (trainable/total parameters, quantization, LoRA, memory, time, figures).
  const report = methodReport(record.config, result, record.versions.device);
  // A generative LoRA adapter: whether vLLM serves it as it is (issue 14), kept with the run.
  const vllm = result.adapter_dir && record.config.task === "generate" ? vllmLintOf(result.adapter_dir, record.id) : undefined;
  const finished: RunRecord = { ...record, status: result.status, result: { ...result, report, ...(vllm ? { vllm } : {}) } };
  writeRunRecord(directory, finished);
  return finished;
}

/** The vLLM lint of a finished run's adapter; none where the folder cannot be read (the run itself stands). */
function vllmLintOf(adapterDir: string, name: string): VllmLint | undefined {
  try {
    return lintAdapterForVllm(adapterDir, { name });
  } catch {
    return undefined;
  }
}
