// One thread of `data build`'s label pool (label-pool.ts): the analyzer's labels for a batch of
// reviews. The analyzer loads wink's model once per thread, on the first batch.
import { analyzeReview, type ReviewLabels } from "./analyzer.js";
import type { Review } from "../sources/reviews.js";

export default function labelBatch(reviews: Array<Pick<Review, "text" | "title" | "rating" | "category">>): ReviewLabels[] {
  return reviews.map((review) => analyzeReview(review));
}
