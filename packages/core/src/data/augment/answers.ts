// The answer contract: how a fine-tuned model answers each review task. Natural to read, and parsed
// by the evaluator with these exact patterns, so change the two together.
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
  sentiment: "positive" | "neutral" | "negative";
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

// The last phrasing of each task is held out of training (used for test examples), so an
// evaluation measures the task, not recall of one memorised question.
export const PHRASINGS: Record<ReviewTask, string[]> = {
  sentiment: [
    "Analyze the sentiment of this review.",
    "What is the sentiment of the following product review?",
    "Classify the sentiment of this customer review as positive, neutral, or negative.",
    "How does this customer feel about the product overall?",
  ],
  rating: [
    "What star rating (1 to 5) does this review imply?",
    "How many stars would this reviewer give the product?",
    "Predict the star rating of this review.",
    "On a scale of 1 to 5 stars, how would this customer rate the product?",
  ],
  quality: [
    "What do customers say about quality in this review?",
    "How does this reviewer describe the quality of the product?",
    "Assess the product quality based on this review.",
    "Judging from this review, is the product well made?",
  ],
  recommendation: [
    "Should I buy this product based on this review?",
    "Would you recommend this product given the review below?",
    "Based on this review, is this product worth buying?",
    "Is this product a good purchase according to this customer?",
  ],
  features: [
    "What features are mentioned in this review?",
    "List the product features discussed in this review.",
    "Which aspects of the product does this review talk about?",
    "Extract the product features this reviewer comments on.",
  ],
  summary: [
    "Summarize this product review.",
    "Give a one-sentence summary of this review.",
    "Briefly summarize what this customer thinks.",
    "Write a short summary of the following customer feedback.",
  ],
};
export const TRAINING_PHRASING_COUNT = 3;
