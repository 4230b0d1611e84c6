import type { Command } from "commander";
import { availableParallelism } from "node:os";
import { ConfigError } from "@reviewtune/core";
import { collect, portNumber, positiveInteger } from "./shared.js";
import type { StudioCommandOptions } from "../actions/studio-action.js";

export function registerStudio(program: Command): void {
  program
    .command("studio")
    .description("the web studio on 127.0.0.1 (datasets, training, compare, evaluation; offline): prints its URL")
    .option("--port <n>", "port (0: any free port)", portNumber, 7860)
    .option("--host <host>", "address to listen on (loopback only: the studio starts trainings and has no login)", "127.0.0.1")
    .option("--runs <dir>", "the runs folder", "runs")
    .option("--data <dir>", "a dataset folder, or a folder of them (repeatable; default: data)", collect)
    .option("--model <source>", "the base model the Compare page asks (runs trained on it load as adapters)", "smollm2-135m-instruct")
    .option("--references <dataset>", "dataset whose training examples answer as references (default: the first dataset found)")
    .option("--no-references", "no training references")
    // Half the cores by default: the studio answers Compare questions while a training it started
    // computes on the same machine, and two torch processes with a thread per core each made every
    // answer many times slower. A training takes the cores this engine leaves, and gives one back
    // while it answers (training.threads 0: decision 0027).
    .option("--threads <n>", "CPU threads of the engine that answers the Compare page (the rest of the cores for a training beside it)", positiveInteger("--threads"), Math.max(1, Math.floor(availableParallelism() / 2)))
    .option("--no-open", "do not open a browser")
    .option("--allow-host <name>", "also accept requests whose Host is this name (repeatable); other names than localhost get 403 (DNS rebinding)", collect, [])
    .option("--allow-origin <origin>", "also accept requests from pages of this origin (repeatable); other web pages get 403", collect, [])
    .option("--verbose", "log every request")
    .action(async (options: StudioCommandOptions) => {
      const { runStudio } = await import("../actions/studio-action.js");
      await runStudio(options);
    });
}
