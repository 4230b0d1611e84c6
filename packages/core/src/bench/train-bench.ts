// `reviewtune bench train`: our recipe (padding-free, the head and loss only where labels are) against
// the same without the labelled-logits step and against the reference recipes' naive one (every
// example padded to max_length, logits everywhere), and our recipe with activation checkpointing (the
// memory it saves, the speed it costs), on the same review-length data, same seed, same steps, each in
// a fresh engine process so peak memory is its own, with where each job's memory went stage by stage;
// our recipe in fp32, to show what bf16 autocast gives where the CPU computes bf16 natively (the
// config's precision auto); last, our recipe under glibc's malloc, to show what the engine's
// allocator (TCMalloc) saves.
// With rounds > 1 every recipe runs once a round, the order reversed every other round, so that a
// machine whose speed drifts over minutes weighs on all recipes alike; a recipe's row is its median
// round, and a ratio between two recipes is the median of the ratios measured in the same round.
// Prints figures; asserts nothing.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TrainConfig, TrainResult } from "@reviewtune/contracts";
import { EngineClient } from "../engine/client.js";
import { percentile } from "../eval/statistics.js";
import { startRun } from "../train/train-run.js";

export const BENCH_RECIPES = ["ours", "everywhere", "naive", "fp32", "checkpointed", "glibc"] as const;
export type BenchRecipe = (typeof BENCH_RECIPES)[number];

export interface BenchVariant {
  key: BenchRecipe;
  name: string;
  /** training.precision: the base config's (auto) unless the variant is about it. */
  precision?: TrainConfig["training"]["precision"];
  packing: TrainConfig["training"]["packing"];
  logits: TrainConfig["training"]["logits"];
  activationCheckpointing: boolean;
  /** "system": the engine runs with glibc's malloc instead of the allocator it would get (allocator.ts). */
  allocator?: "system";
  /** The allocator the variant's engine ran with. */
  ranWith?: string;
  /** The median round's result (the slower of the middle two for an even number of rounds). */
  result: TrainResult;
  /** Every round's result, in the order the rounds ran. */
  rounds: TrainResult[];
}

export interface TrainBenchOptions {
  base: TrainConfig;
  steps: number;
  /** Times every recipe runs, alternating (default 1). */
  rounds?: number;
  /** The recipes to run, in the table's order (default: all of BENCH_RECIPES). */
  recipes?: readonly BenchRecipe[];
  log?: (line: string) => void;
  keepRuns?: string;
}

