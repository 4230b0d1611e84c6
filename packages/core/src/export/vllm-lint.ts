// Can vLLM serve this PEFT adapter as it is (`vllm serve <base> --enable-lora --lora-modules
// name=path`)? What vLLM refuses or would apply differently, each with its fix, read from the adapter
// folder alone: adapter_config.json, the weights' tensor names, and what the engine recorded of the
// base (reviewtune_base.json). vLLM's own checks (vllm/lora/peft_helper.py and its LoRA model loader):
// no modules_to_save, no DoRA, bias "none" (a LoRA bias needs a flag recent versions dropped), a rank
// within --max-lora-rank (one of 8..512), and only the projections it maps (for Llama-family decoders
// q/k/v/o and gate/up/down, packed into qkv_proj and gate_up_proj); per-module ranks or alphas are not
// read by vLLM, and added tokens (new embeddings) are not served by current versions.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ALL_LINEAR_PROJECTIONS, VLLM_MAX_LORA_RANKS, type VllmLint } from "@reviewtune/contracts";
import { readJsonFile } from "../files.js";
import { readPeftAdapter, readSafetensorsHeader } from "./peft-adapter.js";

/** The projections vLLM applies LoRA to in Llama-family decoders (PEFT's names): the same seven the presets target. */
export const VLLM_LORA_MODULES: readonly string[] = ALL_LINEAR_PROJECTIONS;

const BaseRecordSchema = z.looseObject({ hub_id: z.string().nullable().optional(), local_path: z.string().nullable().optional() });

/**
 * The lint of one adapter folder. `name`: the adapter's name in `--lora-modules`; `servedFrom`: the
 * folder the command gives vLLM (default: this one, e.g. an export's copy); `base`: the model vLLM
 * serves (default: the hub id the engine recorded, else the adapter's base_model_name_or_path).
 */
export function lintAdapterForVllm(adapterDir: string, options: { name: string; servedFrom?: string; base?: string | undefined }): VllmLint {
  const { config, weightsFile } = readPeftAdapter(adapterDir);
  const problems: VllmLint["problems"] = [];
  const problem = (field: string, message: string, fix: string) => problems.push({ field, message, fix });
  if (config.peft_type && config.peft_type !== "LORA") problem("peft_type", `the adapter is ${config.peft_type}, and vLLM serves LoRA adapters only`, "train with method lora or qlora");
  if (config.modules_to_save?.length) {
    problem("modules_to_save", `modules_to_save (${config.modules_to_save.join(", ")}) are fully trained copies of base modules; vLLM only supports modules_to_save being None`, "train without lora.modules_to_save, or export --format merged and serve the merged model");
  }
  if (config.use_dora) problem("use_dora", "DoRA adapters are not supported by vLLM", "train plain LoRA, or export --format merged");
  if (config.bias && config.bias !== "none") problem("bias", `bias "${config.bias}": vLLM loads LoRA biases only behind a flag recent versions removed`, 'train with lora.bias "none"');
  const maxRank = VLLM_MAX_LORA_RANKS.find((rank) => rank >= config.r);
  if (maxRank === undefined) problem("r", `rank ${config.r} is above the largest --max-lora-rank vLLM accepts (${VLLM_MAX_LORA_RANKS.at(-1)})`, `train with lora.r at most ${VLLM_MAX_LORA_RANKS.at(-1)}`);
  if (Object.keys(config.rank_pattern ?? {}).length || Object.keys(config.alpha_pattern ?? {}).length) {
    problem("rank_pattern", "per-module ranks or alphas (rank_pattern / alpha_pattern): vLLM reads one r and one lora_alpha, so its answers would differ from the adapter's", "train with one rank and alpha for every module");
  }
  const known = new Set(VLLM_LORA_MODULES);
  if (typeof config.target_modules === "string") {
    problem("target_modules", `target_modules is the pattern "${config.target_modules}", not a list of module names vLLM can map`, `train with lora.target_modules among ${VLLM_LORA_MODULES.join(", ")}`);
  } else {
    const unknown = (config.target_modules ?? []).filter((module) => !known.has(module));
    if (unknown.length) problem("target_modules", `vLLM applies LoRA to ${VLLM_LORA_MODULES.join(", ")}; not to ${unknown.join(", ")}`, `train with lora.target_modules among ${VLLM_LORA_MODULES.join(", ")}`);
  }
  const added = ["added_tokens.json", "new_embeddings.safetensors"].filter((file) => existsSync(join(adapterDir, file)));
  const embeddings = [...readSafetensorsHeader(weightsFile).entries.keys()].filter((name) => /(?:^|\.)(?:embed_tokens|lm_head)(?:\.|$)/.test(name) && !/lora_[AB]/.test(name));
  if (added.length || embeddings.length) {
    problem("tokens", `the adapter carries new tokens or embeddings (${[...added, ...embeddings.slice(0, 3)].join(", ")}), which current vLLM versions do not serve`, "train without added tokens (the base's tokenizer as it is)");
  }
  const baseFile = join(adapterDir, "reviewtune_base.json");
  const recorded = existsSync(baseFile) ? readJsonFile(baseFile, BaseRecordSchema) : undefined;
  const base = options.base ?? recorded?.hub_id ?? config.base_model_name_or_path ?? recorded?.local_path ?? "<base model>";
  const command = `vllm serve ${base} --enable-lora --lora-modules ${options.name}=${options.servedFrom ?? adapterDir} --max-lora-rank ${maxRank ?? config.r} --max-loras 1`;
  return { compatible: problems.length === 0, rank: config.r, max_lora_rank: maxRank ?? null, base, problems, command };
}
