import type { Command } from "commander";
import { Option } from "commander";
import { GGUF_QUANTS } from "../lib/gguf-quants.js";
import { positiveInteger } from "./shared.js";
import type { ExportOptions } from "../actions/export-action.js";

export function registerExport(program: Command): void {
  program
    .command("export")
    .description("export a finished LoRA run: merged full weights (plain transformers, safetensors) checked for drift, the PEFT adapter, or a GGUF LoRA for llama.cpp")
    .requiredOption("--run <run-dir>", "a finished LoRA run (train --method lora)")
    .addOption(new Option("--format <format>", "merged: the adapter folded into the base; adapter: the PEFT adapter folder as it is; gguf-lora: the adapter as a GGUF LoRA for llama.cpp / Ollama over the base GGUF; vllm: the adapter folder checked against what vLLM serves, with the `vllm serve` command").choices(["merged", "adapter", "gguf-lora", "vllm"]).default("merged"))
    .option("--out <path>", "where the export goes (default: <run>/export/<format>, for gguf-lora the file <run>/export/adapter.gguf); must not exist")
    .option("--base-gguf <file>", "gguf-lora: the base model's GGUF (default: the one the base was loaded from, e.g. the embedded model's)")
    .addOption(new Option("--quant <type>", "gguf-lora: also measure drift over the base GGUF requantized to this type, as serve --backend llamacpp uses it (default: q8_0 for the model's own GGUF, source for --base-gguf)").choices(GGUF_QUANTS))
    .option("--prompts <n>", "held-out prompts answered by base + adapter and by the export to measure drift", positiveInteger("--prompts"), 8)
    .option("--max-tokens <n>", "greedy answer length in the drift check", positiveInteger("--max-tokens"), 32)
    .option("--verbose", "show the engine's full log")
    .action(async (options: ExportOptions) => {
      const { runExport } = await import("../actions/export-action.js");
      await runExport(options);
    });
}
