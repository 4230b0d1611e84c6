import type { Command } from "commander";
import { positiveInteger, temperature } from "./shared.js";
import type { ChatOptions, TestOptions } from "../actions/chat-action.js";

/** Who answers: the same choice as ask, generate, analyze and eval. */
function withBackendOptions(command: Command): Command {
  return command
    .option("--backend <name>", "who answers: auto (llama.cpp when the run is an adapter on a model with a GGUF, else torch), llamacpp or torch", "auto")
    .option("--quant <type>", "on the llama.cpp path: the base GGUF's quantization (q8_0, q4_0 or source)");
}

export function registerChat(program: Command): void {
  withBackendOptions(program
    .command("chat")
    .description("talk to a fine-tuned run in the terminal; with --side-by-side the base model answers each turn too")
    .requiredOption("--run <run-dir>", "a finished run")
    .option("--side-by-side", "base and tuned model answer every turn, shown next to each other")
    .option("--max-tokens <n>", "new tokens per answer at most", positiveInteger("--max-tokens"), 128)
    .option("--temperature <t>", "0 = greedy, up to 2", temperature(), 0)
    .option("--verbose", "show the engine's full log"))
    .action(async (options: ChatOptions) => {
      const { runChat } = await import("../actions/chat-action.js");
      await runChat(options);
    });
}

export function registerTest(program: Command): void {
  withBackendOptions(program
    .command("test")
    .description("answer a file of prompts ({prompt} or {messages} per line) with a run's model into one JSON file (recipe R2's full test)")
    .requiredOption("--run <run-dir>", "a finished run")
    .requiredOption("--prompts <file>", "JSONL of prompts")
    .option("--out <file>", "the JSON file to write", "answers.json")
    .option("--base", "answer with the run's base model, without the adapter")
    .option("--max-tokens <n>", "new tokens per answer at most", positiveInteger("--max-tokens"), 128)
    .option("--batch-size <n>", "prompts per batch", positiveInteger("--batch-size"), 8)
    .option("--verbose", "show the engine's full log"))
    .action(async (options: TestOptions) => {
      const { runTest } = await import("../actions/chat-action.js");
      await runTest(options);
    });
}
