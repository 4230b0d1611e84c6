// `reviewtune serve`: resolves what to serve (a run, or a model and adapters), starts the backend,
// loads and probes every adapter, listens, and on Ctrl-C / SIGTERM drains the queue before exiting.
import { existsSync, statSync } from "node:fs";
import { createServer as createNetServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { ConfigError, DATASET_PATHS, classifierOfRun, groundingFolder, hasDatasetFile, type RunRecord } from "@reviewtune/core";
import { DEFAULT_KV_CACHE, LlamaCppBackend, TorchBackend, type GenerationBackend, type KvCacheType } from "@reviewtune/core";
import { baseModelId, checkBinding, createServer } from "@reviewtune/server";
import { engineEmbedder, serveUntilInterrupted, servingGguf, upstreamBackend, type UpstreamBackendEmbedder } from "../engine.js";
import type { GgufQuant } from "../lib/gguf-quants.js";
import { modelFromOptions } from "../lib/model-choice.js";

export interface ServeOptions {
  run?: string;
  model: string;
  adapter: string[];
  host: string;
  port: number;
  apiKey?: string;
  backend: string;
  gguf?: string;
  quant?: GgufQuant;
  kvCache?: KvCacheType;
  parallel: number;
  threads?: number;
  /** false with --no-merge-adapters. */
  mergeAdapters?: boolean;
  maxPromptTokens?: number;
  runsDir?: string;
  queueSize: number;
  timeout: number;
  maxTokensLimit: number;
  maxBodyKb: number;
  corsOrigin: string[];
  allowHost: string[];
  allowOrigin: string[];
  allowPickle?: boolean;
  references?: string | false;
  verbose?: boolean;
  upstream?: string;
  upstreamKey?: string;
  upstreamModel?: string;
}

export async function runServe(options: ServeOptions): Promise<void> {
  const apiKey = options.apiKey ?? process.env.REVIEWTUNE_API_KEY ?? undefined;
  checkBinding(options.host, apiKey);
  if (options.backend !== "torch" && options.backend !== "llamacpp") throw new ConfigError(`--backend ${options.backend} is not a backend; use torch or llamacpp`);
  if (options.backend !== "llamacpp" && (options.quant || options.gguf)) throw new ConfigError(`${options.quant ? "--quant" : "--gguf"} applies to the llama.cpp path`, [], { hint: "add --backend llamacpp" });
  const choice = modelFromOptions({ ...(options.run ? { run: options.run } : { model: options.model }), allowPickle: options.allowPickle ?? false });
  const adapters = options.adapter.map((entry) => {
    const equals = entry.indexOf("=");
    if (equals <= 0) throw new ConfigError(`--adapter expects name=dir, got "${entry}"`);
    return { name: entry.slice(0, equals), dir: resolve(entry.slice(equals + 1)) };
  });
  // A classification run answers /v1/classify; its base model still answers chat requests.
  const classifierRun = options.run && choice.run?.config.task === "classify" ? choice.run : undefined;
  const classifiers = classifierRun ? [{ name: classifierRun.id, choice: classifierOfRun(classifierRun, options.run!) }] : [];
  if (options.run && !classifierRun && choice.run && choice.adapter) adapters.unshift({ name: choice.run.id, dir: choice.adapter });
  const names = new Set<string>();
  for (const { name } of adapters) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(name) || name.includes("..")) throw new ConfigError(`adapter name "${name}" must be letters, digits, '_', '.', '-'`);
    if (names.has(name)) throw new ConfigError(`adapter name "${name}" is given twice`);
    names.add(name);
  }
  const verbose = options.verbose || process.env.REVIEWTUNE_VERBOSE === "1";
  // A run trained with grounded prompts is served the same way: each chat question to its adapter
  // gets its nearest training example from the run's dataset folder (checked now, indexed at start).
  const grounded = groundedAdapter(options, choice.run);
  const log = (level: string, message: string) => console.error(`[serve] ${level}: ${message}`);
  // A run whose training data is no dataset folder has no references to serve: why, said once here and in each refusal.
  const noReferences = runWithoutReferences(options, choice.run?.config.data.train);
  let backend: GenerationBackend;
  let references: string | undefined;
  /** The engine that embeds grounded questions beside llama.cpp (the torch engine and an upstream's embedder embed their own). */
  let groundingEmbedder: UpstreamBackendEmbedder | undefined;
  if (options.upstream) {
    if (options.backend !== "torch" || options.gguf || options.quant) throw new ConfigError("--upstream decodes on the upstream server: drop --backend, --gguf and --quant");
    if (classifiers.length) throw new ConfigError("a classification run is served by --backend torch, not through an upstream");
    // Training references need sentence embeddings: the engine computes them here (all-MiniLM-L6-v2
    // only; the model itself stays on the upstream).
    references = referenceDataset(options, choice.run?.config.data.train);
    const embedder = references || grounded ? await engineEmbedder(verbose) : undefined;
    const folders = new Map<string, string>();
    for (const { name, dir } of adapters) {
      const other = folders.get(dir);
      if (other) throw new ConfigError(`--adapter ${name} and ${other} name one folder (${dir}); with --upstream each adapter is the upstream model of its folder's name`, [], { hint: "serve it once, under the name the upstream knows it by" });
      folders.set(dir, name);
    }
    const upstream = upstreamBackend(choice, { upstream: options.upstream, upstreamKey: options.upstreamKey, upstreamModel: options.upstreamModel, adapterNames: folders, concurrency: options.parallel, embedder });
    backend = upstream;
    console.error(`[serve] decoding on the upstream ${upstream.url} (${options.parallel} requests at once); adapters are its model names`);
  } else if (options.backend === "llamacpp") {
    if (classifiers.length) throw new ConfigError("a classification run is served by --backend torch (llama.cpp has no classification head here)");
    if (typeof options.references === "string") throw new ConfigError("--references needs --backend torch (the references are embedded by the engine)");
    const gguf = await servingGguf(choice.model, { flag: "--gguf", explicit: options.gguf, quant: options.quant });
    // llama.cpp has no embedding model: the grounding's embeddings come from an engine of their own.
    if (grounded) groundingEmbedder = await engineEmbedder(verbose);
    backend = new LlamaCppBackend({ gguf: gguf.file, templateOverride: choice.run?.config.data.template, parallel: options.parallel, threads: options.threads, ...(options.kvCache ? { kvCache: options.kvCache } : {}), ...(options.mergeAdapters === false ? { mergeAdapters: false } : {}) });
    const adapters = options.mergeAdapters === false ? "applied as GGUF LoRA at run time" : "converted to GGUF LoRA and, over a base under 1 GiB, merged into a copy of it when loaded (--no-merge-adapters: applied at run time)";
    console.error(`[serve] llama.cpp backend on ${gguf.file} (${gguf.note}; ${options.parallel} sequences at once${options.threads ? `, ${options.threads} threads` : ""}, ${options.kvCache ?? DEFAULT_KV_CACHE} key/value cache); adapters are ${adapters}`);
  } else {
    references = referenceDataset(options, choice.run?.config.data.train);
    backend = new TorchBackend({
      model: choice.model,
      templateOverride: choice.run?.config.data.template,
      threads: options.threads,
      engine: { onStderr: (line) => (verbose || /^\[engine\] (WARNING|ERROR) reviewtune/.test(line)) && console.error(line) },
      log,
    });
  }
  const server = createServer({
    backend,
    baseId: baseModelId(choice.model.source),
    adapters,
    classifiers,
    references: references ? { dataset: references } : undefined,
    referencesUnavailable:
      options.references === false
        ? "it was started with --no-references"
        : options.backend === "llamacpp" && !options.upstream
          ? "the llama.cpp backend does not serve them (the torch engine embeds them): start it with --backend torch"
          : noReferences,
    grounded: grounded ? [grounded] : undefined,
    embed: groundingEmbedder ? (texts, signal) => groundingEmbedder!.embed(texts, signal) : undefined,
    runsDir: resolve(options.runsDir ?? (options.run ? dirname(resolve(options.run)) : "runs")),
    apiKey,
    corsOrigins: options.corsOrigin,
    allowedHosts: options.allowHost,
    allowedOrigins: options.allowOrigin,
    bodyLimitBytes: options.maxBodyKb * 1024,
    queueCapacity: options.queueSize,
    requestTimeoutMs: options.timeout * 1000,
    maxTokensLimit: options.maxTokensLimit,
    maxPromptTokens: options.maxPromptTokens,
    logger: { level: verbose ? "info" : "warn", stream: process.stderr },
  });
  // Before minutes of loading the model: a taken port would only fail at listen, after them.
  await requirePortFree(options.host, options.port);
  console.error(`[serve] starting the ${backend.name} backend with ${choice.model.source}...`);
  if (references) console.error(`[serve] training references from ${references} (indexing new examples first; requests ask with "references": true)`);
  else if (noReferences && (options.backend === "torch" || options.upstream)) console.error(`[serve] no training references: ${noReferences}`);
  if (grounded) console.error(`[serve] ${grounded.adapter ?? choice.model.source} was trained with grounded prompts: each chat question to it gets its nearest training example of ${grounded.dataset}`);
  let address: string;
  try {
    await server.prepare({ say: (line) => console.error(`[serve] ${line}`) });
    address = await server.app.listen({ host: options.host, port: options.port });
  } catch (error) {
    // The engine (a child process) and the model's threads would keep the process alive after the error.
    await server.close().catch(() => {});
    await groundingEmbedder?.close().catch(() => {});
    throw listenError(error, options.host, options.port);
  }
  const models = [server.context.registry.baseId, ...server.context.registry.list().map((entry) => `${entry.name}${entry.status === "fallback" ? ` (FALLBACK to base: ${entry.error?.code})` : ""}`)];
  console.error(`[serve] listening on ${address}/v1 (models: ${models.join(", ")}${classifiers.length ? `; POST /v1/classify: ${classifiers.map((entry) => entry.name).join(", ")}` : ""}${apiKey ? "; API key required" : ""})`);
  const unserved = (backend.otherModels ?? []).filter((name) => !server.context.registry.list().some((entry) => entry.name === name));
  if (unserved.length) console.error(`[serve] the upstream also lists ${unserved.join(", ")}: not served here (start with --adapter NAME=<its adapter folder> or --run of its run to serve one)`);
  await serveUntilInterrupted("serve", "finishing queued requests", async () => {
    await server.close();
    await groundingEmbedder?.close();
  });
}

