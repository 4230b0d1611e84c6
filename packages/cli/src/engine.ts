// Starting the engine from the CLI: the environment must be installed; the engine's own log lines
// are shown (model preparation can take a while), library chatter only with --verbose.
import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { EMBEDDING_MODEL_ID, type TrainConfig } from "@reviewtune/contracts";
import { ConfigError, EngineClient, LlamaCppBackend, TorchBackend, UpstreamBackend, cacheRoot, ensureEngineEnvironment, localChatTemplate, type GenerationBackend, type KvCacheType, type RunRecord } from "@reviewtune/core";
import { baseModelId } from "@reviewtune/server";
import { GGUF_QUANTS, type GgufQuant } from "./lib/gguf-quants.js";
import type { ModelChoice } from "./lib/model-choice.js";

export async function startEngine(options: { verbose?: boolean; install?: boolean } = {}): Promise<EngineClient> {
  if (options.install) await ensureEngineEnvironment({ log: (line) => console.error(line) });
  const verbose = options.verbose || process.env.REVIEWTUNE_VERBOSE === "1";
  return EngineClient.start({
    onStderr: (line) => {
      if (verbose) console.error(line);
      // The engine's own news without the log's level and logger name ("[engine] preparing the embedded model..."); warnings and errors keep their level.
      else if (/^\[engine\] INFO reviewtune/.test(line)) console.error(line.replace(/^\[engine\] INFO reviewtune[\w.]*: /, "[engine] "));
      else if (/^\[engine\] (WARNING|ERROR) reviewtune/.test(line)) console.error(line.replace(/^\[engine\] (WARNING|ERROR) reviewtune[\w.]*: /, "[engine] $1: "));
    },
  });
}

/**
 * A second signal this soon after the first is the same Ctrl-C delivered twice, not a second press:
 * the terminal signals the whole process group, and a wrapper in it (`timeout`, a script runner)
 * forwards its own copy. Taken as "quit at once", it threw away the checkpoint the first one was saving.
 */
export const REPEAT_SIGNAL_MS = 1000;

/**
 * SIGINT / SIGTERM: `first` on the first; a later one, a second or more after it, exits at once (130);
 * one sooner is the same signal delivered again (REPEAT_SIGNAL_MS). Returns a disposer.
 */
