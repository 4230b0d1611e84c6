// `reviewtune studio`: one server for the /v1 API and the UI, on loopback. It listens first (the URL
// is printed at once), then starts the engine and indexes the references; Ctrl-C stops trainings it
// started (each saves a checkpoint) and the engine.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { ConfigError } from "@reviewtune/core";
import { isLoopback } from "@reviewtune/server";
import { createStudio, type Studio } from "@reviewtune/studio";
import { serveUntilInterrupted } from "../engine.js";

export interface StudioCommandOptions {
  port: number;
  host: string;
  runs: string;
  data: string[];
  model: string;
  references?: string | false;
  open: boolean;
  /** Absent (the demo): every core. */
  threads?: number;
  allowHost?: string[];
  allowOrigin?: string[];
  verbose?: boolean;
}

export interface StartedStudio {
  studio: Studio;
  url: string;
  ready: Promise<void>;
}

export async function startStudio(options: StudioCommandOptions): Promise<StartedStudio> {
  if (!isLoopback(options.host)) {
    throw new ConfigError(`--host ${options.host} would let anyone who reaches this machine start trainings: the studio has no login`, [], {
      hint: "keep --host 127.0.0.1 and reach it from elsewhere through an SSH tunnel (ssh -L 7860:127.0.0.1:7860 host)",
    });
  }
  const dataDirs = options.data?.length ? options.data : ["data"];
  const studio = await createStudio({
    runsDir: options.runs,
    dataDirs,
    model: options.model,
    threads: options.threads,
    references: options.references === false ? null : options.references,
    allowedHosts: options.allowHost ?? [],
    allowedOrigins: options.allowOrigin ?? [],
    logger: options.verbose ? { level: "info", stream: process.stderr } : false,
  });
  const address = await studio.app.listen({ host: options.host, port: options.port });
  const url = `${address.replace("[::1]", "localhost")}/`;
  for (const dir of dataDirs) if (!existsSync(dir)) console.error(`[studio] note: data folder ${dir} does not exist (make one: reviewtune data demo --out ${dir}/demo)`);
  const ready = (async () => {
    if (studio.context.engineProblem) return console.error(`[studio] ${studio.context.engineProblem.problem}; ${studio.context.engineProblem.fix}`);
    console.error(`[studio] starting the engine with ${options.model}${studio.context.references ? ` and indexing training references from ${studio.context.references}` : ""}...`);
    await studio.prepare();
    if (!studio.context.engineProblem) console.error("[studio] engine ready");
  })();
  return { studio, url, ready };
}

/** Opens the URL in the desktop's browser when there is one; never fails the command. */
function openBrowser(url: string): void {
  const command = process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open";
  if (process.platform === "linux" && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return;
  const child = spawn(command, [url], { stdio: "ignore", detached: true });
  child.on("error", () => undefined);
  child.unref();
}

export async function runStudio(options: StudioCommandOptions): Promise<void> {
  const { studio, url, ready } = await startStudio(options);
  console.log(`reviewtune studio: ${url}`);
  if (options.open && process.stdout.isTTY) openBrowser(url);
  await ready;
  await serveUntilInterrupted("studio", "trainings started here save a checkpoint", () => studio.close());
}
