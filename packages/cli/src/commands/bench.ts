import type { Command } from "commander";
import { BENCH_RECIPES, ConfigError, type BenchRecipe } from "@reviewtune/core";
import { nonNegativeInteger, positiveInteger } from "./shared.js";

function recipeList(value: string): BenchRecipe[] {
  const names = value.split(",").map((name) => name.trim()).filter(Boolean);
  const unknown = names.filter((name) => !(BENCH_RECIPES as readonly string[]).includes(name));
  if (names.length === 0 || unknown.length > 0) {
    throw new ConfigError(`--recipes: ${unknown.length > 0 ? `unknown recipe "${unknown.join('", "')}"` : "no recipe named"}; choose among ${BENCH_RECIPES.join(", ")}, comma-separated`);
  }
  return [...new Set(names)] as BenchRecipe[];
}

export function registerBench(program: Command): void {
  const bench = program.command("bench").description("benchmarks that print figures");
  bench
    .command("train")
    .description("tokens/s, time per step, peak memory, eval loss and memory stage by stage: ours vs logits everywhere, every example padded to max_length (the reference recipes), ours with activation checkpointing, ours under glibc's malloc")
    .option("--preset <name>", "base configuration", "demo")
    .option("--steps <n>", "optimizer steps per variant", positiveInteger("--steps"), 6)
    .option("--reviews <n>", "demo reviews to draw examples from (x4 examples each)", positiveInteger("--reviews"), 40)
    .option("--max-length <n>", "max_length (the naive recipe pads every example to it)", positiveInteger("--max-length"), 512)
    .option("--batch-size <n>", "batch size", positiveInteger("--batch-size"), 2)
    .option("--grad-accum <n>", "gradient accumulation", positiveInteger("--grad-accum"), 4)
    .option("--data <path>", "training data instead of the demo set")
    .option("--model <source>", "model instead of the preset's")
    .option("--rounds <n>", "run every recipe n times, alternating, and print each one's median round and the median of the ratios round by round (for a machine whose speed drifts)", positiveInteger("--rounds"), 1)
    .option("--recipes <list>", "the recipes to run, comma-separated (default: all): ours (padding-free, labelled logits), everywhere (logits at every position), naive (every example padded to max_length), fp32 (ours in fp32), checkpointed (ours with activation checkpointing), glibc (ours under glibc's malloc)", recipeList)
    .action(async (options: { preset: string; steps: number; reviews: number; maxLength: number; batchSize: number; gradAccum: number; data?: string; model?: string; rounds: number; recipes?: BenchRecipe[] }) => {
      const { benchTrain, formatBench, resolveConfig } = await import("@reviewtune/core");
      const { config } = resolveConfig({
        preset: options.preset,
        overrides: {
          data: { train: options.data ?? "builtin:demo", demo_reviews: options.reviews, validation_fraction: 0.1 },
          ...(options.model ? { model: { source: options.model } } : {}),
          training: { max_length: options.maxLength, batch_size: options.batchSize, gradient_accumulation: options.gradAccum },
        },
      });
      console.log(`bench train: ${config.model.source}, ${config.method}, ${options.steps} steps x batch ${options.batchSize} x accumulation ${options.gradAccum}, max_length ${options.maxLength}, data ${config.data.train}${options.rounds > 1 ? `, ${options.rounds} rounds` : ""}`);
      const results = await benchTrain({ base: config, steps: options.steps, rounds: options.rounds, recipes: options.recipes, log: (line) => console.error(line) });
      console.log(formatBench(results));
    });
  bench
    .command("serve")
    .description("latency percentiles, queries/min, tokens/s, errors and cost per 1,000 queries of running `reviewtune serve` servers on this machine")
    .requiredOption("--url <[label=]url>", "a server on this machine, e.g. torch=http://127.0.0.1:8000 (repeat to compare backends)", (value: string, previous: string[] = []) => [...previous, value])
    .option("--model <id>", "model to ask for (default: the first loaded adapter, else the base)")
    .option("--concurrency <n>", "requests in flight at once", positiveInteger("--concurrency"), 4)
    .option("--requests <n>", "requests per server (after one warm-up)", positiveInteger("--requests"), 100)
    .option("--max-tokens <n>", "max_tokens of each chat answer (default 32; --analysis: the analysis's own budget)", positiveInteger("--max-tokens"))
    .option("--analysis", "ask for the one-pass analysis, one review per POST /v1/analyze (decoding constrained to ReviewAnalysis), and count complete analyses")
    .option("--busy <n>", "measure beside n busy-loop processes (one core each), as on a CPU shared with a training", nonNegativeInteger("--busy"), 0)
    .option("--time-limit <seconds>", "stop sending after this long per server", positiveInteger("--time-limit"), 600)
    .option("--api-key <key>", "the servers' API key (default: $REVIEWTUNE_API_KEY)")
    .option("--dollars-per-hour <price>", "what this machine costs per hour, for the cost per 1,000 queries", Number, 0.1)
    .action(async (options: { url: string[]; model?: string; concurrency: number; requests: number; maxTokens?: number; analysis?: boolean; busy: number; timeLimit: number; apiKey?: string; dollarsPerHour: number }) => {
      const { ANALYSIS_MAX_TOKENS, benchServe, formatServeBench, parseBenchTarget } = await import("@reviewtune/core");
      const targets = options.url.map(parseBenchTarget);
      const results = await benchServe({
        targets,
        model: options.model,
        concurrency: options.concurrency,
        requests: options.requests,
        maxTokens: options.maxTokens ?? (options.analysis ? ANALYSIS_MAX_TOKENS : 32),
        analysis: options.analysis ?? false,
        busy: options.busy,
        timeLimitSeconds: options.timeLimit,
        apiKey: options.apiKey ?? process.env.REVIEWTUNE_API_KEY,
        dollarsPerHour: options.dollarsPerHour,
        log: (line) => console.error(line),
      });
      console.log(formatServeBench(results, options.dollarsPerHour));
    });
  bench
    .command("data")
    .description("rows/s and peak memory of `data build` on a generated review file (1 million rows by default)")
    .option("--rows <n>", "reviews to generate", positiveInteger("--rows"), 1_000_000)
    .option("--workers <n>", "label threads (0: the main thread; default: one per core but one)", nonNegativeInteger("--workers"))
    .action(async (options: { rows: number; workers?: number }) => {
      const { benchData, formatDataBench } = await import("@reviewtune/core");
      const result = await benchData({ rows: options.rows, workers: options.workers, log: (line) => console.error(line) });
      console.log(formatDataBench(result));
    });
}
