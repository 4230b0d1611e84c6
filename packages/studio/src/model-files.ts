// A base model's files on disk, read without starting the engine: config.json (sizes, for the
// memory estimate) and the chat template (for the exact training string). The embedded model is the
// folder the engine materialized in the cache; hub ids are read from nothing (answers say so).
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { z } from "zod";
import { parseJson } from "@reviewtune/contracts";
import { ChatTemplate, cacheRoot } from "@reviewtune/core";

/** The local folder holding the model's config.json, or null (a hub id not in any local folder). */
export function modelFolder(source: string): string | null {
  if (source.endsWith(".gguf")) return existsSync(source) ? dirname(source) : null;
  if (existsSync(join(source, "config.json"))) return source;
  const models = join(cacheRoot(), "models");
  if (/^[a-z0-9.-]+$/.test(source) && existsSync(models)) {
    const prepared = readdirSync(models)
      .filter((name) => name.startsWith(`${source}-`) && existsSync(join(models, name, "config.json")))
      .map((name) => join(models, name))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
    if (prepared[0]) return prepared[0];
  }
  return null;
}

export const ModelConfigSchema = z.looseObject({
  hidden_size: z.number().int().positive(),
  intermediate_size: z.number().int().positive(),
  num_hidden_layers: z.number().int().positive(),
  num_attention_heads: z.number().int().positive(),
  num_key_value_heads: z.number().int().positive().optional(),
  head_dim: z.number().int().positive().optional(),
  vocab_size: z.number().int().positive(),
  tie_word_embeddings: z.boolean().optional(),
});
export type ModelConfig = z.infer<typeof ModelConfigSchema>;

export function readModelConfig(folder: string): ModelConfig {
  const file = join(folder, "config.json");
  return parseJson(readFileSync(file, "utf8"), ModelConfigSchema, file);
}

const TokenSchema = z.union([z.string(), z.looseObject({ content: z.string() }), z.null()]).optional();
const TokenizerConfigSchema = z.looseObject({ chat_template: z.unknown().optional(), bos_token: TokenSchema, eos_token: TokenSchema });
const tokenText = (token: z.infer<typeof TokenSchema>) => (token == null ? null : typeof token === "string" ? token : token.content);

/** The model's own chat template (chat_template.jinja or tokenizer_config.json), or null when it has none. */
export function readChatTemplate(folder: string, override?: string): ChatTemplate | null {
  const configFile = join(folder, "tokenizer_config.json");
  const config = existsSync(configFile) ? parseJson(readFileSync(configFile, "utf8"), TokenizerConfigSchema, configFile) : {};
  const jinja = join(folder, "chat_template.jinja");
  const source = override ?? (existsSync(jinja) ? readFileSync(jinja, "utf8") : typeof config.chat_template === "string" ? config.chat_template : null);
  if (!source) return null;
  return new ChatTemplate(source, { bos_token: tokenText(config.bos_token), eos_token: tokenText(config.eos_token) });
}
