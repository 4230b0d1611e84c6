// Training from the studio runs the real `reviewtune train` as a child process, so a run started here
// is the same run folder a terminal would make, and a studio restart loses nothing: the folder is the
// truth. Stop sends SIGINT (the CLI saves a checkpoint and marks the run "cancelled"); resume runs
// `train --resume`. One training at a time: they would share the same CPU cores. The child tells the
// studio its run's folder and any failure over Node's IPC channel (`--events ipc`, contracts
// TrainChannelEvent); its human output is only shown.
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { TrainChannelEventSchema, type StudioTrainRequest, type TrainChannelEvent, type TrainEstimate } from "@reviewtune/contracts";
import { projectRoot, runPath, writeJsonAtomic } from "@reviewtune/core";
import { StudioApiError } from "../http/studio-error.js";

const TAIL_LINES = 40;

interface Training {
  child: ChildProcess;
  runId: string | null;
  log: string[];
  /** Output from before the run's folder existed, written to its train.log once it does. */
  pending: string[];
  exited: Promise<number | null>;
  /** Resolves once every output of the child was read (its pipes closed), with its exit code. */
  closed: Promise<number | null>;
  /** Where the child's events go (start() listens for the run's folder). */
  onEvent: (event: TrainChannelEvent) => void;
}

export interface TrainerOptions {
  runsDir: string;
  /** The `reviewtune` bin (default: packages/cli/bin/reviewtune.js of this checkout). */
  cliBin?: string;
  env?: Record<string, string>;
  /** How long a new run's folder may take to appear (engine start, model load). */
  startTimeoutMs?: number;
}

/** The `reviewtune train` arguments for a studio request (everything else comes from the preset). */
export function trainArguments(request: StudioTrainRequest, datasetFolder: string, runsDir: string): string[] {
  return [
    "train",
    "--preset", request.preset,
    "--model", request.model,
    "--data", datasetFolder,
    "--method", request.method,
    "--lr", String(request.learning_rate),
    "--batch-size", String(request.batch_size),
    ...(request.max_steps !== undefined ? ["--max-steps", String(request.max_steps)] : ["--epochs", String(request.epochs)]),
    "--set", `training.max_length=${request.max_length}`,
    ...(request.method === "full" ? [] : ["--set", `lora.r=${request.lora_r}`]),
    "--set", `training.activation_checkpointing=${request.activation_checkpointing}`,
    "--runs-dir", runsDir,
  ];
}

export class Trainer {
  private readonly trainings = new Set<Training>();
  private readonly cliBin: string;

  constructor(private readonly options: TrainerOptions) {
    this.cliBin = options.cliBin ?? join(projectRoot(), "packages", "cli", "bin", "reviewtune.js");
  }

  /** The training process attached to a run, if it is still alive. */
  attached(runId: string): Training | undefined {
    return [...this.trainings].find((training) => training.runId === runId);
  }

