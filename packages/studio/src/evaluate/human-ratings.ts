// Blind A/B rating in the studio, on core's human evaluation: pairs and their key are exported once
// into runs/<id>/human/ (the key never leaves the server), each rating is appended to ratings.jsonl,
// and the win rate with its interval is core's scoreHumanRatings over that file.
import { appendFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { HumanPairSchema, HumanRatingSchema, type HumanRateRequest, type HumanState } from "@reviewtune/contracts";
import { HUMAN_FILES, exportHumanPairs, runPath, scoreHumanRatings } from "@reviewtune/core";
import { readLines } from "../datasets/dataset-store.js";
import { StudioApiError } from "../http/studio-error.js";


function files(runDirectory: string) {
  const folder = runPath(runDirectory, "human");
  return { folder, pairs: join(folder, HUMAN_FILES.pairs), key: join(folder, HUMAN_FILES.key), ratings: join(folder, HUMAN_FILES.ratings) };
}

function pairs(runDirectory: string) {
  const paths = files(runDirectory);
  if (!existsSync(paths.pairs)) exportHumanPairs(runDirectory, paths.folder); // throws, with a hint, when the run has no evaluation
  return readLines(paths.pairs, HumanPairSchema);
}

export function humanState(runDirectory: string): HumanState {
  const all = pairs(runDirectory);
  const paths = files(runDirectory);
  const ratings = readLines(paths.ratings, HumanRatingSchema);
  const rated = new Set(ratings.map((rating) => rating.pair));
  const next = all.find((pair) => !rated.has(pair.pair)) ?? null;
  const score = ratings.length > 0 ? scoreHumanRatings(paths.key, paths.ratings) : null;
  return {
    pair: next,
    total: all.length,
    rated: rated.size,
    score: score && { tuned_wins: score.tuned_wins, base_wins: score.base_wins, ties: score.ties, tuned_win_rate: score.tuned_win_rate },
  };
}

export function rate(runDirectory: string, rating: HumanRateRequest): HumanState {
  const all = pairs(runDirectory);
  if (!all.some((pair) => pair.pair === rating.pair)) throw new StudioApiError(404, "not_found", `pair ${rating.pair} is not one of this run's pairs`, { hint: "reload the page to get the current pair" });
  const paths = files(runDirectory);
  if (readLines(paths.ratings, HumanRatingSchema).some((entry) => entry.pair === rating.pair)) throw new StudioApiError(409, "already_rated", `pair ${rating.pair} is already rated`, { hint: "rate the next pair" });
  appendFileSync(paths.ratings, `${JSON.stringify(rating)}\n`);
  return humanState(runDirectory);
}
