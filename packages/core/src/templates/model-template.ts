// The chat template a model answers in: the model's own (read by the engine from its tokenizer), or
// the override a config sets (data.template, e.g. recipe R2's "[INST]" format).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { TrainConfig } from "@reviewtune/contracts";
import type { EngineClient } from "../engine/client.js";
import { ConfigError } from "../errors.js";
import { ChatTemplate } from "./chat-template.js";

export async function chatTemplateFor(engine: EngineClient, model: TrainConfig["model"], override?: string): Promise<ChatTemplate> {
  const info = await engine.request("model_info", { model });
  const source = override ?? info.chat_template;
  if (!source) {
    throw new ConfigError(`${model.source} has no chat template`, [], {
      hint: "use a chat (instruct) model, set data.template to a Jinja chat template, or train on prompt/completion rows",
    });
  }
  return new ChatTemplate(source, { bos_token: info.bos_token, eos_token: info.eos_token });
}

/**
 * The chat template of a local model without loading it (for `serve --upstream`, whose upstream may
 * not say, as vLLM does not): a .gguf file's `tokenizer.chat_template`, or a model folder's
 * chat_template.jinja / tokenizer_config.json. Undefined for anything else (a hub id, the embedded
 * name: the upstream's GET /props is asked first).
 */
export async function localChatTemplate(source: string): Promise<ChatTemplate | undefined> {
  if (source.endsWith(".gguf") && existsSync(source)) {
    const { readGgufFileInfo } = await import("node-llama-cpp");
    const info = await readGgufFileInfo(source, { readTensorInfo: false });
    const tokenizer = (info.metadata as { tokenizer?: { chat_template?: string; ggml?: { tokens?: readonly string[]; bos_token_id?: number; eos_token_id?: number } } }).tokenizer;
    if (!tokenizer?.chat_template) return undefined;
    const token = (id: number | undefined) => (id !== undefined ? tokenizer.ggml?.tokens?.[id] : undefined);
    return new ChatTemplate(tokenizer.chat_template, { bos_token: token(tokenizer.ggml?.bos_token_id) ?? "", eos_token: token(tokenizer.ggml?.eos_token_id) ?? "" });
  }
  if (!existsSync(join(source, "config.json"))) return undefined;
  const config = existsSync(join(source, "tokenizer_config.json")) ? (JSON.parse(readFileSync(join(source, "tokenizer_config.json"), "utf8")) as Record<string, unknown>) : {};
  const text = (value: unknown) => (typeof value === "string" ? value : typeof value === "object" && value !== null && typeof (value as { content?: unknown }).content === "string" ? (value as { content: string }).content : "");
  const listed = Array.isArray(config.chat_template) ? (config.chat_template as { name?: string; template?: string }[]).find((entry) => entry.name === "default")?.template : undefined;
  const template = existsSync(join(source, "chat_template.jinja")) ? readFileSync(join(source, "chat_template.jinja"), "utf8") : typeof config.chat_template === "string" ? config.chat_template : listed;
  return template ? new ChatTemplate(template, { bos_token: text(config.bos_token), eos_token: text(config.eos_token) }) : undefined;
}
