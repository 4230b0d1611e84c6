import type { Command } from "commander";
import { collectSet, finiteNumber, positiveInteger } from "./shared.js";
import type { CompareMethodsOptions } from "../actions/compare-methods-action.js";

export function registerCompareMethods(program: Command): void {
  program
    .command("compare-methods")
    .description("train the same classification head with LoRA, QLoRA and full fine-tuning on the same data and seed; one table (markdown + JSON)")
    .requiredOption("--data <path>", "a dataset folder from `reviewtune data build` (or a JSONL of {text, label})")
    .option("--model <source>", "embedded model name, local HF folder, .gguf file or hub id", "smollm2-135m-instruct")
    .option("--methods <list>", "comma-separated: lora, qlora, full", "lora,qlora,full")
    .option("--labels <labels>", "rating (5 classes) | sentiment (3)", "sentiment")
    .option("--preset <name>", "base settings (e.g. llama2-7b-sentiment-lora); default: R3's LoRA settings (r16, alpha 64, dropout 0.1, all projections)")
    .option("--max-steps <n>", "optimizer steps per method", positiveInteger("--max-steps"))
    .option("--epochs <n>", "epochs per method (when --max-steps is not given)", finiteNumber("--epochs"))
    .option("--lr <rate>", "learning rate of LoRA and QLoRA", finiteNumber("--lr"), 1e-3)
    .option("--full-lr <rate>", "learning rate of full fine-tuning", finiteNumber("--full-lr"), 5e-5)
    .option("--batch-size <n>", "per-step batch size", positiveInteger("--batch-size"))
    .option("--max-length <n>", "tokens per review at most", positiveInteger("--max-length"))
    .option("--set <key=value>", "override any config field for every method, e.g. --set lora.r=8 (repeatable)", collectSet)
    .option("--out <dir>", "output folder (comparison.md, comparison.json, runs/); default comparisons/<time>")
    .option("--force", "replace a comparison already in --out")
    .option("--verbose", "show the engine's full log")
    .action(async (options: CompareMethodsOptions) => {
      const { runCompareMethods } = await import("../actions/compare-methods-action.js");
      await runCompareMethods(options);
    });
}
