// `reviewtune chat` (interactive, optionally base and tuned side by side) and `reviewtune test`
// (a prompts file answered into one JSON document with timings).
import { createInterface } from "node:readline";
import { renameSync, writeFileSync } from "node:fs";
import { answer, chatTemplateFor, readPromptFile, type ChatMessage } from "@reviewtune/core";
import type { ChatOptions, TestOptions } from "../commands/chat.js";
import { modelFromOptions } from "../commands/shared.js";
import { startEngine } from "../engine.js";
import { sideBySide } from "./demo-action.js";

export async function runChat(options: ChatOptions): Promise<void> {
  const tuned = modelFromOptions({ run: options.run });
  const base = modelFromOptions({ run: options.run, base: true });
  const engine = await startEngine({ verbose: options.verbose ?? false });
  let input: ReturnType<typeof createInterface> | undefined;
  try {
    const template = await chatTemplateFor(engine, base.model, tuned.run?.config.data.template);
    // Created only now and iterated at once: lines read before an iterator is attached would be lost.
    input = createInterface({ input: process.stdin, terminal: process.stdin.isTTY });
    // each side keeps its own history: a conversation continues from what that model said
    const histories: Record<"base" | "tuned", ChatMessage[]> = { base: [], tuned: [] };
    console.error(`chatting with run ${tuned.run!.id}${options.sideBySide ? " (base | tuned)" : ""}; an empty line or end of input ends, /reset forgets the conversation`);
    process.stdout.write("> ");
    for await (const raw of input) {
      const line = raw.trim();
      if (!line) break;
      if (line === "/reset") {
        histories.base = [];
        histories.tuned = [];
        process.stdout.write("> ");
        continue;
      }
      const sides = options.sideBySide ? (["base", "tuned"] as const) : (["tuned"] as const);
      const replies: Record<string, string> = {};
      for (const side of sides) {
        const choice = side === "base" ? base : tuned;
        histories[side].push({ role: "user", content: line });
        const result = await answer([histories[side]], {
          engine,
          model: choice.model,
          template,
          adapter: choice.adapter,
          maxNewTokens: options.maxTokens,
          temperature: options.temperature,
          ...(options.sideBySide ? {} : { onToken: (_index: number, text: string) => process.stdout.write(text) }),
        });
        replies[side] = result.outputs[0]!.text;
        histories[side].push({ role: "assistant", content: replies[side]! });
      }
      if (options.sideBySide) console.log(sideBySide(replies.base!, replies.tuned!, ["base model", "fine-tuned"], Math.min(process.stdout.columns || 120, 140)));
      else process.stdout.write("\n");
      process.stdout.write("> ");
    }
  } finally {
    input?.close();
    await engine.shutdown();
  }
}

export async function runTest(options: TestOptions): Promise<void> {
  const conversations = readPromptFile(options.prompts);
  const choice = modelFromOptions({ run: options.run, base: options.base ?? false });
  const engine = await startEngine({ verbose: options.verbose ?? false });
  try {
    const template = await chatTemplateFor(engine, choice.run!.config.model, choice.run!.config.data.template);
    const result = await answer(conversations, { engine, model: choice.model, template, adapter: choice.adapter, maxNewTokens: options.maxTokens, batchSize: options.batchSize });
    const document = {
      run: choice.run!.id,
      model: choice.model.source,
      adapter: choice.adapter ?? null,
      seconds: result.seconds,
      tokens_per_second: result.tokens_per_second,
      answers: conversations.map((messages, index) => ({
        question: messages.at(-1)!.content,
        answer: result.outputs[index]!.text,
        new_tokens: result.outputs[index]!.new_tokens,
        finish_reason: result.outputs[index]!.finish_reason,
      })),
    };
    const partial = `${options.out}.partial`;
    writeFileSync(partial, `${JSON.stringify(document, null, 2)}\n`);
    renameSync(partial, options.out); // never a half-written answers file
    console.error(`${document.answers.length} answers written to ${options.out} (${result.seconds.toFixed(1)} s, ${result.tokens_per_second.toFixed(1)} tokens/s${choice.adapter ? ", with adapter" : ", base model"})`);
  } finally {
    await engine.shutdown();
  }
}
