// `reviewtune export`: a finished LoRA run as merged full weights (the engine merges, saves, reloads
// the saved folder with plain transformers and measures drift on held-out prompts), as a GGUF LoRA
// (our converter; its drift measured in llama.cpp against the PEFT adapter), or as its PEFT adapter
// folder. An export is complete or absent: each is staged and renamed.
import { cpSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { ConfigError, answer, chatTemplateFor, runGrounding, convertLoraToGguf, demoPromptTasks, parseAnswer, REVIEW_TASKS, readGgufBaseInfo, readRunRecord, requireFinished, datasetPath, hasDatasetFile, readExampleRows, lintAdapterForVllm, runAdapterDir, runPath, stagingPath, userTurns, writeJsonAtomic, type ChatMessage, type EngineClient, type ReviewTask, type RunRecord, type FinishedRunRecord } from "@reviewtune/core";
import { LlamaCppBackend } from "@reviewtune/core";
import { servingGguf, startEngine } from "../engine.js";
import type { GgufQuant } from "../lib/gguf-quants.js";

export interface ExportOptions {
  run: string;
  format: "merged" | "adapter" | "gguf-lora" | "vllm";
  baseGguf?: string;
  quant?: GgufQuant;
  out?: string;
  prompts: number;
  maxTokens: number;
  verbose?: boolean;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/**
 * Held-out prompts for the drift check, each with its task so the labels two answers state can be
 * compared: the run's dataset test split when it has one (`data.train` is the dataset folder, or its
 * train.jsonl beside a card.json), else demo prompts.
 */
export function driftQuestions(train: string | undefined, seed: number, count: number): { questions: string[]; tasks: Array<string | undefined>; source: string } {
  const folder = !train || !existsSync(train) ? undefined : statSync(train).isDirectory() ? train : hasDatasetFile(dirname(train), "card") ? dirname(train) : undefined;
  const test = folder ? datasetPath(folder, "test") : undefined;
  if (test && existsSync(test)) {
    const rows = readExampleRows(test, { what: "test split", allowEmpty: true }).slice(0, count);
    if (rows.length > 0) return { questions: rows.map((row) => userTurns(row.messages)), tasks: rows.map((row) => row.task), source: test };
  }
  const demo = demoPromptTasks(seed + 1, count);
  return { questions: demo.map((item) => item.prompt), tasks: demo.map((item) => item.task), source: "generated demo reviews" };
}

/** Tasks whose answer states one comparable label (a summary states none; the analysis JSON is compared whole by identical_answers). */
const LABELLED_TASKS = new Set<string>(REVIEW_TASKS.filter((task) => task !== "summary"));

/** What a task's answer states, as one comparable string; undefined for a task without one label. */
function labelOf(task: string | undefined, answer: string): string | undefined {
  if (!task || !LABELLED_TASKS.has(task)) return undefined;
  const parsed = parseAnswer(task as ReviewTask, answer);
  const value = { sentiment: parsed.sentiment, rating: parsed.stars, quality: parsed.quality, recommendation: parsed.recommendation, features: parsed.features?.slice().sort().join(", ") }[task];
  return value === undefined ? "(unparseable)" : String(value);
}

/** Of the prompts with a labelled task, how many there were and how many of the two answers state the same label. */
export function labelAgreement(tasks: Array<string | undefined>, reference: string[], answers: string[]): { labelled: number; same_label: number } {
  const labelled = tasks.map((task, index) => [labelOf(task, reference[index]!), labelOf(task, answers[index]!)] as const).filter(([label]) => label !== undefined);
  return { labelled: labelled.length, same_label: labelled.filter(([a, b]) => a === b).length };
}

/**
 * The exported GGUF LoRA in llama.cpp (over each base GGUF given: the model's own file and the one
 * `serve --backend llamacpp` uses) against the PEFT adapter in the engine, greedy, on the same prompts:
 * identical answers, and answers that state the same label (sentiment, stars...) for the prompt's task.
 */
async function ggufDrift(engine: EngineClient, run: RunRecord, adapter: string, lora: string, bases: Array<{ label: string; file: string }>, prompts: number, maxTokens: number) {
  const { questions, tasks, source } = driftQuestions(run.config.data.train, run.config.training.seed, prompts);
  // A run trained with grounded prompts is compared on the prompts it answers in use: each with its nearest training example.
  const ground = await runGrounding(run, engine);
  const conversations: ChatMessage[][] = questions.map((content) => [{ role: "user", content }]);
  const asked = ground ? await ground(conversations) : conversations;
  console.error(`drift check: ${questions.length} prompts from ${source}${ground ? ", grounded as the run was trained" : ""}, greedy, ${maxTokens} tokens; the PEFT adapter in the engine first...`);
  const template = await chatTemplateFor(engine, run.config.model, run.config.data.template);
  const result = await answer(asked, { engine, model: run.config.model, template, adapter, maxNewTokens: maxTokens });
  const reference = result.outputs.map((output) => output.text.trim());
  const rows = [];
  for (const base of bases) {
    const backend = new LlamaCppBackend({ gguf: base.file, templateOverride: run.config.data.template, parallel: 1, mergeAdapters: false }); // the LoRA file as llama.cpp / Ollama apply it
    try {
      await backend.start();
      await backend.loadAdapter(adapter, lora);
      const result = await backend.generate({
        adapterDir: adapter,
        prompts: asked.map((messages) => backend.renderChat(messages)),
        maxNewTokens: maxTokens,
        temperature: 0,
        topP: 1,
        seed: 0,
        signal: new AbortController().signal,
      });
      const answers = result.outputs.map((output) => output.text.trim());
      rows.push({
        base: base.label,
        file: base.file,
        prompts: answers.length,
        identical_answers: answers.filter((answer, index) => answer === reference[index]).length,
        ...labelAgreement(tasks, reference, answers),
        samples: answers.slice(0, 3).map((answer, index) => ({ prompt: questions[index]!, adapter: reference[index]!, gguf: answer })),
      });
    } finally {
      await backend.close();
    }
  }
  return { prompts_from: source, grounded: ground !== undefined, max_new_tokens: maxTokens, rows };
}

export async function runExport(options: ExportOptions): Promise<void> {
  const run = readRunRecord(options.run);
  requireFinished(run, options.run);
  await exportRun(run, options);
  if (run.config.data.grounding === "nearest") {
    // The weights travel; the reference index the run reads at inference does not (decision 0026).
    console.log(
      `note: run ${run.id} was trained with grounded prompts (data.grounding: nearest): it answers well when each prompt carries its nearest training example, ` +
        `which reviewtune adds from ${run.config.data.train ?? "its dataset folder"}. This export holds the weights only: served on its own it gets bare prompts. ` +
        `Put reviewtune in front (serve --run ${options.run} --upstream <the server's URL>: it grounds each chat request), or ground prompts in the same format yourself.`,
    );
  }
}

async function exportRun(run: FinishedRunRecord, options: ExportOptions): Promise<void> {
  if (run.result.model_dir) throw new ConfigError(`run ${run.id} is a full fine-tuning run: its model/ folder already holds merged transformers weights`, [], { hint: `use ${runPath(options.run, "model")} as it is` });
  if (!run.result.adapter_dir) throw new ConfigError(`run ${run.id} saved no adapter`);
  if (run.config.task === "classify") throw new ConfigError(`run ${run.id} is a classification run; export handles generative LoRA runs`, [], { hint: "serve it with reviewtune serve --run (POST /v1/classify)" });
  const adapter = resolve(runAdapterDir(options.run, run.result.adapter_dir));
  const out = resolve(options.out ?? join(options.run, "export", options.format === "gguf-lora" ? "adapter.gguf" : options.format));
  if (existsSync(out)) throw new ConfigError(`${out} already exists`, [], { hint: "choose another --out, or remove the old export first" });
  mkdirSync(dirname(out), { recursive: true });

  if (options.format === "vllm") {
    // Checked before anything is written: an adapter vLLM would refuse is not exported as one it serves.
    const lint = lintAdapterForVllm(adapter, { name: run.id, servedFrom: out });
    if (!lint.compatible) {
      throw new ConfigError(`vLLM cannot serve the adapter of run ${run.id} as it is:\n${lint.problems.map((problem) => `  - ${problem.field}: ${problem.message}; fix: ${problem.fix}`).join("\n")}`, lint.problems.map((problem) => problem.field), {
        hint: "export --format merged gives a full model vLLM serves without LoRA",
      });
    }
    const staging = stagingPath(out);
    rmSync(staging, { recursive: true, force: true });
    cpSync(adapter, staging, { recursive: true });
    renameSync(staging, out);
    console.log(`PEFT adapter of run ${run.id} exported for vLLM to ${out} (rank ${lint.rank}, --max-lora-rank ${lint.max_lora_rank})`);
    console.log(`serve it with: ${lint.command}`);
    console.log(`then ask for model "${run.id}" on vLLM's /v1/chat/completions`);
    return;
  }

  if (options.format === "adapter") {
    const staging = stagingPath(out);
    rmSync(staging, { recursive: true, force: true });
    cpSync(adapter, staging, { recursive: true });
    renameSync(staging, out);
    console.log(`PEFT adapter of run ${run.id} (base ${run.config.model.source}) copied to ${out}`);
    console.log(`load it with: PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(<base>), "${out}")`);
    return;
  }

  if (options.format === "gguf-lora") {
    // One engine for the whole export: the base GGUF's path, its requantization, the adapter's answers.
    const engine = await startEngine({ verbose: options.verbose ?? false });
    try {
      const serving = await servingGguf(run.config.model, { flag: "--base-gguf", explicit: options.baseGguf, quant: options.quant, engine });
      const base = readGgufBaseInfo(serving.source);
      const result = convertLoraToGguf({ adapterDir: adapter, out, ...base }); // staged and renamed by writeGguf
      console.log(`GGUF LoRA (${result.tensors} tensors, rank ${result.rank}, alpha ${result.alpha}, ${mib(result.bytes)}) in ${out}`);
      console.log(`base GGUF: ${serving.source} (${base.architecture}, ${base.headCount} heads, ${base.headCountKv} KV heads)`);
      const bases = [{ label: basename(serving.source), file: serving.source }];
      if (serving.file !== serving.source) bases.push({ label: `${basename(serving.source)} as ${basename(serving.file).split(".").at(-2)} (what serve --backend llamacpp loads${options.quant ? ` with --quant ${options.quant}` : ""})`, file: serving.file });
      const drift = await ggufDrift(engine, run, adapter, out, bases, options.prompts, options.maxTokens);
      const report = { ...result, run: run.id, base: run.config.model.source, adapter, format: "gguf-lora", out, created: new Date().toISOString(), drift };
      writeJsonAtomic(`${out}.json`, report);
      console.log(`drift against the PEFT adapter (engine, greedy) on ${drift.rows[0]?.prompts ?? 0} prompts, llama.cpp with the exported file over:`);
      for (const row of drift.rows) {
        console.log(`  ${row.base}: identical answers ${row.identical_answers}/${row.prompts}${row.labelled ? `, same label ${row.same_label}/${row.labelled}` : ""}`);
      }
      if (drift.rows.some((row) => row.identical_answers < row.prompts)) {
        console.log(`  (quantized bases and another kernel library round differently: a near-tie can change a word; the samples are in ${out}.json)`);
      }
      console.log(`use it with: llama-cli -m ${serving.file} --lora ${out}   (or an Ollama Modelfile: FROM <base gguf> / ADAPTER ${out})`);
    } finally {
      await engine.shutdown();
    }
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
    writeJsonAtomic(join(out, "reviewtune-export.json"), report);
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
