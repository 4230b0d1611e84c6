// The answer contract: how a fine-tuned model answers each review task. Natural to read, and parsed
// by the evaluator with these exact patterns, so change the two together.
//
// The task is named first, always: every answer starts with its own task's word and a colon
// ("Sentiment:", "Rating:", "Quality:", "Recommendation:", "Features:", "Summary:"), and no answer
// starts with another task's word (the recommendation answer says "Positive sentiment (0.8)", and
// the sentiment answer's "Rating: 5/5 stars" comes second). The patterns are anchored at the start,
// so at most one matches any answer: the evaluator reads an answer's task from its first word
// (eval/format-adherence.ts), and an answer in another task's format never counts as following
// the asked task's.
//
//   sentiment       /^Sentiment: (positive|neutral|negative) \((-?\d\.\d)\)\. Rating: ([1-5])\/5 stars\. The reviewer .+\.$/
//                   "Sentiment: positive (0.8). Rating: 5/5 stars. The reviewer praises the battery life and the design."
//   rating          /^Rating: ([1-5])\/5 stars\. The reviewer .+\.$/
//                   "Rating: 2/5 stars. The reviewer criticizes the strap."
//   quality         /^Quality: (good|mixed|poor)\. The reviewer .+\.$/
//                   "Quality: good. The reviewer is satisfied with the battery life and the design."
//   recommendation  /^Recommendation: (yes|mixed|no)\. (Positive|Neutral|Negative) sentiment \((-?\d\.\d)\) and ([1-5])\/5 stars; the reviewer .+\.$/
//                   "Recommendation: yes. Positive sentiment (0.8) and 5/5 stars; the reviewer praises the battery life."
//   features        /^Features: ([a-z][a-z -]*(, [a-z][a-z -]*)*|none)\.$/
//                   "Features: battery life, sound quality, design."
//   summary         /^Summary: The reviewer rates the .+ ([1-5])\/5 stars and .+\.$/
//                   "Summary: The reviewer rates the wireless earbuds 5/5 stars and praises the battery life."

import type { Sentiment } from "@reviewtune/contracts";
import { sha256Bytes, wordBE } from "../digest.js";

export type ReviewTask = "sentiment" | "rating" | "quality" | "recommendation" | "features" | "summary";
export const REVIEW_TASKS: readonly ReviewTask[] = ["sentiment", "rating", "quality", "recommendation", "features", "summary"];

export const ANSWER_PATTERNS: Record<ReviewTask, RegExp> = {
  sentiment: /^Sentiment: (positive|neutral|negative) \((-?\d\.\d)\)\. Rating: ([1-5])\/5 stars\. The reviewer .+\.$/,
  rating: /^Rating: ([1-5])\/5 stars\. The reviewer .+\.$/,
  quality: /^Quality: (good|mixed|poor)\. The reviewer .+\.$/,
  recommendation: /^Recommendation: (yes|mixed|no)\. (Positive|Neutral|Negative) sentiment \((-?\d\.\d)\) and ([1-5])\/5 stars; the reviewer .+\.$/,
  features: /^Features: ([a-z][a-z -]*(, [a-z][a-z -]*)*|none)\.$/,
  summary: /^Summary: The reviewer rates the .+ ([1-5])\/5 stars and .+\.$/,
};

/** What an answer states: from the demo generator's known labels or from a labeler. */
export interface AnswerFacts {
  /** "wireless earbuds", or "product" when the source does not name it. */
  product: string;
  sentiment: Sentiment;
  /** In [-1, 1]. */
  score: number;
  stars: number;
  features: string[];
  praised: string[];
  criticized: string[];
  quality: "good" | "mixed" | "poor";
  recommendation: "yes" | "mixed" | "no";
}

export function formatScore(score: number): string {
  const rounded = Math.round(score * 10) / 10;
  return (Object.is(rounded, -0) ? 0 : rounded).toFixed(1);
}

export function joinFeatures(features: readonly string[]): string {
  const named = features.map((feature) => `the ${feature}`);
  if (named.length <= 2) return named.join(" and ");
  return `${named.slice(0, -1).join(", ")}, and ${named[named.length - 1]}`;
}