/**
 * The served run's adapter (null: its fully fine-tuned weights, served as the base) and dataset
 * folder when the run was trained with data.grounding: nearest.
 */
function groundedAdapter(options: ServeOptions, run: RunRecord | undefined): { adapter: string | null; dataset: string } | undefined {
  if (!options.run || !run || run.config.task === "classify") return undefined;
  const dataset = groundingFolder(run);
  return dataset ? { adapter: run.result?.adapter_dir ? run.id : null, dataset } : undefined;
}

/** The dataset folder for `references: true`: --references, else a --run's training folder when it is one. */
function referenceDataset(options: ServeOptions, runTrain: string | undefined): string | undefined {
  if (options.references === false) return undefined;
  if (typeof options.references === "string") {
    const folder = resolve(options.references);
    if (!hasDatasetFile(folder, "train")) throw new ConfigError(`--references ${options.references}: no ${DATASET_PATHS.train} there; pass a folder written by \`reviewtune data build\``);
    return folder;
  }
  if (!options.run || !runTrain) return undefined;
  const folder = resolve(runTrain);
  return existsSync(folder) && statSync(folder).isDirectory() && hasDatasetFile(folder, "train") ? folder : undefined;
}

/**
 * Why `serve --run` has no references when its run's training data is no dataset folder (the demo's
 * builtin:demo, or a folder moved since): the usual hint, "start it with --run", would be what the
 * user did.
 */
