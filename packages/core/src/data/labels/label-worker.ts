// One thread of `data build`'s label pool (label-pool.ts): the analyzer's labels for a batch of
// reviews. The analyzer loads wink's model once per thread, on the first batch.
import { workerData } from "piscina";
import { analyzeReview, type ReviewLabels } from "./analyzer.js";
import type { Review } from "../sources/reviews.js";

/** A batch's labels, and the milliseconds the thread spent on them (how busy the threads are: `bench data`). */
export interface LabeledBatch {
  labels: ReviewLabels[];
  milliseconds: number;
}

/** Batches this pool's threads have finished, shared with the build (LabelPool.pending). */
const done = new Int32Array((workerData as { done: SharedArrayBuffer }).done);

export default function labelBatch(reviews: Array<Pick<Review, "text" | "title" | "rating" | "category">>): LabeledBatch {
  const started = performance.now();
  try {
    const labels = reviews.map((review) => analyzeReview(review));
    return { labels, milliseconds: performance.now() - started };
  } finally {
    Atomics.add(done, 0, 1);
  }
}
