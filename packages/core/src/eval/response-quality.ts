// Response quality without a judge: completeness (does the answer carry what its task asks for) and
// domain specificity (how much of it talks about the product and the review, not filler). Both are
// per-answer shares in [0, 1]; the report gives their means with intervals.
import type { ReviewTask } from "../data/augment/answers.js";
import { normalizeFeature } from "./metrics.js";
import { readStars } from "./parse-answer.js";

const VERDICT = {
  sentiment: /\b(positive|negative|neutral|mixed)\b/i,
  quality: /\b(good|mixed|poor|excellent|bad|high|low)[- ]?(quality)?\b/i,
  recommendation: /^\s*(yes|no)\b|recommendation:\s*(yes|no|mixed)|\b(recommend|worth|avoid)\b/i,
};
const SCORE = /\(-?\d(\.\d)?\)|score:? -?\d(\.\d)?/i;
const REASON = /\b(reviewer|because|praises?|criticizes?|complains?|likes?|loves?|dislikes?|satisfied|dissatisfied|mentions?)\b/i;

/** The elements an answer to `task` must carry, each a test on the answer text. */
export const REQUIRED_ELEMENTS: Record<ReviewTask, Array<{ name: string; present: (answer: string, features: readonly string[]) => boolean }>> = {
  sentiment: [
    { name: "sentiment label", present: (answer) => VERDICT.sentiment.test(answer) },
    { name: "sentiment score", present: (answer) => SCORE.test(answer) },
    { name: "star rating", present: (answer) => readStars(answer) !== undefined },
    { name: "reason", present: (answer, features) => REASON.test(answer) || mentionsFeature(answer, features) },
  ],
  rating: [
    { name: "star rating", present: (answer) => readStars(answer) !== undefined },
    { name: "reason", present: (answer, features) => REASON.test(answer) || mentionsFeature(answer, features) },
  ],
  quality: [
    { name: "quality verdict", present: (answer) => VERDICT.quality.test(answer) },
    { name: "evidence", present: (answer, features) => REASON.test(answer) || mentionsFeature(answer, features) },
  ],
  recommendation: [
    { name: "verdict", present: (answer) => VERDICT.recommendation.test(answer) },
    { name: "sentiment", present: (answer) => VERDICT.sentiment.test(answer) },
    { name: "star rating", present: (answer) => readStars(answer) !== undefined },
    { name: "reason", present: (answer, features) => REASON.test(answer) || mentionsFeature(answer, features) },
  ],
  features: [{ name: "feature list", present: (answer) => /features?:|^\s*(?:[-*•]|\d+[.)])\s+/im.test(answer) }],
  summary: [
    { name: "star rating", present: (answer) => readStars(answer) !== undefined },
    { name: "opinion", present: (answer, features) => REASON.test(answer) || mentionsFeature(answer, features) },
  ],
};

function mentionsFeature(answer: string, features: readonly string[]): boolean {
  const text = ` ${answer.toLowerCase()} `;
  return features.some((feature) => feature.length > 2 && (text.includes(feature.toLowerCase()) || text.includes(normalizeFeature(feature))));
}

export function completeness(task: ReviewTask, answer: string, goldFeatures: readonly string[] = []): number {
  const elements = REQUIRED_ELEMENTS[task];
  return elements.filter((element) => element.present(answer, goldFeatures)).length / elements.length;
}

/** Review-analysis vocabulary: words that carry the task's meaning in any category. */
export const DOMAIN_TERMS = new Set(
  (
    "sentiment positive negative neutral mixed rating rate rates rated star stars quality good poor excellent recommend recommendation recommended " +
    "review reviewer customer customers product products feature features price value design durable durability sturdy flimsy fit size comfort " +
    "battery sound material performance satisfied dissatisfied praises praise criticizes criticize complains purchase buy worth money return returned " +
    "broke broken works working defective cheap expensive shipping packaging instructions assembly delivery summary"
  ).split(" "),
);

const STOPWORDS = new Set(
  (
    "the a an and or but if then so of to in on at for with from by as is are was were be been being it its this that these those i you he she they we " +
    "my your his her their our me him them us not no yes do does did done have has had will would can could should may might must very really just also " +
    "about into over than too more most some any all each other such only own same which who whom what when where why how there here while because"
  ).split(" "),
);

/**
 * Share of the answer's content words (3+ letters, not stopwords) that are review-analysis terms,
 * words of the gold features, or words of the product's title and category. An empty answer scores 0.
 */
export function domainSpecificity(answer: string, productTerms: readonly string[]): number {
  const words = answer.toLowerCase().match(/\p{L}{3,}/gu) ?? [];
  const content = words.filter((word) => !STOPWORDS.has(word));
  if (content.length === 0) return 0;
  const product = new Set(productTerms.flatMap((term) => term.toLowerCase().match(/\p{L}{3,}/gu) ?? []));
  return content.filter((word) => DOMAIN_TERMS.has(word) || product.has(word)).length / content.length;
}
