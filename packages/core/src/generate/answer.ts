// Answers user prompts with the base model or base + adapter: the chat template is applied here,
// generation (batched, optionally streamed) happens in the engine.
import { z } from "zod";
import type { GenerateResult, TrainConfig } from "@reviewtune/contracts";
import type { EngineClient } from "../engine/client.js";
import { readJsonl } from "../data/jsonl.js";
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
  const rows = readJsonl(file, PromptRowSchema, { what: "prompts file", hint: 'each line needs "prompt" (a string) or "messages" (a chat)' });
  return rows.map((row) => ("prompt" in row ? [{ role: "user", content: row.prompt }] : row.messages));
}
