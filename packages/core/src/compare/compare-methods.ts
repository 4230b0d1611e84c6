// `reviewtune compare-methods`: LoRA, QLoRA and full fine-tuning of the same classification head on
// the same data and seed, each in a fresh engine (so peak memory is its own), into one table
// (comparison.md + comparison.json). A method that cannot run here (QLoRA without CUDA) becomes a
// row saying why instead of stopping the comparison.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { EngineEvent, TrainConfig } from "@reviewtune/contracts";
import type { EngineClient } from "../engine/client.js";
import { CancelledError, ConfigError, EngineCrashedError, EngineRequestError, EngineTimeoutError } from "../errors.js";
import { formatMethodTable, type MethodRow } from "../train/method-report.js";
import { writeFileAtomic, writeJsonAtomic } from "../files.js";
import { startRun } from "../train/train-run.js";
import { prepareClassificationData } from "../data/classification-data.js";

export const COMPARABLE_METHODS = ["lora", "qlora", "full"] as const;
export type ComparableMethod = (typeof COMPARABLE_METHODS)[number];

/** R3's QLoRA quantization: 4-bit NF4, fp16 compute, no double quantization. */
export const R3_QUANTIZATION = { bits: 4, quant_type: "nf4", compute_dtype: "float16", double_quant: false } as const;

export interface CompareMethodsOptions {
  /** A classify config: model, data, labels, LoRA settings, training (the same for every method). */
  base: TrainConfig;
  methods: ComparableMethod[];
  /** Full fine-tuning moves every weight: it usually wants a smaller learning rate than LoRA. */
  fullLearningRate: number;
  outDirectory: string;
  startEngine: () => Promise<EngineClient>;
  log?: (line: string) => void;
  onEvent?: (method: ComparableMethod, event: EngineEvent) => void;
  signal?: AbortSignal;
}

export interface Comparison {
  created: string;
  model: string;
  data: string;
  labels: TrainConfig["labels"];
  seed: number;
  max_steps: number | null;
  epochs: number;
  rows: Array<MethodRow & { run: string | null; learning_rate: number; classification?: unknown }>;
}

export function methodConfig(base: TrainConfig, method: ComparableMethod, fullLearningRate: number): TrainConfig {
  return {
    ...base,
    name: `${base.name ?? "compare"}-${method}`,
    method,
    quantization: method === "qlora" ? { ...(base.quantization ?? R3_QUANTIZATION) } : undefined,
    training: { ...base.training, ...(method === "full" ? { learning_rate: fullLearningRate } : {}) },
  };
}

/** Why a method could not run, from an engine error; anything else (a bug, Ctrl-C) propagates. */
function reasonNotRun(error: unknown): string | null {
  if (error instanceof EngineRequestError) return `${error.message}${error.hint ? ` (${error.hint})` : ""}`;
  if (error instanceof EngineCrashedError || error instanceof EngineTimeoutError) return error.message.split("\n")[0]!;
  return null;
}

export async function compareMethods(options: CompareMethodsOptions): Promise<Comparison> {
  if (options.base.task !== "classify") throw new ConfigError('compare-methods compares classification heads: the config needs task "classify"');
  // The data is read and checked before any folder or engine: a wrong --data left an empty
  // comparison folder behind, after an engine had started for nothing.
  prepareClassificationData(options.base.data, options.base.labels!, options.base.training.seed);
  const runsDirectory = join(options.outDirectory, "runs");
  mkdirSync(runsDirectory, { recursive: true });
  const comparison: Comparison = {
    created: new Date().toISOString(),
    model: options.base.model.source,
    data: options.base.data.train ?? "",
    labels: options.base.labels,
    seed: options.base.training.seed,
    max_steps: options.base.training.max_steps ?? null,
    epochs: options.base.training.epochs,
    rows: [],
  };
  for (const method of options.methods) {
    const config = methodConfig(options.base, method, options.fullLearningRate);
    options.log?.(`compare-methods: ${method} (lr ${config.training.learning_rate})...`);
    const engine = await options.startEngine();
    try {
      const record = await startRun(config, "compare-methods", runsDirectory, {
        engine,
        ...(options.onEvent ? { onEvent: (event: EngineEvent) => options.onEvent!(method, event) } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (record.status === "cancelled") throw new CancelledError(`compare-methods stopped during ${method}`);
      comparison.rows.push({ method, report: record.result!.report!, run: join(runsDirectory, record.id), learning_rate: config.training.learning_rate, classification: record.result!.classification });
    } catch (error) {
      const reason = reasonNotRun(error);
      if (reason === null) throw error;
      options.log?.(`compare-methods: ${method} not run: ${reason}`);
      comparison.rows.push({ method, report: null, reason, run: null, learning_rate: config.training.learning_rate });
    } finally {
      await engine.shutdown();
    }
    writeComparison(options.outDirectory, comparison); // after each method: a stopped comparison keeps what finished
  }
  return comparison;
}

export function formatComparison(comparison: Comparison): string {
  const length = comparison.max_steps ? `${comparison.max_steps} steps` : `${comparison.epochs} epochs`;
  return [
    `# compare-methods: ${comparison.model}, ${comparison.labels} labels`,
    "",
    `data ${comparison.data}; seed ${comparison.seed}; ${length} per method; learning rates ${comparison.rows.map((row) => `${row.method} ${row.learning_rate}`).join(", ")}`,
    "",
    formatMethodTable(comparison.rows),
    "",
    "Eval figures are on the dataset's validation split (the test split is left for evaluation). AUC is the macro mean of one-vs-rest AUCs",
    "from the head's softmax probabilities. Peak memory is CUDA allocations on a GPU, the engine process's resident memory on a CPU",
    "(each method runs in a fresh engine). Wall time covers loading, training, evaluations and saving.",
    "",
  ].join("\n");
}

function writeComparison(directory: string, comparison: Comparison): void {
  writeJsonAtomic(join(directory, "comparison.json"), comparison);
  writeFileAtomic(join(directory, "comparison.md"), formatComparison(comparison));
}

/** The output folder must be new (or --force): a comparison never mixes runs of two invocations. */
export function checkComparisonFolder(directory: string, force: boolean): void {
  if (existsSync(join(directory, "comparison.json")) && !force) {
    throw new ConfigError(`${directory} already holds a comparison`, [], { hint: "pass another --out, or --force to replace it" });
  }
}
