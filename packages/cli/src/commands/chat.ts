import type { Command } from "commander";
import { finiteNumber, positiveInteger } from "./shared.js";

export interface ChatOptions {
  run: string;
  sideBySide?: boolean;
  maxTokens: number;
  temperature: number;
  verbose?: boolean;
}

export interface TestOptions {
  run: string;
  prompts: string;
  out: string;
  maxTokens: number;
  batchSize: number;
  base?: boolean;
  verbose?: boolean;
}

export function registerChat(program: Command): void {
  program
    .command("chat")
    .description("talk to a fine-tuned run in the terminal; with --side-by-side the base model answers each turn too")
    .requiredOption("--run <run-dir>", "a finished run")
    .option("--side-by-side", "base and tuned model answer every turn, shown next to each other")
    .option("--max-tokens <n>", "new tokens per answer at most", positiveInteger("--max-tokens"), 128)
    .option("--temperature <t>", "0 = greedy", finiteNumber("--temperature"), 0)
    .option("--verbose", "show the engine's full log")
    .action(async (options: ChatOptions) => {
      const { runChat } = await import("../actions/chat-action.js");
      await runChat(options);
    });
}

export function registerTest(program: Command): void {
  program
    .command("test")
    .description("answer a file of prompts ({prompt} or {messages} per line) with a run's model into one JSON file (recipe R2's full test)")
    .requiredOption("--run <run-dir>", "a finished run")
    .requiredOption("--prompts <file>", "JSONL of prompts")
    .option("--out <file>", "the JSON file to write", "answers.json")
    .option("--base", "answer with the run's base model, without the adapter")
    .option("--max-tokens <n>", "new tokens per answer at most", positiveInteger("--max-tokens"), 128)
    .option("--batch-size <n>", "prompts per batch", positiveInteger("--batch-size"), 8)
    .option("--verbose", "show the engine's full log")
    .action(async (options: TestOptions) => {
      const { runTest } = await import("../actions/chat-action.js");
      await runTest(options);
    });
}
