// `reviewtune compare-methods`: resolve one classify config, run every method on it, print the table.
import { join } from "node:path";
import { COMPARABLE_METHODS, ConfigError, checkComparisonFolder, compareMethods, formatComparison, mergeConfig, newRunId, resolveConfig, type ComparableMethod } from "@reviewtune/core";
import { onInterrupt, startEngine } from "../engine.js";
import { trainingProgress } from "../progress.js";

export interface CompareMethodsOptions {
  data: string;
  model: string;
  methods: string;
  labels: string;
  preset?: string;
  maxSteps?: number;
  epochs?: number;
  lr: number;
  fullLr: number;
  batchSize?: number;
  maxLength?: number;
  set?: Record<string, unknown>;
  out?: string;
  force?: boolean;
  verbose?: boolean;
}

/** R3's LoRA settings, the base when no --preset is given. */
const R3_LORA = { r: 16, alpha: 64, dropout: 0.1, bias: "none", target_modules: ["q_proj", "k_proj", "v_proj", "o_proj", "up_proj", "down_proj", "gate_proj"] };

function parseMethods(list: string): ComparableMethod[] {
  const methods = list.split(",").map((method) => method.trim()).filter(Boolean);
  const unknown = methods.filter((method) => !(COMPARABLE_METHODS as readonly string[]).includes(method));
  if (unknown.length > 0 || methods.length === 0) throw new ConfigError(`--methods: unknown method ${unknown.join(", ") || "(none)"}`, [], { hint: `choose from ${COMPARABLE_METHODS.join(", ")}` });
  return [...new Set(methods)] as ComparableMethod[];
}

export async function runCompareMethods(options: CompareMethodsOptions): Promise<void> {
  const methods = parseMethods(options.methods);
  const training: Record<string, unknown> = { learning_rate: options.lr };
  if (options.maxSteps !== undefined) training.max_steps = options.maxSteps;
  if (options.epochs !== undefined) training.epochs = options.epochs;
  if (options.batchSize !== undefined) training.batch_size = options.batchSize;
  if (options.maxLength !== undefined) training.max_length = options.maxLength;
  const flags = {
    name: "compare",
    task: "classify",
    labels: options.labels,
    model: { source: options.model },
    data: { train: options.data },
    training,
    // With a preset its method and LoRA settings are the base; every method then gets its own.
    ...(options.preset ? {} : { method: "lora", lora: R3_LORA }),
  };
  const { config, origin } = resolveConfig({ ...(options.preset ? { preset: options.preset } : {}), overrides: mergeConfig(flags, options.set ?? {}) as Record<string, unknown> });
  const outDirectory = options.out ?? join("comparisons", newRunId("compare"));
  checkComparisonFolder(outDirectory, options.force ?? false);
  console.error(`compare-methods (${origin}): ${methods.join(", ")} on ${options.data} with ${config.model.source}; output ${outDirectory}`);
  const controller = new AbortController();
  const dispose = onInterrupt(() => controller.abort());
  let progress: ReturnType<typeof trainingProgress> | null = null;
  let current: string | null = null;
  try {
    const comparison = await compareMethods({
      base: config,
      methods,
      fullLearningRate: options.fullLr,
      outDirectory,
      startEngine: () => startEngine({ verbose: options.verbose ?? false }),
      log: (line) => {
        progress?.stop();
        progress = null;
        console.error(line);
      },
      onEvent: (method, event) => {
        if (current !== method || !progress) {
          progress?.stop();
          progress = trainingProgress();
          current = method;
        }
        progress.onEvent(event);
      },
      signal: controller.signal,
    });
    (progress as ReturnType<typeof trainingProgress> | null)?.stop();
    console.log(formatComparison(comparison));
    console.log(`written: ${join(outDirectory, "comparison.md")}, ${join(outDirectory, "comparison.json")}`);
  } finally {
    (progress as ReturnType<typeof trainingProgress> | null)?.stop();
    dispose();
  }
}
