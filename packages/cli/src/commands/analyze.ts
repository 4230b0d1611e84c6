import { Option, type Command } from "commander";
import { DEFAULT_KV_CACHE, KV_CACHE_TYPES } from "@reviewtune/core";
import { columnOption, positiveInteger } from "./shared.js";
import type { AnalyzeOptions } from "../actions/analyze-action.js";

export function registerAnalyze(program: Command): void {
  program
    .command("analyze")
    .description("the structured analysis (stars, sentiment, score, quality, recommendation, aspects, summary) of every review in a file, as JSONL; resumable")
    .requiredOption("--input <file>", "reviews: .csv, .tsv, .jsonl or .json, as `data build` reads them")
    .requiredOption("--out <file.jsonl>", "one line per review: {id, line, analysis}, in input order (written to <out>.partial until complete)")
    .option("--run <run-dir>", "the finished run that answers (default: the base model)")
    .option("--model <source>", "without --run: the model that answers", "smollm2-135m-instruct")
    .option("--backend <name>", "auto (llama.cpp when the model has a GGUF: an adapter run or a base model; else torch), llamacpp or torch", "auto")
    .option("--quant <type>", "with the llama.cpp path: q8_0 (default), q4_0 or source (the base GGUF as it is)")
    .addOption(new Option("--kv-cache <type>", "with the llama.cpp path: the key/value cache's type, q8_0 (half the memory) or f16").choices(KV_CACHE_TYPES).default(DEFAULT_KV_CACHE))
    .option("--upstream <url>", "decode on an OpenAI-compatible server (a vLLM cluster, llama-server, reviewtune serve) instead of here; a --run's adapter must be served there under the run's id")
    .option("--upstream-key <key>", "the upstream's API key (default: $REVIEWTUNE_UPSTREAM_KEY)")
    .option("--upstream-model <name>", "the base model's name upstream (default: --model's id when the upstream lists it)")
    .option("--concurrency <n>", "with --upstream: requests in flight at once (the batch is at least this many reviews)", positiveInteger("--concurrency"), 8)
    .option("--batch-size <n>", "reviews per generation batch (and per write)", positiveInteger("--batch-size"), 16)
    .addOption(columnOption())
    .option("--max-chars <n>", "reject reviews longer than this", positiveInteger("--max-chars"), 20_000)
    .option("--force", "start over: replace --out and any partial output of an earlier run")
    .option("--verbose", "show the engine's full log")
    .action(async (options: AnalyzeOptions) => {
      const { runAnalyze } = await import("../actions/analyze-action.js");
      await runAnalyze(options);
    });
}
