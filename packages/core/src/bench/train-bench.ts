// `reviewtune bench train`: our recipe (padding-free, the head and loss only where labels are) against
// the same without the labelled-logits step and against the reference recipes' naive one (every
// example padded to max_length, logits everywhere) on the same review-length data, same seed, same
// steps, each in a fresh engine process so peak memory is its own. Prints figures; asserts nothing.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TrainConfig, TrainResult } from "@reviewtune/contracts";
import { EngineClient } from "../engine/client.js";
import { startRun } from "../train/train-run.js";

export interface BenchVariant {
  name: string;
  packing: TrainConfig["training"]["packing"];
  logits: TrainConfig["training"]["logits"];
  result: TrainResult;
}

export interface TrainBenchOptions {
  base: TrainConfig;
  steps: number;
  log?: (line: string) => void;
  keepRuns?: string;
}

export async function benchTrain(options: TrainBenchOptions): Promise<BenchVariant[]> {
  const variants: Array<Omit<BenchVariant, "result">> = [
    { name: "reviewtune (padding-free, labelled logits)", packing: "padding_free", logits: "labelled" },
    { name: "padding-free, logits everywhere", packing: "padding_free", logits: "all" },
    { name: "naive (pad to max_length)", packing: "pad_to_max_length", logits: "all" },
  ];
  const runsDirectory = options.keepRuns ?? mkdtempSync(join(tmpdir(), "reviewtune-bench-"));
  const results: BenchVariant[] = [];
  try {
    for (const variant of variants) {
      options.log?.(`bench: ${variant.name}, ${options.steps} steps...`);
      const config: TrainConfig = {
        ...options.base,
        name: `bench-${variant.packing}-${variant.logits}`,
        training: { ...options.base.training, packing: variant.packing, logits: variant.logits, max_steps: options.steps },
        evaluation: { strategy: "no" },
        early_stopping: undefined,
        checkpoints: { keep: 1 },
      };
      const engine = await EngineClient.start();
      try {
        const record = await startRun(config, "bench train", runsDirectory, { engine });
        results.push({ ...variant, result: record.result! });
      } finally {
        await engine.shutdown();
      }
    }
  } finally {
    if (!options.keepRuns) rmSync(runsDirectory, { recursive: true, force: true });
  }
  return results;
}

export function formatBench(results: BenchVariant[]): string {
  const rows = results.map(({ name, result }) => [
    name,
    result.tokens_per_second.toFixed(1),
    result.seconds_per_step.toFixed(2),
    (result.peak_memory_bytes / 2 ** 30).toFixed(2),
    result.final_eval_loss?.toFixed(4) ?? "-",
    String(result.train_tokens),
  ]);
  const header = ["recipe", "tokens/s", "s/step", "peak GiB", "eval loss", "train tokens"];
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(" | ")} |`;
  const out = [line(header), `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`, ...rows.map(line)];
  const [ours, everywhere, naive] = results;
  const versus = (other: BenchVariant, label: string) =>
    `vs ${label}: ${(ours!.result.tokens_per_second / other.result.tokens_per_second).toFixed(2)}x tokens/s, ` +
    `${(other.result.seconds_per_step / ours!.result.seconds_per_step).toFixed(2)}x time per step, ` +
    `peak memory ${(ours!.result.peak_memory_bytes / 2 ** 30).toFixed(2)} vs ${(other.result.peak_memory_bytes / 2 ** 30).toFixed(2)} GiB; ` +
    `eval loss difference ${Math.abs((ours!.result.final_eval_loss ?? 0) - (other.result.final_eval_loss ?? 0)).toExponential(2)}`;
  if (ours && everywhere && naive) out.push("", versus(everywhere, "logits everywhere"), versus(naive, "naive"));
  return out.join("\n");
}
