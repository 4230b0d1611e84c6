import type { Command } from "commander";
import { Option } from "commander";
import { positiveInteger } from "./shared.js";

export interface ExportOptions {
  run: string;
  format: "merged" | "adapter";
  out?: string;
  prompts: number;
  maxTokens: number;
  verbose?: boolean;
}

export function registerExport(program: Command): void {
  program
    .command("export")
    .description("export a finished LoRA run: merged full weights (plain transformers, safetensors) checked for drift, or the PEFT adapter")
    .requiredOption("--run <run-dir>", "a finished LoRA run (train --method lora)")
    .addOption(new Option("--format <format>", "merged: the adapter folded into the base; adapter: the PEFT adapter folder as it is").choices(["merged", "adapter"]).default("merged"))
    .option("--out <dir>", "where the export goes (default: <run>/export/<format>); must not exist")
    .option("--prompts <n>", "merged: held-out prompts answered by base + adapter and by the export to measure drift", positiveInteger("--prompts"), 8)
    .option("--max-tokens <n>", "merged: greedy answer length in the drift check", positiveInteger("--max-tokens"), 32)
    .option("--verbose", "show the engine's full log")
    .action(async (options: ExportOptions) => {
      const { runExport } = await import("../actions/export-action.js");
      await runExport(options);
    });
}
