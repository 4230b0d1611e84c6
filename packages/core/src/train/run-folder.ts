// The run folder's owner (runs/<id>/): where each of its files lives, which model and adapter a
// finished run answers with, and the one reader of metrics.jsonl. Commands, the server and the
// studio go through here instead of spelling the folder out (run.json itself: runs.ts).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { MetricLineSchema, parseJson, type FinishedRunRecord, type MetricLine, type TrainConfig } from "@reviewtune/contracts";

/** What a run folder holds, relative to it. */
export const RUN_PATHS = {
  /** The record: config, data, status, result (runs.ts). */
  record: "run.json",
  /** One JSON line per logged step or evaluation (engine `_MetricsWriter`). */
  metrics: "metrics.jsonl",
  heartbeat: "heartbeat.json",
  /** The training rows as the engine read them. */
  data: "data",
  checkpoints: "checkpoints",
  /** Training on several processes: the request torchrun's workers read and the strategy's config (fsdp.json, deepspeed.json); engine distributed.py. */
  distributed: "distributed",
  /** The PEFT adapter (LoRA, QLoRA, a head) or, for a full fine-tune, `model/`. */
  adapter: "adapter",
  model: "model",
  /** `reviewtune eval`'s report (report.json, .md, .html). */
  eval: "eval",
  evalReport: join("eval", "report.json"),
  /** `reviewtune eval` of a QA or description run (recipes R2, R4): the text report and every answer beside its reference. */
  textReport: join("eval", "text-report.json"),
  textAnswers: join("eval", "text-answers.jsonl"),
  /** Blind A/B pairs and ratings (`reviewtune human`). */
  human: "human",
  /** What the studio keeps beside a run it started: the CLI's output and the estimate shown when it started. */
  studio: "studio",
  studioLog: join("studio", "train.log"),
  studioEstimate: join("studio", "estimate.json"),
} as const;
export type RunPath = keyof typeof RUN_PATHS;

/** The path of one of a run folder's files or folders. */
export function runPath(directory: string, path: RunPath): string {
  return join(directory, RUN_PATHS[path]);
}

/** A folder with a run.json. */
export function isRunFolder(directory: string): boolean {
  return existsSync(runPath(directory, "record"));
}

/** The run ids under a runs folder, newest first (ids start with their creation time). */
export function listRunIds(runsDirectory: string): string[] {
  if (!existsSync(runsDirectory)) return [];
  return readdirSync(runsDirectory)
    .filter((name) => !name.startsWith(".") && isRunFolder(join(runsDirectory, name)))
    .sort()
    .reverse();
}

/**
 * The run's adapter/ folder where the run is now: run.json records the absolute path it was trained
 * at, and a run folder may have been moved or copied since (to another disk, another machine).
 */
export function runAdapterDir(directory: string, recorded: string): string {
  const beside = runPath(directory, "adapter");
  return existsSync(beside) || !isAbsolute(recorded) ? beside : recorded;
}

/** The model a finished run answers with: its base and adapter, or its fully tuned model folder. */
export interface RunModel {
  model: TrainConfig["model"];
  adapter?: string | undefined;
}

/**
 * Which model and adapter a finished run uses: the base with the adapter where it is now, or the
 * fully tuned model folder. `base`: the model the run started from (for side-by-side answers).
 */
export function runModel(run: FinishedRunRecord, directory: string, options: { base?: boolean } = {}): RunModel {
  if (options.base) return { model: run.config.model };
  if (run.result.model_dir) return { model: { source: run.result.model_dir, allow_pickle: false } };
  return { model: run.config.model, adapter: run.result.adapter_dir ? resolve(runAdapterDir(directory, run.result.adapter_dir)) : undefined };
}

export type { MetricLine };

/**
 * The lines of a run's metrics.jsonl from byte `from` on, and the byte to read from next. Only whole
 * lines are read: one still being written (or cut short by a crash) is left for later. A whole line
 * that is not a metric is an error naming the file and line. A file shorter than `from` was rewritten
 * (a resume trims the lines past its checkpoint) and is read from its start.
 */
export function readRunMetrics(directory: string, from = 0): { lines: MetricLine[]; next: number } {
  const file = runPath(directory, "metrics");
  if (!existsSync(file)) return { lines: [], next: from };
  const buffer = readFileSync(file);
  if (buffer.length < from) from = 0;
  const end = buffer.lastIndexOf(0x0a, buffer.length - 1) + 1;
  if (end <= from) return { lines: [], next: from };
  const text = buffer.subarray(from, end).toString("utf8");
  const lines: MetricLine[] = [];
  for (const [index, line] of text.split("\n").entries()) {
    if (line.trim()) lines.push(parseJson(line, MetricLineSchema, `${file} (byte ${from}, line ${index + 1})`));
  }
  return { lines, next: end };
}
