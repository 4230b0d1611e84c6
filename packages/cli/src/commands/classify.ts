import type { Command } from "commander";
import { positiveInteger } from "./shared.js";
import type { ClassifyOptions } from "../actions/classify-action.js";

export function registerClassify(program: Command): void {
  program
    .command("classify")
    .description("label review texts with a classification run (train --task classify): the label and every class's probability")
    .argument("<text...>", "one or more review texts")
    .option("--run <run-dir>", "a finished classification run")
    .option("--model <source>", "without --run: a fully tuned classifier folder (a run's model/), or the base of --adapter")
    .option("--adapter <dir>", "without --run: a classification run's adapter/ folder")
    .option("--allow-pickle", "allow loading pickle (.bin) weights you trust")
    .option("--max-length <n>", "tokens read per text at most", positiveInteger("--max-length"), 512)
    .option("--json", "print the engine's answer as JSON ({labels, outputs: [{label, probabilities}]})")
    .option("--verbose", "show the engine's full log")
    .action(async (texts: string[], options: ClassifyOptions) => {
      const { runClassify } = await import("../actions/classify-action.js");
      await runClassify(texts, options);
    });
}