function onSignals(first: () => void): () => void {
  let at: number | undefined;
  const handler = () => {
    const now = performance.now();
    if (at === undefined) {
      at = now;
      first();
    } else if (now - at >= REPEAT_SIGNAL_MS) {
      process.exit(130);
    }
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}

/** Ctrl-C once: `onCancel` (graceful, doing `what`); again, a second later or more: exit at once. Returns a disposer. */
export function onInterrupt(onCancel: () => void, what = "saving a checkpoint"): () => void {
  return onSignals(() => {
    console.error(`\ninterrupted: stopping cleanly (${what}); press Ctrl-C again to quit at once`);
    onCancel();
  });
}

/**
 * Keeps a server running until Ctrl-C / SIGTERM, then `close()` (which lets queued work finish) and
 * resolves; a second Ctrl-C quits at once. `stopping` says what closing waits for.
 */
export function serveUntilInterrupted(label: string, stopping: string, close: () => Promise<void>): Promise<void> {
  return new Promise<void>((done) => {
    onSignals(() => {
      console.error(`[${label}] stopping: ${stopping} (Ctrl-C again to quit at once)`);
      void close().then(done, (error: unknown) => {
        console.error(`[${label}] error while stopping: ${(error as Error).message}`);
        done();
      });
    });
  });
}

/**
 * The GGUF file a base model's weights come from (what llama.cpp loads): a .gguf source itself, else
 * the file `engine` loaded it from (the embedded model's). `flag` names the option that overrides it.
 */
async function baseGgufOf(model: TrainConfig["model"], flag: string, engine: () => Promise<EngineClient>): Promise<string> {
  if (model.source.endsWith(".gguf")) return resolve(model.source);
  const gguf = (await (await engine()).request("model_info", { model })).gguf;
  if (!gguf) throw new ConfigError(`${model.source} was not loaded from a GGUF file`, [], { hint: `convert it with llama.cpp's convert_hf_to_gguf.py and pass ${flag} FILE` });
  return gguf;
}

/**
 * The GGUF the llama.cpp path loads: `explicit` (a --gguf / --base-gguf file) or the base model's own,
 * requantized to `quant` once and kept in the cache (keyed by the source's path, size and mtime).
 * Q8_0 by default for the model's own file: llama.cpp's CPU kernels for it are faster than for the
 * embedded model's Q4_1, and it keeps the answers (export --format gguf-lora measures it: same labels
 * as the PEFT adapter about as often as Q4_1 itself). Q4_0 is faster still but rounds a second time
 * at 4 bits: on the demo model most answers change, so it is opt-in. A file the user names is served
 * as it is unless --quant says otherwise.
 */
export async function servingGguf(
  model: TrainConfig["model"],
  options: { flag: string; explicit?: string | undefined; quant?: GgufQuant | undefined; engine?: EngineClient },
): Promise<{ file: string; source: string; note: string }> {
  // One engine for both questions (which file, requantize it), started only if one is needed.
  let started: EngineClient | undefined;
  const engine = async () => options.engine ?? (started ??= await startEngine({ verbose: false }));
  try {
    const source = options.explicit ? resolve(options.explicit) : await baseGgufOf(model, options.flag, engine);
    if (!existsSync(source)) throw new ConfigError(`${source} does not exist`, [], { hint: `pass the base model's .gguf file with ${options.flag}` });
    const quant = options.quant ?? (options.explicit ? "source" : "q8_0");
    if (quant === "source") return { file: source, source, note: "as it is" };
    const stat = statSync(source);
    const key = createHash("sha256").update(`${source}\0${stat.size}\0${stat.mtimeMs}`).digest("hex").slice(0, 12);
    const type = quant === "q4_0" ? "Q4_0" : "Q8_0";
    const out = join(cacheRoot(), "gguf", `${basename(source, ".gguf")}.${key}.${type}.gguf`);
    if (existsSync(out)) return { file: out, source, note: `requantized to ${type}, from the cache` };
    console.error(`requantizing ${basename(source)} to ${type} for llama.cpp (once; cached in ${out})...`);
    const result = await (await engine()).request("requantize_gguf", { source, out, type });
    if (result.requantized === 0) return { file: result.out, source, note: `already ${type}` };
    return { file: result.out, source, note: `requantized to ${type} in ${result.seconds.toFixed(1)} s, weights' relative error ${(100 * result.relative_error).toFixed(1)}%` };
  } finally {
    await started?.shutdown();
  }
}

/** --backend and --quant checked as given, before any engine or model starts (backendForRun checks them again). */
export function checkBackendOptions(options: { backend: string; quant?: string | undefined }): void {
  if (!["auto", "llamacpp", "torch"].includes(options.backend)) throw new ConfigError(`--backend must be auto, llamacpp or torch, got "${options.backend}"`);
  if (options.quant && !(GGUF_QUANTS as readonly string[]).includes(options.quant)) throw new ConfigError(`--quant must be one of ${GGUF_QUANTS.join(", ")}, got "${options.quant}"`);
}

/**
 * The model interface a run's answers go through (eval, analyze, the demo): llama.cpp in process
 * (the base GGUF requantized to Q8_0, the run's adapter converted to GGUF LoRA and, for a small base,
 * merged into a copy of it when loaded) when the
 * run is an adapter on a model with a GGUF, else undefined: the torch engine answers. `backend`
 * "llamacpp" insists (its error is the user's), "torch" never uses llama.cpp, "auto" falls back.
 */
export async function backendForRun(
  run: RunRecord | undefined,
  options: {
    backend: string;
    quant?: string | undefined;
    model?: TrainConfig["model"];
    engine?: EngineClient;
    parallel?: number;
    contextPerSequence?: number;
    kvCache?: KvCacheType | undefined;
    say?: (line: string) => void;
  },
): Promise<LlamaCppBackend | undefined> {
  const say = options.say ?? ((line: string) => console.error(`  ${line}`));
  checkBackendOptions(options);
  if (options.backend === "torch") return undefined;
  if (run?.result?.model_dir) {
    if (options.backend === "llamacpp") throw new ConfigError(`run ${run.id} trained the whole model: the llama.cpp path serves adapters on a GGUF base`, [], { hint: "use --backend torch, or export --format merged and convert it to GGUF" });
    return undefined;
  }
  const model = run?.config.model ?? options.model;
  if (!model) throw new ConfigError("no model to answer with", [], { hint: "pass --run <run-dir> or --model <source>" });
  try {
    const gguf = await servingGguf(model, { flag: "--gguf", quant: options.quant as GgufQuant | undefined, ...(options.engine ? { engine: options.engine } : {}) });
    say(`llama.cpp path: ${gguf.file} (${gguf.note})`);
    const backend = new LlamaCppBackend({
      gguf: gguf.file,
      templateOverride: run?.config.data.template,
      ...(options.parallel ? { parallel: options.parallel } : {}),
      ...(options.contextPerSequence ? { contextPerSequence: options.contextPerSequence } : {}),
      ...(options.kvCache ? { kvCache: options.kvCache } : {}),
    });
    await backend.start();
    return backend;
  } catch (error) {
    if (options.backend === "llamacpp") throw error;
    say(`the llama.cpp path is not available (${(error as Error).message}); the torch engine answers`);
    return undefined;
  }
}

/**
 * The backend of `--upstream` (serve, analyze): the URL checked, the key from --upstream-key or
 * $REVIEWTUNE_UPSTREAM_KEY, the base under --upstream-model or the model's id, the chat template from
 * the run or the local model when the upstream does not tell it.
 */
export function upstreamBackend(
  choice: ModelChoice,
  options: { upstream: string; upstreamKey?: string | undefined; upstreamModel?: string | undefined; adapterNames: ReadonlyMap<string, string>; concurrency: number; embedder?: UpstreamBackendEmbedder | undefined },
): UpstreamBackend {
  return new UpstreamBackend({
    url: upstreamUrl(options.upstream),
    apiKey: options.upstreamKey ?? process.env.REVIEWTUNE_UPSTREAM_KEY,
    baseModel: options.upstreamModel,
    baseId: baseModelId(choice.model.source),
    adapterNames: options.adapterNames,
    templateOverride: choice.run?.config.data.template,
    localTemplate: () => localChatTemplate(choice.model.source),
    concurrency: options.concurrency,
    embedder: options.embedder,
  });
}

export type UpstreamBackendEmbedder = NonNullable<ConstructorParameters<typeof UpstreamBackend>[0]["embedder"]>;

/** The engine, for sentence embeddings only (it loads all-MiniLM-L6-v2 on the first request, never the served model): an upstream front's references. */
export async function engineEmbedder(verbose: boolean): Promise<UpstreamBackendEmbedder> {
  const engine = await startEngine({ verbose });
  return {
    embed: (texts, signal) => engine.request("embed", { model: EMBEDDING_MODEL_ID, texts }, { signal }),
    close: () => engine.shutdown(),
  };
}

/** --upstream as a URL: http(s) only, with a clear message for anything else. */
function upstreamUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`--upstream ${value} is not a URL`, [], { hint: "e.g. --upstream http://127.0.0.1:8001 (vLLM, llama-server or reviewtune serve)" });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new ConfigError(`--upstream ${value}: only http:// and https:// servers`);
  return url.toString();
}

