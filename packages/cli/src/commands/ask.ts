import type { Command } from "commander";
import { positiveInteger, temperature } from "./shared.js";
import type { AskOptions, GenerateOptions } from "../actions/generate-action.js";

/** The options ask and generate share: which model (and adapter) answers, and how. */
function withModelOptions(command: Command): Command {
  return command
    .option("--run <run-dir>", "use a finished run's model and adapter")
    .option("--model <source>", "base model (embedded name, folder, .gguf or hub id)", "smollm2-135m-instruct")
    .option("--adapter <dir>", "a PEFT adapter folder to apply")
    .option("--base", "with --run: answer with the run's base model, without the adapter")
    .option("--allow-pickle", "allow loading pickle (.bin) weights you trust")
    .option("--max-tokens <n>", "new tokens at most", positiveInteger("--max-tokens"), 128)
    .option("--temperature <t>", "0 = greedy, up to 2", temperature(), 0)
    .option("--backend <name>", "who answers: auto (llama.cpp when the model has a GGUF: the embedded model, an adapter run on it; else torch), llamacpp or torch", "auto")
    .option("--quant <type>", "on the llama.cpp path: the base GGUF's quantization (q8_0, q4_0 or source)")
    .option("--verbose", "show the engine's full log");
}

export function registerAsk(program: Command): void {
  withModelOptions(
    program
      .command("ask")
      .description("answer one prompt, streamed, with the base model or a fine-tuned run")
      .argument("<prompt>", "the user message"),
  ).action(async (prompt: string, options: AskOptions) => {
    const { runAsk } = await import("../actions/generate-action.js");
    await runAsk(prompt, options);
  });
}

export function registerGenerate(program: Command): void {
  withModelOptions(
    program
      .command("generate")
      .description("answer a JSONL file of prompts ({prompt} or {messages} per line) in batches, into a JSONL file")
      .requiredOption("--prompts <file>", "JSONL of prompts")
      .requiredOption("--out <file>", "where the answers go (JSONL)"),
  )
    .option("--batch-size <n>", "prompts per batch", positiveInteger("--batch-size"), 8)
    .action(async (options: GenerateOptions) => {
      const { runGenerate } = await import("../actions/generate-action.js");
      await runGenerate(options);
    });
}
