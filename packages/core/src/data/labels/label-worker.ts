// One thread of `data build`'s label pool (label-pool.ts): the analyzer's labels for a batch of
// reviews. The analyzer loads wink's model once per thread, on the first batch.
import { analyzeReview, type ReviewLabels } from "./analyzer.js";
import type { Review } from "../sources/reviews.js";

/** A batch's labels, and the milliseconds the thread spent on them (how busy the threads are: `bench data`). */
export interface LabeledBatch {
  labels: ReviewLabels[];
  milliseconds: number;
}

export default function labelBatch(reviews: Array<Pick<Review, "text" | "title" | "rating" | "category">>): LabeledBatch {
  const started = performance.now();
  const labels = reviews.map((review) => analyzeReview(review));
  return { labels, milliseconds: performance.now() - started };
}