/** The torch engine as a model interface, its log shown as startEngine shows it. */
function torchBackendFor(choice: ModelChoice, verbose: boolean): TorchBackend {
  const shown = verbose || process.env.REVIEWTUNE_VERBOSE === "1";
  return new TorchBackend({
    model: choice.model,
    templateOverride: choice.run?.config.data.template,
    engine: { onStderr: (line) => (shown || /^\[engine\] (WARNING|ERROR) reviewtune/.test(line)) && console.error(line) },
    log: (level, message) => console.error(`  ${level}: ${message}`),
  });
}

/**
 * The model a command answers with, through the one model interface (`ask`, `generate`, `chat`,
 * `test`, `analyze`): llama.cpp when the model has a GGUF and `backend` allows it (backendForRun),
 * else the torch engine; started, with the chosen adapter loaded and probed, so an adapter that
 * changes nothing is an error rather than a silent base model. The choice's adapter is where the
 * run folder is now (runModel).
 */
export async function openModel(
  choice: ModelChoice,
  options: { backend: string; quant?: string | undefined; verbose?: boolean | undefined; parallel?: number; contextPerSequence?: number; kvCache?: KvCacheType | undefined },
): Promise<{ backend: GenerationBackend; adapterDir: string | undefined }> {
  const llama = await backendForRun(choice.run, {
    backend: options.backend,
    quant: options.quant,
    model: choice.model,
    ...(options.parallel ? { parallel: options.parallel } : {}),
    ...(options.contextPerSequence ? { contextPerSequence: options.contextPerSequence } : {}),
    kvCache: options.kvCache,
  });
  const backend: GenerationBackend = llama ?? torchBackendFor(choice, options.verbose ?? false);
  try {
    if (!llama) {
      console.error(`  starting the torch engine with ${choice.model.source}...`);
      await backend.start();
    }
    const adapterDir = choice.adapter ? resolve(choice.adapter) : undefined;
    if (adapterDir) await backend.loadAdapter(adapterDir);
    return { backend, adapterDir };
  } catch (error) {
    await backend.close();
    throw error;
  }
}
