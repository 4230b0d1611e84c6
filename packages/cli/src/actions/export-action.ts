// `reviewtune export`: a finished LoRA run as merged full weights (the engine merges, saves, reloads
// the saved folder with plain transformers and measures drift on held-out prompts) or as its PEFT
// adapter folder. An export folder is complete or absent: both are staged and renamed.
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { ConfigError, chatTemplateFor, convertLoraToGguf, demoPrompts, readGgufBaseInfo, readRunRecord, requireFinished, userTurns, type ChatMessage } from "@reviewtune/core";
import { runAdapterDir } from "@reviewtune/server";
import type { ExportOptions } from "../commands/export.js";
import { baseGgufOf, startEngine } from "../engine.js";

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** Held-out prompts for the drift check: the run's dataset test split when it has one, else demo prompts. */
function driftQuestions(train: string | undefined, seed: number, count: number): { questions: string[]; source: string } {
  const test = train && existsSync(train) && statSync(train).isDirectory() ? join(train, "test.jsonl") : undefined;
  if (test && existsSync(test)) {
    const questions = readFileSync(test, "utf8")
      .split("\n")
      .filter((line) => line.trim())
      .slice(0, count)
      .map((line) => userTurns((JSON.parse(line) as { messages: ChatMessage[] }).messages));
    if (questions.length > 0) return { questions, source: test };
  }
  return { questions: demoPrompts(seed + 1, count), source: "generated demo reviews" };
}

export async function runExport(options: ExportOptions): Promise<void> {
  const run = readRunRecord(options.run);
  requireFinished(run, options.run);
  if (run.result.model_dir) throw new ConfigError(`run ${run.id} is a full fine-tuning run: its model/ folder already holds merged transformers weights`, [], { hint: `use ${join(options.run, "model")} as it is` });
  if (!run.result.adapter_dir) throw new ConfigError(`run ${run.id} saved no adapter`);
  if (run.config.task === "classify") throw new ConfigError(`run ${run.id} is a classification run; export handles generative LoRA runs`, [], { hint: "serve it with reviewtune serve --run (POST /v1/classify)" });
  const adapter = resolve(runAdapterDir(options.run, run.result.adapter_dir));
  const out = resolve(options.out ?? join(options.run, "export", options.format === "gguf-lora" ? "adapter.gguf" : options.format));
  if (existsSync(out)) throw new ConfigError(`${out} already exists`, [], { hint: "choose another --out, or remove the old export first" });
  mkdirSync(dirname(out), { recursive: true });

  if (options.format === "adapter") {
    const staging = `${out}.partial`;
    rmSync(staging, { recursive: true, force: true });
    cpSync(adapter, staging, { recursive: true });
    renameSync(staging, out);
    console.log(`PEFT adapter of run ${run.id} (base ${run.config.model.source}) copied to ${out}`);
    console.log(`load it with: PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(<base>), "${out}")`);
    return;
  }

  if (options.format === "gguf-lora") {
    const baseGguf = options.baseGguf ? resolve(options.baseGguf) : await baseGgufOf(run.config.model, "--base-gguf");
    const base = readGgufBaseInfo(baseGguf);
    const result = convertLoraToGguf({ adapterDir: adapter, out, ...base });
    console.log(`GGUF LoRA (${result.tensors} tensors, rank ${result.rank}, alpha ${result.alpha}, ${mib(result.bytes)}) in ${out}`);
    console.log(`base GGUF: ${baseGguf} (${base.architecture}, ${base.headCount} heads, ${base.headCountKv} KV heads)`);
    console.log(`use it with: llama-cli -m ${baseGguf} --lora ${out}   (or an Ollama Modelfile: FROM <base gguf> / ADAPTER ${out})`);
    return;
  }

  const engine = await startEngine({ verbose: options.verbose ?? false });
  try {
    const template = await chatTemplateFor(engine, run.config.model, run.config.data.template);
    const { questions, source } = driftQuestions(run.config.data.train, run.config.training.seed, options.prompts);
    console.error(`merging the adapter of run ${run.id} into ${run.config.model.source}; drift check on ${questions.length} prompts from ${source}...`);
    const result = await engine.request("export_merged", {
      model: run.config.model,
      adapter,
      out,
      prompts: questions.map((content) => template.prompt([{ role: "user", content }])),
      max_new_tokens: options.maxTokens,
    });
    const { drift } = result;
    const report = { run: run.id, base: run.config.model.source, adapter, format: "merged", created: new Date().toISOString(), drift_prompts_from: source, ...result };
    writeFileSync(join(out, "reviewtune-export.json"), `${JSON.stringify(report, null, 2)}\n`);
    const total = result.files.reduce((sum, file) => sum + file.bytes, 0);
    console.log(`merged weights (${result.dtype}, ${mib(total)}) in ${out} (${result.seconds.toFixed(1)} s); loads with AutoModelForCausalLM.from_pretrained("${out}")`);
    console.log(`drift against base + adapter, the export loaded again with plain transformers, ${drift.prompts} prompts:`);
    console.log(`  identical greedy answers ${drift.identical_answers}/${drift.prompts}, same next token ${drift.top1_agreement}/${drift.prompts}, logits max |diff| ${drift.max_abs_logit_diff.toExponential(2)}, mean ${drift.mean_abs_logit_diff.toExponential(2)}`);
    if (drift.identical_answers < drift.prompts) {
      console.log("  some answers differ: merging reorders floating-point sums, which can flip a near-tie between tokens; the samples are in reviewtune-export.json");
    }
  } finally {
    await engine.shutdown();
  }
}