const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** "praises the fit and criticizes the strap", or by overall tone when features carry no tone. */
export function opinion(facts: AnswerFacts): string {
  const parts: string[] = [];
  if (facts.praised.length > 0) parts.push(`praises ${joinFeatures(facts.praised)}`);
  if (facts.criticized.length > 0) parts.push(`criticizes ${joinFeatures(facts.criticized)}`);
  if (parts.length > 0) return parts.join(" and ");
  const what = facts.features.length > 0 ? joinFeatures(facts.features) : `the ${facts.product} overall`;
  return `${{ positive: "praises", neutral: "has mixed feelings about", negative: "criticizes" }[facts.sentiment]} ${what}`;
}

export function answerFor(facts: AnswerFacts, task: ReviewTask): string {
  const score = formatScore(facts.score);
  const stars = `${facts.stars}/5 stars`;
  const features = facts.features.length > 0 ? joinFeatures(facts.features) : `the ${facts.product}`;
  switch (task) {
    case "sentiment":
      return `Sentiment: ${facts.sentiment} (${score}). Rating: ${stars}. The reviewer ${opinion(facts)}.`;
    case "rating":
      return `Rating: ${stars}. The reviewer ${opinion(facts)}.`;
    case "quality": {
      if (facts.quality === "good") return `Quality: good. The reviewer is satisfied with ${features}.`;
      if (facts.quality === "mixed") return `Quality: mixed. The reviewer gives mixed marks to ${features}.`;
      return `Quality: poor. The reviewer is dissatisfied with ${features}.`;
    }
    case "recommendation":
      return `Recommendation: ${facts.recommendation}. ${capitalize(facts.sentiment)} sentiment (${score}) and ${stars}; the reviewer ${opinion(facts)}.`;
    case "features":
      return `Features: ${facts.features.length > 0 ? facts.features.join(", ") : "none"}.`;
    case "summary":
      return `Summary: The reviewer rates the ${facts.product} ${stars} and ${opinion(facts)}.`;
  }
}

// The questions each task is asked in. Training examples use the first TRAINING_PHRASING_COUNT of a
// task; the last HELD_OUT_PHRASING_COUNT are never trained on and are what test examples ask, so an
// evaluation measures the task (and whether the answer keeps the task's format), not recall of a
// memorised question. They vary on purpose: questions, imperatives, casual lowercase wording, with
// and without "this review", and one-word ones ("Stars?"). Each stays unambiguous about its task.
// Append within a block, never reorder: an example's `phrasing` is an index into its task's list.
export const TRAINING_PHRASING_COUNT = 12;
export const HELD_OUT_PHRASING_COUNT = 3;

