import type { Command } from "commander";
import { positiveInteger } from "./shared.js";

export function registerHuman(program: Command): void {
  const human = program.command("human").description("blind A/B human evaluation of base vs tuned answers");
  human
    .command("export")
    .description("write pairs.jsonl (blind, order randomized) and key.json (keep it from raters) from an evaluated run")
    .requiredOption("--run <run-dir>", "a run evaluated with `reviewtune eval` (with the base baseline)")
    .requiredOption("--out <dir>", "folder for pairs.jsonl and key.json")
    .option("--limit <n>", "pairs at most", positiveInteger("--limit"))
    .option("--seed <n>", "seed of the A/B order", positiveInteger("--seed"), 7)
    .action(async (options: { run: string; out: string; limit?: number; seed: number }) => {
      const { exportHumanPairs } = await import("@reviewtune/core");
      const written = exportHumanPairs(options.run, options.out, { limit: options.limit, seed: options.seed });
      console.log(`${written.count} pairs: ${written.pairs} (give this to raters: set "preferred" to "A", "B" or "tie")\nkey: ${written.key} (keep it apart)`);
    });
  human
    .command("score")
    .description("the tuned model's win rate from rated pairs, with its 95% interval")
    .requiredOption("--key <file>", "key.json from `human export`")
    .requiredOption("--ratings <file>", 'JSONL of {"pair", "preferred": "A" | "B" | "tie"}')
    .action(async (options: { key: string; ratings: string }) => {
      const { formatEstimate, scoreHumanRatings } = await import("@reviewtune/core");
      const result = scoreHumanRatings(options.key, options.ratings);
      console.log(`tuned preferred in ${formatEstimate(result.tuned_win_rate)}% of ${result.rated} rated pairs (ties count half): ${result.tuned_wins} tuned, ${result.base_wins} base, ${result.ties} ties`);
    });
}
