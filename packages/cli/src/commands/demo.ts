import type { Command } from "commander";
import { positiveInteger } from "./shared.js";
import type { DemoOptions } from "../actions/demo-action.js";

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("the main job, offline: fine-tune the embedded SmolLM2-135M with LoRA on the demo reviews, then compare base and tuned answers")
    .option("--runs-dir <dir>", "where the run folder goes", "runs")
    .option("--reviews <n>", "demo reviews to generate (x4 examples each: three chat tasks and the analysis; default: the demo preset's, 40)", positiveInteger("--reviews"))
    .option("--epochs <n>", "training epochs (default: the demo preset's, 2)", positiveInteger("--epochs"))
    .option("--max-tokens <n>", "new tokens per answer", positiveInteger("--max-tokens"), 72)
    .option("--eval-reviews <n>", "held-out demo reviews in the closing evaluation", positiveInteger("--eval-reviews"), 40)
    .option("--verbose", "show the engine's full log")
    .option("--no-studio", "do not start the studio at the end (it starts only in an interactive terminal; elsewhere the command to start it is printed)")
    .action(async (options: DemoOptions) => {
      const { runDemo } = await import("../actions/demo-action.js");
      await runDemo(options);
    });
}
