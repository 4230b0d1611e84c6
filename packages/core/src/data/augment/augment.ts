// One labeled review -> one instruction example per task, in chat form. Training examples use one
// of the first TRAINING_PHRASING_COUNT phrasings (chosen from the review id, so a rebuild gives the
// same data); test examples use the held-out last phrasing.
import { createHash } from "node:crypto";
import type { ReviewLabels } from "../labels/analyzer.js";
import type { Review } from "../sources/reviews.js";
import { PHRASINGS, REVIEW_TASKS, TRAINING_PHRASING_COUNT, answerFor, type AnswerFacts, type ReviewTask } from "./answers.js";

export interface ReviewExample {
  /** The review id: all examples of a review stay in one split. */
  group: string;
  task: ReviewTask;
  /** Index into PHRASINGS[task]; the last one is held out for test. */
  phrasing: number;
  messages: Array<{ role: "user" | "assistant"; content: string }>;
}

const bucket = (text: string, modulo: number) => createHash("sha256").update(text).digest().readUInt32BE(0) % modulo;

export function factsFor(review: Review, labels: ReviewLabels): AnswerFacts {
  return {
    product: review.product_title ? review.product_title.slice(0, 80).toLowerCase() : "product",
    sentiment: labels.sentiment.label,
    score: labels.sentiment.score,
    stars: labels.rating.stars,
    // At most five, as a reader would list them; the rest stay in the labels.
    features: labels.features.items.slice(0, 5),
    praised: labels.features.praised.slice(0, 3),
    criticized: labels.features.criticized.slice(0, 3),
    quality: labels.quality.label,
    recommendation: labels.recommendation.label,
  };
}

export function reviewPrompt(review: Review, question: string): string {
  const about = review.product_title
    ? `Product: ${review.product_title}${review.category ? ` (${review.category})` : ""}\n`
    : review.category
      ? `Category: ${review.category}\n`
      : "";
  const body = review.title ? `${review.title}. ${review.text}` : review.text;
  return `${question}\n\n${about}Review: "${body}"`;
}

export function reviewExamples(
  review: Review,
  labels: ReviewLabels,
  options: { heldOutPhrasings?: boolean; tasks?: readonly ReviewTask[] } = {},
): ReviewExample[] {
  const facts = factsFor(review, labels);
  return (options.tasks ?? REVIEW_TASKS).map((task) => {
    const phrasings = PHRASINGS[task];
    const phrasing = options.heldOutPhrasings ? phrasings.length - 1 : bucket(`${review.id}:${task}`, TRAINING_PHRASING_COUNT);
    return {
      group: review.id,
      task,
      phrasing,
      messages: [
        { role: "user", content: reviewPrompt(review, phrasings[phrasing]!) },
        { role: "assistant", content: answerFor(facts, task) },
      ],
    };
  });
}
