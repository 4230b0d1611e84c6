// A PEFT adapter folder as the exports and the llama.cpp backend read it: adapter_config.json through
// one schema, and the tensors its safetensors header names (GGUF conversion reads the data after it;
// the vLLM lint only the names).
import { closeSync, existsSync, fstatSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { DataError } from "../errors.js";
import { readJsonFile } from "../files.js";

/** The fields of adapter_config.json that reviewtune reads (PEFT keeps others; they pass through). */
export const AdapterConfigSchema = z.looseObject({
  peft_type: z.string().optional(),
  r: z.number().int().positive(),
  lora_alpha: z.number(),
  target_modules: z.union([z.array(z.string()), z.string()]).nullable().optional(),
  bias: z.string().optional(),
  use_rslora: z.boolean().optional(),
  use_dora: z.boolean().optional(),
  rank_pattern: z.record(z.string(), z.number()).optional(),
  alpha_pattern: z.record(z.string(), z.number()).optional(),
  modules_to_save: z.array(z.string()).nullable().optional(),
  base_model_name_or_path: z.string().nullable().optional(),
});
export type AdapterConfig = z.infer<typeof AdapterConfigSchema>;

/** An adapter folder's config and where its files are; a folder without both files is refused by name. */
export function readPeftAdapter(adapterDir: string): { config: AdapterConfig; configFile: string; weightsFile: string } {
  const configFile = join(adapterDir, "adapter_config.json");
  const weightsFile = join(adapterDir, "adapter_model.safetensors");
  if (!existsSync(configFile) || !existsSync(weightsFile)) {
    throw new DataError(`${adapterDir} is not a PEFT adapter folder (needs adapter_config.json and adapter_model.safetensors)`, adapterDir);
  }
  return { config: readJsonFile(configFile, AdapterConfigSchema), configFile, weightsFile };
}

export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** A safetensors file's header (read alone, not the weights): each tensor's entry, and where the data begins. */
export function readSafetensorsHeader(file: string): { entries: Map<string, SafetensorsEntry>; dataStart: number } {
  const handle = openSync(file, "r");
  try {
    const size = fstatSync(handle).size;
    const prefix = Buffer.alloc(8);
    if (size < 8 || readSync(handle, prefix, 0, 8, 0) !== 8) throw new DataError(`${file} is not a safetensors file (too short)`, file);
    const headerLength = Number(prefix.readBigUInt64LE(0));
    if (headerLength <= 0 || 8 + headerLength > size) throw new DataError(`${file} is not a safetensors file (bad header length)`, file);
    const bytes = Buffer.alloc(headerLength);
    readSync(handle, bytes, 0, headerLength, 8);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(bytes.toString("utf8")) as Record<string, unknown>;
    } catch {
      throw new DataError(`${file} has a corrupt safetensors header`, file);
    }
    const entries = new Map(Object.entries(header).filter(([name]) => name !== "__metadata__") as Array<[string, SafetensorsEntry]>);
    return { entries, dataStart: 8 + headerLength };
  } finally {
    closeSync(handle);
  }
}
