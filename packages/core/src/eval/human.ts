// Human evaluation: blind A/B pairs of the base and tuned answers to the same prompt. The order in
// each pair is randomized (seeded) and the key that says which side is which is written to its own
// file, so raters see only pairs.jsonl. Ratings come back as {pair, preferred: "A" | "B" | "tie"};
// the tuned model's win rate (ties count half) gets a bootstrap interval.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { HumanKeySchema, HumanRatingSchema, type Estimate, type HumanKey, type HumanPair } from "@reviewtune/contracts";
import { readJsonl } from "../data/jsonl.js";
import { ConfigError, DataError } from "../errors.js";
import { readJsonFile, writeFileAtomic } from "../files.js";
import { runPath } from "../train/run-folder.js";
import { readEvalReport } from "./write-report.js";
import { bootstrap, seededRandom } from "./statistics.js";

/** The files of an exported set of pairs (the studio keeps its set in the run folder's human/). */
export const HUMAN_FILES = { pairs: "pairs.jsonl", key: "key.json", ratings: "ratings.jsonl" } as const;

/** pairs.jsonl (for raters) and key.json (kept apart) from an evaluated run's report.json. */
export function exportHumanPairs(runDirectory: string, out: string, options: { limit?: number | undefined; seed?: number } = {}): { pairs: string; key: string; count: number } {
  const report = readEvalReport(runDirectory);
  const items = report.items.filter((item) => item.answers.tuned !== undefined && item.answers.base !== undefined).slice(0, options.limit);
  if (items.length === 0) throw new ConfigError(`the evaluation in ${runPath(runDirectory, "evalReport")} has no base answers to pair`, [], { hint: "evaluate with the base baseline (--baselines base,...)" });
  const seed = options.seed ?? 7;
  const random = seededRandom(seed);
  const key: HumanKey = { run: report.run.id, seed, pairs: {} };
  const lines = items.map((item, index) => {
    const pair = `p${String(index + 1).padStart(4, "0")}`;
    const tunedFirst = random() < 0.5;
    key.pairs[pair] = tunedFirst ? { A: "tuned", B: "base" } : { A: "base", B: "tuned" };
    const line: HumanPair = { pair, task: item.task, prompt: item.prompt, A: (tunedFirst ? item.answers.tuned : item.answers.base) ?? "", B: (tunedFirst ? item.answers.base : item.answers.tuned) ?? "", preferred: null };
    return JSON.stringify(line);
  });
  mkdirSync(out, { recursive: true });
  const pairsFile = join(out, HUMAN_FILES.pairs);
  const keyFile = join(out, HUMAN_FILES.key);
  writeFileAtomic(pairsFile, `${lines.join("\n")}\n`);
  writeFileAtomic(keyFile, `${JSON.stringify(key, null, 2)}\n`);
  return { pairs: pairsFile, key: keyFile, count: lines.length };
}

export interface HumanResult {
  rated: number;
  tuned_wins: number;
  base_wins: number;
  ties: number;
  /** Share of pairs where the tuned answer was preferred, ties counting half. */
  tuned_win_rate: Estimate;
}

export function scoreHumanRatings(keyFile: string, ratingsFile: string, options: { seed?: number; samples?: number } = {}): HumanResult {
  if (!existsSync(keyFile)) throw new DataError(`key file ${keyFile} does not exist`, keyFile, undefined, { hint: "pass the key.json written by `reviewtune human export`" });
  const key = readJsonFile(keyFile, HumanKeySchema);
  const ratings = readJsonl(ratingsFile, HumanRatingSchema, { what: "ratings file", hint: 'each line: {"pair": "p0001", "preferred": "A" | "B" | "tie"} (pairs.jsonl with "preferred" filled in works)' });
  const scores = ratings.map((rating, index) => {
    const sides = key.pairs[rating.pair];
    if (!sides) throw new DataError(`${ratingsFile}:${index + 1}: pair "${rating.pair}" is not in ${keyFile}`, ratingsFile, index + 1, { hint: "rate the pairs.jsonl exported with this key" });
    return rating.preferred === "tie" ? 0.5 : sides[rating.preferred] === "tuned" ? 1 : 0;
  });
  return {
    rated: scores.length,
    tuned_wins: scores.filter((score) => score === 1).length,
    base_wins: scores.filter((score) => score === 0).length,
    ties: scores.filter((score) => score === 0.5).length,
    tuned_win_rate: bootstrap(scores.length, (indices) => indices.reduce((sum, index) => sum + scores[index]!, 0) / indices.length, options),
  };
}