function runWithoutReferences(options: ServeOptions, runTrain: string | undefined): string | undefined {
  if (!options.run || options.references === false || typeof options.references === "string" || referenceDataset(options, runTrain)) return undefined;
  const source = runTrain ?? "(none)";
  const what = source.startsWith("builtin:") ? `${source}, built in memory` : `${source}, which is not a dataset folder with ${DATASET_PATHS.train} (now)`;
  return `the run ${options.run} was trained on ${what}: start it with --references <a dataset folder> (one \`reviewtune data build\` or \`reviewtune data demo --out data/demo\` wrote)`;
}

/** Fails when something already listens on host:port (port 0 is any free port). */
async function requirePortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const probe = createNetServer();
  try {
    await new Promise<void>((resolveListen, reject) => {
      probe.once("error", reject);
      probe.listen({ host, port, exclusive: true }, () => resolveListen());
    });
  } catch (error) {
    throw listenError(error, host, port);
  } finally {
    await new Promise<void>((done) => (probe.listening ? probe.close(() => done()) : done()));
  }
}

/** A failed listen as the user's to fix: a taken port, a port that needs privileges, an address not on this machine. */
function listenError(error: unknown, host: string, port: number): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  const where = `${host}:${port}`;
  if (code === "EADDRINUSE") return new ConfigError(`${where} is in use: another server listens there`, [], { hint: `pass another --port (--port 0 takes any free one), or stop what listens on ${port}` });
  if (code === "EACCES") return new ConfigError(`listening on ${where} needs privileges this user lacks`, [], { hint: "pass a --port above 1023" });
  if (code === "EADDRNOTAVAIL") return new ConfigError(`${host} is not an address of this machine`, [], { hint: "pass --host 127.0.0.1 (this machine only) or an address of one of its interfaces" });
  return error;
}
