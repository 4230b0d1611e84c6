// `reviewtune data demo`: the project's own demo reviews as a dataset folder, labels known by
// construction (source "generator"), through the same split/augment/card path as real data.
import { createHash } from "node:crypto";
import { makeDemoReviews, type DemoReview } from "../demo-reviews.js";
import type { ReviewLabels } from "../labels/analyzer.js";
import type { Review } from "../sources/reviews.js";
import { writeDataset, type BuildEntry, type WriteOptions } from "./build-dataset.js";
import type { DatasetCard } from "./card.js";

export function demoEntry(demo: DemoReview): { review: Review; labels: ReviewLabels } {
  const source = "generator" as const;
  const review: Review = {
    id: demo.id,
    text: demo.text,
    title: demo.title,
    rating: demo.rating,
    category: demo.category,
    product_title: demo.product,
    ...(demo.tags.length > 0 ? { tags: demo.tags } : {}),
    source: { file: "builtin:demo", line: Number(demo.id.replace(/\D/g, "")), unit: "item" },
  };
  const tone = { positive: ["good", "yes"], neutral: ["mixed", "mixed"], negative: ["poor", "no"] } as const;
  const [quality, recommendation] = tone[demo.sentiment];
  return {
    review,
    labels: {
      sentiment: { label: demo.sentiment, score: demo.score, source },
      rating: { stars: demo.rating, source },
      features: {
        items: demo.features,
        praised: demo.praised,
        criticized: demo.criticized,
        source,
      },
      quality: { label: quality, evidence: null, source },
      recommendation: { label: recommendation, reason: demo.title, source },
      summary: { text: demo.title, source },
    },
  };
}

export async function buildDemoDataset(options: WriteOptions & { reviews?: number }): Promise<DatasetCard> {
  const count = options.reviews ?? 500;
  const seed = options.seed ?? 42;
  const entries: BuildEntry[] = makeDemoReviews(count, seed).map(demoEntry);
  const digest = createHash("sha256").update(`builtin:demo:${count}:${seed}`).digest("hex");
  return writeDataset(entries, options, { inputs: [`builtin:demo (${count} reviews, seed ${seed})`], config: { demo_reviews: count }, inputHash: () => digest });
}
