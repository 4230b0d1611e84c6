// `reviewtune data demo`: the project's own demo reviews as a dataset folder, labels known by
// construction (source "generator"), through the same split/augment/card path as real data.
import { createHash } from "node:crypto";
import { demoEntry, makeDemoReviews } from "../demo-reviews.js";
import { writeDataset, type BuildEntry, type WriteOptions } from "./build-dataset.js";
import type { DatasetCard } from "./card.js";

export async function buildDemoDataset(options: WriteOptions & { reviews?: number }): Promise<DatasetCard> {
  const count = options.reviews ?? 500;
  const seed = options.seed ?? 42;
  const entries: BuildEntry[] = makeDemoReviews(count, seed).map(demoEntry);
  const digest = createHash("sha256").update(`builtin:demo:${count}:${seed}`).digest("hex");
  return writeDataset(entries, options, { inputs: [`builtin:demo (${count} reviews, seed ${seed})`], config: { demo_reviews: count }, inputHash: () => digest });
}
