// `reviewtune chat` (interactive, optionally base and tuned side by side) and `reviewtune test`
// (a prompts file answered into one JSON document with timings), through the one model interface.
import { createInterface } from "node:readline";

import { answerWith, readPromptFile, writeFileAtomic, type ChatMessage, type GenerationBackend } from "@reviewtune/core";
import { modelFromOptions } from "../lib/model-choice.js";
import { onInterrupt, openModel } from "../engine.js";
import { groundingForRun } from "../lib/grounding.js";
import { sideBySide } from "../lib/side-by-side.js";

export interface ChatOptions {
  run: string;
  sideBySide?: boolean;
  maxTokens: number;
  temperature: number;
  backend: string;
  quant?: string;
  verbose?: boolean;
}

export interface TestOptions {
  run: string;
  prompts: string;
  out: string;
  maxTokens: number;
  batchSize: number;
  base?: boolean;
  backend: string;
  quant?: string;
  verbose?: boolean;
}

export async function runChat(options: ChatOptions): Promise<void> {
  const tuned = modelFromOptions({ run: options.run });
  const base = modelFromOptions({ run: options.run, base: true });
  const open = { backend: options.backend, quant: options.quant, verbose: options.verbose };
  // An adapter run: one backend answers both sides (with and without the adapter). A fully tuned run
  // is another model than its base, so the base side needs a backend of its own.
  const tunedModel = await openModel(tuned, open);
  const opened: GenerationBackend[] = [tunedModel.backend];
  let input: ReturnType<typeof createInterface> | undefined;
  const controller = new AbortController();
  const dispose = onInterrupt(() => controller.abort(), "ending the chat");
  let grounding: Awaited<ReturnType<typeof groundingForRun>> | undefined;
  try {
    // A grounded run: each new question (both sides alike) carries its nearest training example; the histories keep it bare.
    grounding = await groundingForRun(tuned.run, tunedModel.backend, controller.signal, options.verbose ?? false);
    const sameModel = base.model.source === tuned.model.source;
    const baseModel = !options.sideBySide || sameModel ? { backend: tunedModel.backend, adapterDir: undefined } : await openModel(base, open);
    if (baseModel.backend !== tunedModel.backend) opened.push(baseModel.backend);
    const sides = { base: baseModel, tuned: tunedModel };
    // Created only now and iterated at once: lines read before an iterator is attached would be lost.
    input = createInterface({ input: process.stdin, terminal: process.stdin.isTTY });
    // each side keeps its own history: a conversation continues from what that model said
    const histories: Record<"base" | "tuned", ChatMessage[]> = { base: [], tuned: [] };
    console.error(`chatting with run ${tuned.run!.id} on ${tunedModel.backend.name}${options.sideBySide ? " (base | tuned)" : ""}; an empty line or end of input ends, /reset forgets the conversation`);
    process.stdout.write("> ");
    for await (const raw of input) {
      const line = raw.trim();
      if (!line || controller.signal.aborted) break;
      if (line === "/reset") {
        histories.base = [];
        histories.tuned = [];
        process.stdout.write("> ");
        continue;
      }
      const asked = options.sideBySide ? (["base", "tuned"] as const) : (["tuned"] as const);
      const replies: Record<string, string> = {};
      for (const side of asked) {
        histories[side].push({ role: "user", content: line });
        const result = await answerWith(sides[side].backend, await grounding.ground([histories[side]]), {
          adapterDir: sides[side].adapterDir,
          maxNewTokens: options.maxTokens,
          temperature: options.temperature,
          onToken: options.sideBySide ? undefined : (_index: number, text: string) => process.stdout.write(text),
          signal: controller.signal,
        });
        replies[side] = result.outputs[0]!.text;
        histories[side].push({ role: "assistant", content: replies[side]! });
      }
      if (options.sideBySide) console.log(sideBySide(replies.base!, replies.tuned!, ["base model", "fine-tuned"], Math.min(process.stdout.columns || 120, 140)));
      else process.stdout.write("\n");
      process.stdout.write("> ");
    }
  } finally {
    dispose();
    input?.close();
    await grounding?.close();
    for (const backend of opened) await backend.close();
  }
}

export async function runTest(options: TestOptions): Promise<void> {
  const conversations = readPromptFile(options.prompts);
  const choice = modelFromOptions({ run: options.run, base: options.base ?? false });
  const { backend, adapterDir } = await openModel(choice, { backend: options.backend, quant: options.quant, verbose: options.verbose });
  const controller = new AbortController();
  const dispose = onInterrupt(() => controller.abort(), "no answers file is written");
  let grounding: Awaited<ReturnType<typeof groundingForRun>> | undefined;
  try {
    grounding = await groundingForRun(choice.run, backend, controller.signal, options.verbose ?? false);
    const result = await answerWith(backend, await grounding.ground(conversations), { adapterDir, maxNewTokens: options.maxTokens, temperature: 0, batchSize: options.batchSize, signal: controller.signal });
    if (controller.signal.aborted) {
      console.error(`interrupted: nothing written to ${options.out}`);
      process.exitCode = 130;
      return;
    }
    const document = {
      run: choice.run!.id,
      model: choice.model.source,
      adapter: choice.adapter ?? null,
      backend: backend.name,
      seconds: result.seconds,
      tokens_per_second: result.tokens_per_second,
      answers: conversations.map((messages, index) => ({
        question: messages.at(-1)!.content,
        answer: result.outputs[index]!.text,
        new_tokens: result.outputs[index]!.new_tokens,
        finish_reason: result.outputs[index]!.finish_reason,
      })),
    };
    writeFileAtomic(options.out, `${JSON.stringify(document, null, 2)}\n`); // never a half-written answers file
    console.error(`${document.answers.length} answers written to ${options.out} (${result.seconds.toFixed(1)} s, ${result.tokens_per_second.toFixed(1)} tokens/s on ${backend.name}${choice.adapter ? ", with adapter" : ", base model"})`);
  } finally {
    dispose();
    await grounding?.close();
    await backend.close();
  }
}