/** The round whose tokens/s is the median (the lower of the middle two for an even count). */
export function medianRound(rounds: TrainResult[]): TrainResult {
  const sorted = [...rounds].sort((a, b) => a.tokens_per_second - b.tokens_per_second);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

export async function benchTrain(options: TrainBenchOptions): Promise<BenchVariant[]> {
  const all: Array<Omit<BenchVariant, "result" | "rounds">> = [
    { key: "ours", name: "reviewtune (padding-free, labelled logits)", packing: "padding_free", logits: "labelled", activationCheckpointing: false },
    { key: "everywhere", name: "padding-free, logits everywhere", packing: "padding_free", logits: "all", activationCheckpointing: false },
    { key: "naive", name: "naive (pad to max_length, fp32)", packing: "pad_to_max_length", logits: "all", activationCheckpointing: false, precision: "fp32" },
    { key: "fp32", name: "reviewtune in fp32", packing: "padding_free", logits: "labelled", activationCheckpointing: false, precision: "fp32" },
    { key: "checkpointed", name: "reviewtune + activation checkpointing", packing: "padding_free", logits: "labelled", activationCheckpointing: true },
    { key: "glibc", name: "reviewtune, glibc malloc", packing: "padding_free", logits: "labelled", activationCheckpointing: false, allocator: "system" },
  ];
  const wanted = options.recipes ?? BENCH_RECIPES;
  const variants = all.filter((variant) => wanted.includes(variant.key));
  const rounds = options.rounds ?? 1;
  const runsDirectory = options.keepRuns ?? mkdtempSync(join(tmpdir(), "reviewtune-bench-"));
  const results = new Map<BenchRecipe, { ranWith: string; rounds: TrainResult[] }>();
  try {
    for (let round = 0; round < rounds; round += 1) {
      for (const variant of round % 2 === 0 ? variants : [...variants].reverse()) {
        options.log?.(`bench: ${variant.name}, ${options.steps} steps${rounds > 1 ? ` (round ${round + 1} of ${rounds})` : ""}...`);
        const result = await runVariant(variant, options, runsDirectory);
        const entry = results.get(variant.key) ?? { ranWith: result.ranWith, rounds: [] };
        entry.rounds.push(result.result);
        results.set(variant.key, entry);
      }
    }
  } finally {
    if (!options.keepRuns) rmSync(runsDirectory, { recursive: true, force: true });
  }
  return variants.map((variant) => {
    const entry = results.get(variant.key)!;
    return { ...variant, ranWith: entry.ranWith, result: medianRound(entry.rounds), rounds: entry.rounds };
  });
}

async function runVariant(variant: Omit<BenchVariant, "result" | "rounds">, options: TrainBenchOptions, runsDirectory: string): Promise<{ ranWith: string; result: TrainResult }> {
  const config: TrainConfig = {
    ...options.base,
    name: `bench-${variant.packing}-${variant.logits}${variant.activationCheckpointing ? "-checkpointed" : ""}`,
    training: { ...options.base.training, packing: variant.packing, logits: variant.logits, activation_checkpointing: variant.activationCheckpointing, max_steps: options.steps, ...(variant.precision ? { precision: variant.precision } : {}) },
    evaluation: { strategy: "no" },
    early_stopping: undefined,
    checkpoints: { keep: 1 },
  };
  const engine = await EngineClient.start(variant.allocator ? { env: { ...process.env, REVIEWTUNE_ALLOCATOR: variant.allocator } } : {});
  try {
    const record = await startRun(config, "bench train", runsDirectory, { engine });
    return { ranWith: engine.allocator.name, result: record.result! };
  } finally {
    await engine.shutdown();
  }
}

const gib = (bytes: number) => (bytes / 2 ** 30).toFixed(2);

export function formatBench(results: BenchVariant[]): string {
  const rounds = Math.max(...results.map((variant) => variant.rounds.length));
  const rows = results.map(({ name, ranWith, result, rounds: each }) => [
    name,
    result.precision ?? "fp32",
    ranWith ?? "-",
    result.tokens_per_second.toFixed(1),
    ...(rounds > 1 ? [each.map((round) => round.tokens_per_second.toFixed(1)).join(", ")] : []),
    result.seconds_per_step.toFixed(2),
    gib(result.peak_memory_bytes),
    result.final_eval_loss?.toFixed(4) ?? "-",
    String(result.train_tokens),
  ]);
  const header = ["recipe", "precision", "allocator", rounds > 1 ? "tokens/s (median)" : "tokens/s", ...(rounds > 1 ? ["tokens/s by round"] : []), "s/step", "peak GiB", "eval loss", "train tokens"];
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(" | ")} |`;
  const out = [line(header), `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`, ...rows.map(line)];
  if (rounds > 1) out.push("", `${rounds} rounds, each recipe once a round, the order reversed every other round; a row is its median round, a ratio the median of the rounds' own ratios`);
  const find = (key: BenchVariant["key"]) => results.find((variant) => variant.key === key);
  const [ours, everywhere, naive, fp32, checkpointed, glibc] = BENCH_RECIPES.map(find);
  /** a's tokens/s over b's, round by round (both ran in each), and their median. */
  const speedup = (a: BenchVariant, b: BenchVariant) => {
    const each = a.rounds.map((round, index) => round.tokens_per_second / b.rounds[index]!.tokens_per_second);
    const text = `${percentile(each, 0.5).toFixed(2)}x`;
    return each.length > 1 ? `${text} (by round: ${each.map((ratio) => ratio.toFixed(2)).join(", ")})` : text;
  };
  const versus = (other: BenchVariant, label: string) =>
    `vs ${label}: ${speedup(ours!, other)} tokens/s, ` +
    `peak memory ${gib(ours!.result.peak_memory_bytes)} vs ${gib(other.result.peak_memory_bytes)} GiB; ` +
    `eval loss difference ${Math.abs((ours!.result.final_eval_loss ?? 0) - (other.result.final_eval_loss ?? 0)).toExponential(2)}`;
  if (ours && everywhere) out.push("", versus(everywhere, "logits everywhere"));
  if (ours && naive) out.push(versus(naive, "naive"));
  if (ours && fp32 && ours.result.precision !== fp32.result.precision) out.push(versus(fp32, "the same recipe in fp32"));
  if (ours && checkpointed) {
    out.push(
      `activation checkpointing (--set training.activation_checkpointing=true): peak memory ${gib(checkpointed.result.peak_memory_bytes)} vs ${gib(ours.result.peak_memory_bytes)} GiB, ` +
        `for ${speedup(checkpointed, ours)} the tokens/s`,
    );
  }
  if (ours && glibc && ours.ranWith !== glibc.ranWith) {
    out.push(`allocator ${ours.ranWith} vs ${glibc.ranWith}: peak memory ${gib(ours.result.peak_memory_bytes)} vs ${gib(glibc.result.peak_memory_bytes)} GiB, ${speedup(ours, glibc)} the tokens/s`);
  }
  out.push("", ...formatMemoryProfile(results));
  return out.join("\n");
}

/** Where each recipe's memory went: in use after each stage of its job, and its peak so far (GiB). */
export function formatMemoryProfile(results: BenchVariant[]): string[] {
  const phases = [...new Set(results.flatMap(({ result }) => (result.memory_profile ?? []).map((mark) => mark.phase)))];
  if (phases.length === 0) return [];
  const header = ["memory after (in use / peak so far, GiB)", ...results.map(({ name }) => name)];
  const rows = phases.map((phase) => [
    phase,
    ...results.map(({ result }) => {
      const mark = result.memory_profile?.find((entry) => entry.phase === phase);
      return mark ? `${gib(mark.bytes)} / ${gib(mark.peak_bytes)}` : "-";
    }),
  ]);
  return [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((row) => `| ${row.join(" | ")} |`)];
}