export const PHRASINGS: Record<ReviewTask, readonly string[]> = {
  sentiment: [
    "Analyze the sentiment of this review.",
    "What is the sentiment of the following product review?",
    "Classify the sentiment of this customer review as positive, neutral, or negative.",
    "How does this customer feel about the product overall?",
    "Is this review positive, negative, or neutral?",
    "Sentiment?",
    "Tell me the overall tone of this review.",
    "Detect the sentiment the reviewer expresses.",
    "Was the customer happy or unhappy with this purchase?",
    "positive or negative review?",
    "What's the reviewer's attitude toward the product?",
    "Give the sentiment label and score for this review.",
    // held out
    "Does this buyer sound satisfied, disappointed, or somewhere in between?",
    "Sentiment check on this one, please.",
    "How positive or negative is this customer's opinion?",
  ],
  rating: [
    "What star rating (1 to 5) does this review imply?",
    "How many stars would this reviewer give the product?",
    "Predict the star rating of this review.",
    "On a scale of 1 to 5 stars, how would this customer rate the product?",
    "Stars?",
    "Guess the rating this review came with.",
    "Rate this review from 1 to 5 stars.",
    "What score out of five fits this review?",
    "how many stars do you think they gave it",
    "Estimate the customer's star rating.",
    "If this review had a star rating, what would it be?",
    "Infer the number of stars from the review text.",
    // held out
    "Out of 5, what did this buyer rate it?",
    "Star rating, please.",
    "What rating goes with this customer's words?",
  ],
  quality: [
    "What do customers say about quality in this review?",
    "How does this reviewer describe the quality of the product?",
    "Assess the product quality based on this review.",
    "Judging from this review, is the product well made?",
    "Quality?",
    "Is the quality good, mixed, or poor according to this review?",
    "Rate the product's quality as the reviewer describes it.",
    "does it seem well built or cheap?",
    "What does the review suggest about how well the product is made?",
    "Evaluate the craftsmanship described in this review.",
    "Is this product solid, according to the customer?",
    "Tell me whether the reviewer found the product good quality.",
    // held out
    "How well made is this, going by the review?",
    "Quality verdict for this product?",
    "Does the customer think the product holds up well?",
  ],
  recommendation: [
    "Should I buy this product based on this review?",
    "Would you recommend this product given the review below?",
    "Based on this review, is this product worth buying?",
    "Is this product a good purchase according to this customer?",
    "Buy or skip?",
    "Would this reviewer recommend it to a friend?",
    "Recommend this product or not, judging by the review?",
    "is it worth the money?",
    "Decide whether this review recommends the product.",
    "Does this review make the case for buying the product?",
    "Give a buy recommendation based on this customer's experience.",
    "Would you tell someone to get this, given what the reviewer says?",
    // held out
    "Worth it?",
    "Based on what this buyer says, should I get one?",
    "Is this review a thumbs up for buying the product?",
  ],
  features: [
    "What features are mentioned in this review?",
    "List the product features discussed in this review.",
    "Which aspects of the product does this review talk about?",
    "Extract the product features this reviewer comments on.",
    "Features?",
    "Name the aspects of the product the customer brings up.",
    "What parts of the product does the reviewer talk about?",
    "which features come up here",
    "Pull out the product attributes mentioned in the text.",
    "Identify the features this customer mentions.",
    "What product characteristics does the review cover?",
    "List every aspect of the product the review refers to.",
    // held out
    "Aspects mentioned?",
    "Tell me which features of the product this review touches on.",
    "What product details does the customer discuss?",
  ],
  summary: [
    "Summarize this product review.",
    "Give a one-sentence summary of this review.",
    "Briefly summarize what this customer thinks.",
    "Write a short summary of the following customer feedback.",
    "Summary?",
    "TL;DR?",
    "Sum up this review in a sentence.",
    "what's the gist of this review",
    "Condense this review into one line.",
    "Give me the short version of what the reviewer says.",
    "Recap the customer's opinion briefly.",
    "Describe this review in a single sentence.",
    // held out
    "In a nutshell, what does this review say?",
    "Quick summary, please.",
    "Boil this customer's review down to one sentence.",
  ],
};

/** The phrasings training examples use. */
export function trainingPhrasings(task: ReviewTask): readonly string[] {
  return PHRASINGS[task].slice(0, TRAINING_PHRASING_COUNT);
}

/** The phrasings training never uses: test examples ask these. */
export function heldOutPhrasings(task: ReviewTask): readonly string[] {
  return PHRASINGS[task].slice(TRAINING_PHRASING_COUNT);
}

/**
 * The index into PHRASINGS[task] an example of a review asks: one of the training phrasings, or
 * with `heldOut` one of the held-out ones, chosen from `key` (the review id) by a hash, so a rebuild
 * gives the same data and, over many reviews, every phrasing of the block is used.
 */
export function phrasingIndex(task: ReviewTask, key: string, heldOut = false): number {
  // One crypto.hash call to a string (digest.ts): a createHash object per example was 8% of a build's main thread.
  const hash = wordBE(sha256Bytes(`${key}:${task}`));
  return heldOut ? TRAINING_PHRASING_COUNT + (hash % HELD_OUT_PHRASING_COUNT) : hash % TRAINING_PHRASING_COUNT;
}
