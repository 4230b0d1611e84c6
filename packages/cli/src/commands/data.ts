import { Option, type Command } from "commander";
import { ConfigError, DEMO_KINDS } from "@reviewtune/core";
import { collect, columnOption, finiteNumber, nonNegativeInteger, positiveInteger } from "./shared.js";
import type { DataBuildOptions, DataDemoOptions, DataPreviewOptions } from "../actions/data-action.js";

function fraction(name: string) {
  const parse = finiteNumber(name);
  return (value: string) => {
    const number = parse(value);
    if (number < 0 || number >= 1) throw new ConfigError(`${name} must be a fraction in [0, 1), got "${value}"`);
    return number;
  };
}

export function registerData(program: Command): void {
  const data = program.command("data").description("turn review files into instruction datasets (train/val/test JSONL + card)");
  data
    .command("build")
    .description("validate, label, augment and split review files (or QA / title-description / Alpaca / chat files) into a dataset folder")
    .requiredOption("--input <file>", "reviews: .csv, .tsv, .jsonl or .json (repeatable; Amazon Reviews 2023 JSONL works as is), or .xml: SemEval-2014 aspect terms, the gold of the sentences' aspects", collect)
    .requiredOption("--out <dir>", "the dataset folder to write")
    .option("--meta <file>", "Amazon Reviews 2023 meta file: product titles and categories by parent_asin (repeatable)", collect)
    .addOption(columnOption())
    .option("--skip-bad-rows", "report unreadable rows in rejected.jsonl and go on, instead of stopping at the first")
    .option("--validation <fraction>", "share of reviews for validation", fraction("--validation"), 0.1)
    .option("--test <fraction>", "share of reviews for test", fraction("--test"), 0.1)
    .option("--seed <n>", "seed for the split", positiveInteger("--seed"), 42)
    .option("--held-out-category <name>", "put every review of this category in test (and none in train)")
    .option("--max-chars <n>", "reject reviews (and QA answers, descriptions) longer than this", positiveInteger("--max-chars"), 20_000)
    .option("--max-answer-words <n>", "question/answer files: reject answers with more words than this (short-answer QA)", positiveInteger("--max-answer-words"))
    .option("--model <source>", "count tokens with this model's tokenizer and chat template (starts the engine), and fit examples into --max-tokens")
    .option("--max-tokens <n>", "with --model: longest example; longer reviews are shortened, answers never cut", positiveInteger("--max-tokens"), 512)
    .option("--teacher <url>", "label with an LLM: base URL of an OpenAI-compatible API (e.g. http://127.0.0.1:8000/v1 from `reviewtune serve`)")
    .option("--teacher-model <name>", "with --teacher: the model to ask (default: the first the endpoint lists)")
    .option("--teacher-key <key>", "with --teacher: API key (or set REVIEWTUNE_TEACHER_KEY)")
    .option("--teacher-concurrency <n>", "with --teacher: requests in flight", positiveInteger("--teacher-concurrency"), 4)
    .option("--workers <n>", "threads that label reviews (0: the main thread; default: one per core but one, for inputs of 2 MiB or more); the output is the same", nonNegativeInteger("--workers"))
    .option("--force", "replace --out if it exists")
    .option("--verbose", "show the engine's full log")
    .action(async (options: DataBuildOptions) => {
      const { runDataBuild } = await import("../actions/data-action.js");
      await runDataBuild(options);
    });
  data
    .command("preview")
    .description("a dataset's card and sample rows; with --model, the exact training strings with the trained part marked")
    .argument("<dataset>", "a folder written by `data build` or `data demo`")
    .option("--split <name>", "train | validation (val) | test", "train")
    .option("--rows <n>", "sample rows to show", positiveInteger("--rows"), 3)
    .option("--model <source>", "render with this model's chat template and count its tokens (starts the engine)")
    .option("--verbose", "show the engine's full log")
    .action(async (dataset: string, options: DataPreviewOptions) => {
      const { runDataPreview } = await import("../actions/data-action.js");
      await runDataPreview(dataset, options);
    });
  data
    .command("demo")
    .description("write the project's own demo data as a dataset folder: reviews, or a generated catalogue's descriptions (recipe R4) or product questions (R2)")
    .requiredOption("--out <dir>", "the dataset folder to write")
    .addOption(new Option("--kind <kind>", "reviews | descriptions (title -> description) | qa (questions with short answers)").choices(DEMO_KINDS).default("reviews"))
    .option("--reviews <n>", "how many reviews", positiveInteger("--reviews"), 500)
    .option("--products <n>", "with --kind descriptions or qa: how many products (one description or two questions each; default 300)", positiveInteger("--products"))
    .option("--seed <n>", "generator and split seed", positiveInteger("--seed"), 42)
    .option("--force", "replace --out if it exists")
    .action(async (options: DataDemoOptions) => {
      const { runDataDemo } = await import("../actions/data-action.js");
      await runDataDemo(options);
    });
}
