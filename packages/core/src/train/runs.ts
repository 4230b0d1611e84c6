// The run folder is the source of truth: runs/<id>/run.json (config, versions, data hash, seed,
// git sha, status), metrics.jsonl, checkpoints/, adapter/. run.json is always replaced atomically,
// and a run is marked completed only after the engine reported success.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join, resolve } from "node:path";
import { z } from "zod";
import { RUN_FORMAT, RunRecordSchema, tryParseJson, type FinishedRunRecord, type RunRecord } from "@reviewtune/contracts";
import { ConfigError } from "../errors.js";
import { readRecordFile, writeJsonAtomic } from "../files.js";
import { projectRoot } from "../paths.js";
import { isProcessAlive } from "../process-alive.js";
import { runPath } from "./run-folder.js";



export function gitSha(): string | null {
  const result = spawnSync("git", ["rev-parse", "HEAD"], { cwd: projectRoot(), encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : null;
}

export function newRunId(name: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "run";
  return `${stamp}-${slug}`;
}

export function createRunDirectory(runsDirectory: string, name: string): { id: string; directory: string } {
  let id = newRunId(name);
  for (let suffix = 2; existsSync(join(runsDirectory, id)); suffix++) id = `${newRunId(name)}-${suffix}`;
  const directory = resolve(runsDirectory, id);
  mkdirSync(runPath(directory, "data"), { recursive: true });
  return { id, directory };
}

export type { RunRecord };

/** Replaces run.json, checked by its schema first: what is written can be read back. */
export function writeRunRecord(directory: string, record: RunRecord): void {
  writeJsonAtomic(runPath(directory, "record"), RunRecordSchema.parse({ ...record, format: RUN_FORMAT, updated: new Date().toISOString() }));
}

/**
 * While a process trains a run, `heartbeat.json` in its folder says which process (pid, host) and
 * when it last said so. run.json says "running" until the engine answers, so a killed process (kill
 * -9, a closed laptop, a crash) would leave a run that looks alive forever; with the heartbeat, a run
 * whose process is gone or silent is shown as interrupted, with --resume offered.
 */
export const HEARTBEAT_SECONDS = 15;
/** Silent this long, a run is taken for interrupted even where its pid cannot be checked (another host). */
const HEARTBEAT_STALE_SECONDS = 4 * HEARTBEAT_SECONDS;

const HeartbeatSchema = z.object({ pid: z.number().int(), host: z.string(), time: z.string() });
type Heartbeat = z.infer<typeof HeartbeatSchema>;

/** Writes the heartbeat now and every HEARTBEAT_SECONDS; the returned stop removes it. */
export function startHeartbeat(directory: string): () => void {
  const file = runPath(directory, "heartbeat");
  const beat = () => writeJsonAtomic(file, { pid: process.pid, host: hostname(), time: new Date().toISOString() } satisfies Heartbeat);
  beat();
  const timer = setInterval(beat, HEARTBEAT_SECONDS * 1000);
  timer.unref(); // never what keeps the process alive
  return () => {
    clearInterval(timer);
    rmSync(file, { force: true });
  };
}

/**
 * Why a run that run.json calls "running" is not running any more, or undefined while its process is
 * alive: no heartbeat, its process gone (on this host), or a heartbeat older than a minute.
 */
export function interruptedBecause(directory: string, record: Pick<RunRecord, "status">, now = Date.now()): string | undefined {
  if (record.status !== "running") return undefined;
  const file = runPath(directory, "heartbeat");
  if (!existsSync(file)) return "no training process is recorded for it";
  const heartbeat = tryParseJson(readFileSync(file, "utf8"), HeartbeatSchema);
  if (!heartbeat) return undefined; // being replaced this instant (it is written atomically, but a reader may race a rename on some filesystems)
  if (heartbeat.host === hostname() && !isProcessAlive(heartbeat.pid)) return `its training process (pid ${heartbeat.pid}) is gone`;
  const silent = (now - Date.parse(heartbeat.time)) / 1000;
  if (silent > HEARTBEAT_STALE_SECONDS) return `its training process (pid ${heartbeat.pid} on ${heartbeat.host}) has been silent for ${Math.round(silent)} s`;
  return undefined;
}

export type { FinishedRunRecord };

/** The engine's mark of a checkpoint written whole (reviewtune_engine/train.py: COMPLETE_MARKER). */
const CHECKPOINT_COMPLETE = "reviewtune-complete.json";

/** The step of the run's last complete checkpoint, the one `train --resume` continues from; undefined when it has none. */
export function lastCompleteCheckpoint(directory: string): number | undefined {
  let steps: number[] = [];
  try {
    steps = readdirSync(runPath(directory, "checkpoints"))
      .map((name) => /^checkpoint-(\d+)$/.exec(name))
      .filter((match): match is RegExpExecArray => match !== null && existsSync(join(runPath(directory, "checkpoints"), match[0], CHECKPOINT_COMPLETE)))
      .map((match) => Number(match[1]));
  } catch {
    return undefined; // no checkpoints folder
  }
  return steps.length > 0 ? Math.max(...steps) : undefined;
}

/**
 * Refuses a run that has not finished (`directory`: the run folder), saying what to do: resume it
 * from its last complete checkpoint, or, without one (a run that failed before its first), train again.
 */
export function requireFinished(run: RunRecord, directory: string): asserts run is FinishedRunRecord {
  if (!run.result || (run.status !== "completed" && run.status !== "early_stopped")) {
    const interrupted = interruptedBecause(directory, run);
    if (run.status === "running" && !interrupted) {
      throw new ConfigError(`run ${run.id} is still training (its process beats in ${runPath(directory, "heartbeat")})`, [], {
        hint: `wait until it finishes (its curve grows in ${runPath(directory, "metrics")}), or stop it (Ctrl-C where it runs) and resume it later with reviewtune train --resume ${directory}`,
      });
    }
    const status = interrupted ? `interrupted, ${interrupted}` : `${run.status}${run.error ? `: ${run.error.message}` : ""}`;
    const step = lastCompleteCheckpoint(directory);
    const hint =
      step !== undefined
        ? `resume it from its checkpoint at step ${step}: reviewtune train --resume ${directory}`
        : `it has no complete checkpoint to resume from: train again with the same command (its settings are under "config" in ${runPath(directory, "record")})`;
    throw new ConfigError(`run ${run.id} has not finished (status: ${status})`, [], { hint });
  }
}

/** The hint for a wrong --run: the newest run folders in the folder given (runs/ itself) or beside it. */
function runsHint(directory: string): string {
  const runsIn = (parent: string): string[] => {
    try {
      return readdirSync(parent, { withFileTypes: true })
        .filter((entry) => entry.isDirectory() && existsSync(runPath(join(parent, entry.name), "record")))
        .map((entry) => join(parent, entry.name))
        .sort()
        .reverse();
    } catch {
      return [];
    }
  };
  for (const parent of [directory, dirname(directory)]) {
    const runs = runsIn(parent);
    if (runs.length > 0) return `run folders in ${parent}: ${runs.slice(0, 5).join(", ")}${runs.length > 5 ? ` and ${runs.length - 5} older` : ""}`;
  }
  return "pass a run folder made by reviewtune train (runs/<id>)";
}

/** A wrong --run (a folder that is not there, or not a run's) said with where the runs are; run.json is not read. */
export function requireRunFolder(directory: string): void {
  if (existsSync(runPath(directory, "record"))) return;
  if (!existsSync(directory)) throw new ConfigError(`run folder ${directory} does not exist`, [], { hint: runsHint(directory) });
  throw new ConfigError(`${directory} is not a run folder (no run.json)`, [], { hint: runsHint(directory) });
}

export function readRunRecord(directory: string): RunRecord {
  requireRunFolder(directory);
  return readRecordFile(runPath(directory, "record"), RUN_FORMAT, RunRecordSchema, "run.json is written by `reviewtune train`: train again, or read it with the reviewtune version that wrote it");
}
