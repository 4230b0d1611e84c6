import type { Command } from "commander";
import { UsageError } from "@reviewtune/core";
import { collect, collectSet, positiveInteger } from "./shared.js";
import type { EvalOptions } from "../actions/eval-action.js";

export function registerEval(program: Command): void {
  program
    .command("eval")
    .description("evaluate a run on a dataset's test split: tuned vs base vs baselines, with intervals, slices and reports in runs/<id>/eval/")
    .option("--run <run-dir>", "the finished run to evaluate")
    .option("--compare <run-dirs...>", "two evaluated runs side by side, paired item by item, with significance")
    .option("--data <dir>", "a dataset folder (default: the one the run trained on)")
    .option("--limit <n>", "evaluate the first n test reviews of each task (with --aspects: the first n sentences)", positiveInteger("--limit"))
    .option("--aspects <file.xml>", "the chat features question only, against SemEval-2014 Task 4 aspect terms as gold; every answer goes to <out>/aspects.json (to score the one-pass analysis's aspects instead: build a dataset with data build --input FILE.xml and eval on it)")
    .option("--baselines <list>", "comma-separated: base, random, rule-based (for QA and description datasets: base, retrieval; default all)")
    .option("--settings <file>", "YAML with targets (slice thresholds) and cost (power, price, API prices)")
    .option("--set <key=value>", "override one setting, e.g. --set targets.min_slice=20 --set cost.power_watts=30 (repeatable)", collectSet)
    .option("--out <dir>", "where the reports go (default: <run>/eval)")
    .option("--batch-size <n>", "prompts per generation batch", positiveInteger("--batch-size"), 8)
    .option("--max-tokens <n>", "new tokens per answer at most", positiveInteger("--max-tokens"), 96)
    .option("--seed <n>", "seed of the bootstrap and the random baseline", positiveInteger("--seed"), 17)
    .option("--bootstrap <n>", "bootstrap resamples", positiveInteger("--bootstrap"), 1000)
    .option("--backend <name>", "who answers: auto (llama.cpp when the run is an adapter on a GGUF base, else torch), llamacpp (fast CPU path; no AUC or perplexity) or torch (the engine)", "auto")
    .option("--chat-per-review <n>", "chat questions per test review, the tasks taken in turn (default: 1 on the llama.cpp path, all 6 on torch); the analysis covers every review", positiveInteger("--chat-per-review"))
    .option("--head <run-dir>", "a classification run (train --task classify) to score beside the analysis: its stars or sentiment (repeatable)", collect)
    .option("--parallel <n>", "with the llama.cpp path: sequences decoded together (more is faster on a batch, not per answer)", positiveInteger("--parallel"), 16)
    .option("--quant <type>", "with the llama.cpp path: q8_0 (default), q4_0 or source (the base GGUF as it is)")
    .option("--verbose", "show the engine's full log")
    .action(async (options: EvalOptions) => {
      if (options.compare) {
        if (options.compare.length !== 2) throw new UsageError(`--compare takes two run folders, got ${options.compare.length}`, { hint: "reviewtune eval --compare runs/<a> runs/<b>" });
        const { runCompare } = await import("../actions/eval-action.js");
        await runCompare(options.compare[0]!, options.compare[1]!, options);
        return;
      }
      if (!options.run) throw new UsageError("eval needs --run <run-dir> (or --compare <a> <b>)", { hint: "reviewtune eval --run runs/<id>" });
      const { runAspects, runEval } = await import("../actions/eval-action.js");
      await (options.aspects ? runAspects(options) : runEval(options));
    });
}
