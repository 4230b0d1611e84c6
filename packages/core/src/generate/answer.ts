// Answers user prompts with the base model or base + adapter: the chat template is applied here,
// generation (batched, optionally streamed) happens in the engine.
import { readFileSync, existsSync } from "node:fs";
import { z } from "zod";
import { formatIssues, type GenerateResult, type TrainConfig } from "@reviewtune/contracts";
import type { EngineClient } from "../engine/client.js";
import { DataError } from "../errors.js";
import type { ChatMessage, ChatTemplate } from "../templates/chat-template.js";

export interface AnswerOptions {
  engine: EngineClient;
  model: TrainConfig["model"];
  template: ChatTemplate;
  adapter?: string | undefined;
  maxNewTokens?: number;
  temperature?: number;
  batchSize?: number;
  /** Called with (prompt index, new text) while tokens arrive. */
  onToken?: (index: number, text: string) => void;
  signal?: AbortSignal;
}

export async function answer(conversations: ChatMessage[][], options: AnswerOptions): Promise<GenerateResult> {
  const prompts = conversations.map((messages) => options.template.prompt(messages));
  return options.engine.request(
    "generate",
    {
      model: options.model,
      ...(options.adapter ? { adapter: options.adapter } : {}),
      prompts,
      max_new_tokens: options.maxNewTokens ?? 128,
      temperature: options.temperature ?? 0,
      batch_size: options.batchSize ?? 8,
      stream: options.onToken !== undefined,
    },
    {
      ...(options.onToken ? { onEvent: (event) => event.kind === "token" && options.onToken!(event.index, event.text) } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
}

const PromptRowSchema = z.union([
  z.object({ prompt: z.string().min(1) }),
  z.object({ messages: z.array(z.object({ role: z.enum(["system", "user", "assistant"]), content: z.string() })).min(1) }),
]);

/** Reads a JSONL of {prompt} or {messages} rows into conversations. */
export function readPromptFile(file: string): ChatMessage[][] {
  if (!existsSync(file)) throw new DataError(`prompts file ${file} does not exist`, file);
  const conversations: ChatMessage[][] = [];
  readFileSync(file, "utf8")
    .split("\n")
    .forEach((line, index) => {
      if (!line.trim()) return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (error) {
        throw new DataError(`${file}:${index + 1}: not valid JSON (${(error as Error).message})`, file, index + 1);
      }
      const parsed = PromptRowSchema.safeParse(value);
      if (!parsed.success) {
        throw new DataError(`${file}:${index + 1}: ${formatIssues(parsed.error).join("; ")}`, file, index + 1, {
          hint: 'each line needs "prompt" (a string) or "messages" (a chat)',
        });
      }
      conversations.push("prompt" in parsed.data ? [{ role: "user", content: parsed.data.prompt }] : parsed.data.messages);
    });
  if (conversations.length === 0) throw new DataError(`${file} has no prompts`, file);
  return conversations;
}
