// Answers user prompts with the base model or base + adapter: the chat template is applied here,
// generation (batched, optionally streamed) happens in the engine.
import { z } from "zod";
import { ExampleMessageSchema, type GenerateResult, type TrainConfig } from "@reviewtune/contracts";
import type { EngineClient } from "../engine/client.js";
import { readJsonl } from "../data/jsonl.js";
import type { GenerationBackend } from "../model/backend.js";
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

export interface BackendAnswerOptions {
  /** The adapter's folder (loaded on the backend); absent: the base model answers. */
  adapterDir?: string | undefined;
  maxNewTokens: number;
  temperature: number;
  /** Conversations per generate call (the torch engine pads a batch; llama.cpp decodes its sequences together). */
  batchSize?: number;
  onToken?: ((index: number, text: string) => void) | undefined;
  signal: AbortSignal;
}

/**
 * Conversations answered through the model interface (either backend), in batches, the backend's
 * chat template applied: what `ask`, `generate`, `chat` and `test` use. Indices passed to `onToken`
 * are the conversations' own. Times and throughput are over all batches.
 */
export async function answerWith(backend: GenerationBackend, conversations: ChatMessage[][], options: BackendAnswerOptions): Promise<GenerateResult> {
  const size = Math.max(1, options.batchSize ?? 8);
  const outputs: GenerateResult["outputs"] = [];
  let seconds = 0;
  let adapterLoaded = false;
  for (let start = 0; start < conversations.length; start += size) {
    const batch = conversations.slice(start, start + size);
    const result = await backend.generate({
      adapterDir: options.adapterDir,
      prompts: batch.map((messages) => backend.renderChat(messages)),
      maxNewTokens: options.maxNewTokens,
      temperature: options.temperature,
      topP: 1,
      seed: 0,
      onToken: options.onToken ? (index, text) => options.onToken!(start + index, text) : undefined,
      signal: options.signal,
    });
    outputs.push(...result.outputs);
    seconds += result.seconds;
    adapterLoaded ||= result.adapter_loaded;
    if (options.signal.aborted) break; // the cancelled batch's partial answers are returned; no new batch starts
  }
  const tokens = outputs.reduce((sum, output) => sum + output.new_tokens, 0);
  return { outputs, seconds, tokens_per_second: seconds > 0 ? tokens / seconds : 0, adapter_loaded: adapterLoaded };
}

const PromptRowSchema = z.union([
  z.object({ prompt: z.string().min(1) }),
  z.object({ messages: z.array(ExampleMessageSchema).min(1) }),
]);

/** Reads a JSONL of {prompt} or {messages} rows into conversations. */
export function readPromptFile(file: string): ChatMessage[][] {
  const rows = readJsonl(file, PromptRowSchema, { what: "prompts file", hint: 'each line needs "prompt" (a string) or "messages" (a chat)' });
  return rows.map((row) => ("prompt" in row ? [{ role: "user", content: row.prompt }] : row.messages));
}