  /** The last lines of the run's training output: live, else from runs/<id>/studio/train.log (kept across restarts). */
  logTail(runId: string): string[] {
    const attached = this.attached(runId);
    if (attached) return attached.log;
    const file = runPath(join(this.options.runsDir, runId), "studioLog");
    return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean).slice(-TAIL_LINES) : [];
  }

  private writeLog(training: Training, lines: string[]): void {
    if (!training.runId) return void training.pending.push(...lines);
    const text = [...training.pending.splice(0), ...lines].map((line) => `${line}\n`).join("");
    if (text) appendFileSync(runPath(join(this.options.runsDir, training.runId), "studioLog"), text);
  }

  private busy(): void {
    const running = [...this.trainings][0];
    if (running) throw new StudioApiError(409, "training_busy", `a training is already running${running.runId ? ` (run ${running.runId})` : ""}`, { hint: "stop it first, or wait for it to finish: two trainings would share the same CPU cores" });
  }

  private spawn(args: string[], runId: string | null): Training {
    const child = spawn(process.execPath, [this.cliBin, ...args, "--events", "ipc"], { cwd: process.cwd(), env: { ...process.env, NO_COLOR: "1", ...this.options.env }, stdio: ["ignore", "pipe", "pipe", "ipc"] });
    const training: Training = {
      child,
      runId,
      log: [],
      pending: [],
      exited: new Promise((done) => child.on("exit", (code) => done(code))),
      closed: new Promise((done) => child.on("close", (code) => done(code))),
      onEvent: () => {},
    };
    child.on("message", (message) => {
      const parsed = TrainChannelEventSchema.safeParse(message);
      if (parsed.success) training.onEvent(parsed.data);
      else this.writeLog(training, [`(an event the studio does not know: ${JSON.stringify(message).slice(0, 200)})`]);
    });
    const onData = (chunk: Buffer) => {
      const lines = chunk.toString("utf8").split(/\r|\n/).map((line) => line.trimEnd()).filter(Boolean);
      training.log.push(...lines);
      training.log.splice(0, Math.max(0, training.log.length - TAIL_LINES));
      this.writeLog(training, lines); // kept in the run folder, for a failure read after the studio stopped
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    this.trainings.add(training);
    void training.exited.then(() => this.trainings.delete(training));
    return training;
  }

  /** Starts `reviewtune train`; resolves with the run's id once its folder exists (the child's `run` event). */
  async start(args: string[], estimate: TrainEstimate | null): Promise<string> {
    this.busy();
    const runsDir = resolve(this.options.runsDir);
    const training = this.spawn(args, null);
    let failure: Extract<TrainChannelEvent, { event: "error" }> | undefined;
    let timer: NodeJS.Timeout | undefined;
    const started = new Promise<string>((resolveStart) => {
      training.onEvent = (event) => {
        if (event.event === "run" && !training.runId) {
          training.runId = event.id;
          mkdirSync(runPath(join(runsDir, event.id), "studio"), { recursive: true });
          appendFileSync(runPath(join(runsDir, event.id), "studioLog"), `$ reviewtune ${args.join(" ")}\n`);
          this.writeLog(training, []);
          if (estimate) writeJsonAtomic(runPath(join(runsDir, event.id), "studioEstimate"), estimate);
          resolveStart(event.id);
        } else if (event.event === "error") failure = event;
      };
    });
    const ended = training.closed.then((code) => {
      if (training.runId) return training.runId; // it started, and has ended since
      // The CLI's own account of the failure (the `error` event), else the end of its output.
      const message = failure?.message ?? (training.log.slice(-3).join(" / ") || "no output");
      throw new StudioApiError(400, "training_did_not_start", `training stopped before its run folder was made (exit ${failure?.exit_code ?? code}): ${message}`, {
        hint: failure?.hint ?? "fix what the message names (model, dataset, a hyper-parameter) and start again; the same command in a terminal shows the whole output",
      });
    });
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        training.child.kill("SIGINT");
        reject(new StudioApiError(504, "training_start_timeout", "the training did not make its run folder in time", { hint: "see the terminal running the studio; the engine may still be preparing the model" }));
      }, this.options.startTimeoutMs ?? 180_000);
    });
    try {
      return await Promise.race([started, ended, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGINT, as Ctrl-C in a terminal: the CLI cancels the engine, which saves a checkpoint. */
  stop(runId: string): void {
    const training = this.attached(runId);
    if (!training) throw new StudioApiError(409, "not_running", `run ${runId} has no training process in this studio`, { hint: "only a run started or resumed by this studio can be stopped here" });
    training.child.kill("SIGINT");
  }

  resume(runId: string): void {
    this.busy();
    const directory = join(resolve(this.options.runsDir), runId);
    mkdirSync(runPath(directory, "studio"), { recursive: true });
    appendFileSync(runPath(directory, "studioLog"), `$ reviewtune train --resume ${directory}\n`);
    this.spawn(["train", "--resume", directory], runId);
  }

  /** Stops every training this studio started and waits for them (the studio is closing). */
  async close(): Promise<void> {
    const all = [...this.trainings];
    for (const training of all) training.child.kill("SIGINT");
    await Promise.all(all.map((training) => training.exited));
  }
}
