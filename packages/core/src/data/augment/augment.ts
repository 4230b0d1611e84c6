// One labeled review -> one instruction example per task, in chat form, plus one `analysis` example
// (the review once, the answer the compact ReviewAnalysis JSON). Training examples ask one of the
// task's training phrasings, test examples one of its held-out ones (answers.ts), chosen from the
// review id so a rebuild gives the same data.
import { ANALYSIS_INSTRUCTION, ANALYSIS_MAX_ASPECTS, ANALYSIS_SUMMARY_MAX_CHARS, ANALYSIS_TERM_MAX_CHARS, formatAnalysis, type ReviewAnalysis } from "@reviewtune/contracts";
import type { ReviewLabels } from "../labels/analyzer.js";
import type { Review } from "../sources/reviews.js";
import { countWords } from "../words.js";
import { PHRASINGS, REVIEW_TASKS, answerFor, phrasingIndex, opinion as opinionOf, type AnswerFacts, type ReviewTask } from "./answers.js";

export const ANALYSIS_TASK = "analysis";
export type ExampleTask = ReviewTask | typeof ANALYSIS_TASK;

export interface ReviewExample {
  /** The review id: all examples of a review stay in one split. */
  group: string;
  task: ExampleTask;
  /** Index into PHRASINGS[task]; from TRAINING_PHRASING_COUNT on, a held-out one (test only). */
  phrasing: number;
  messages: Array<{ role: "user" | "assistant"; content: string }>;
}

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
  return `${promptHead(question, aboutLine(review))}${quotedReview(review)}`;
}

/** The prompt's line on the product: "Product: <title> (<category>)", "Category: <category>" or nothing. */
function aboutLine(review: Pick<Review, "product_title" | "category">): string {
  return review.product_title
    ? `Product: ${review.product_title}${review.category ? ` (${review.category})` : ""}\n`
    : review.category
      ? `Category: ${review.category}\n`
      : "";
}

/** A prompt's start, up to the quoted review: it ends with a line break. */
const promptHead = (question: string, about: string) => `${question}\n\n${about}`;
const quotedReview = (review: Pick<Review, "text"> & Partial<Pick<Review, "title">>) => `Review: "${reviewBody(review)}"`;

/** The review as a prompt quotes it: its title, then its text. */
export function reviewBody(review: Pick<Review, "text"> & Partial<Pick<Review, "title">>): string {
  return review.title ? `${review.title}. ${review.text}` : review.text;
}

export function reviewExamples(
  review: Review,
  labels: ReviewLabels,
  options: { heldOutPhrasings?: boolean; tasks?: readonly ReviewTask[] } = {},
): ReviewExample[] {
  const facts = factsFor(review, labels);
  return (options.tasks ?? REVIEW_TASKS).map((task) => {
    const phrasing = phrasingIndex(task, review.id, options.heldOutPhrasings);
    return {
      group: review.id,
      task,
      phrasing,
      messages: [
        { role: "user", content: reviewPrompt(review, PHRASINGS[task][phrasing]!) },
        { role: "assistant", content: answerFor(facts, task) },
      ],
    };
  });
}

/**
 * The analysis a review's labels state. Aspects: the labeled features with the tone of their
 * sentence (gold aspect terms with their polarity where a SemEval-style source gave them).
 * Summary: one short sentence from the same facts the chat answers use.
 */
export function analysisFromLabels(review: Review, labels: ReviewLabels): ReviewAnalysis {
  const facts = factsFor(review, labels);
  const praised = new Set(labels.features.praised);
  const criticized = new Set(labels.features.criticized);
  const aspects = (labels.aspects ?? labels.features.items.map((term) => ({
    term,
    polarity: praised.has(term) && !criticized.has(term) ? "positive" : criticized.has(term) && !praised.has(term) ? "negative" : "neutral",
  } as const)))
    .filter((aspect) => aspect.term.length <= ANALYSIS_TERM_MAX_CHARS)
    .slice(0, ANALYSIS_MAX_ASPECTS);
  const summary = `The reviewer ${opinionOf(facts)}.`;
  return {
    stars: Math.min(5, Math.max(1, Math.round(labels.rating.stars))) as ReviewAnalysis["stars"],
    sentiment: labels.sentiment.label,
    score: Math.max(-1, Math.min(1, Math.round(labels.sentiment.score * 10) / 10)),
    quality: labels.quality.label,
    recommendation: labels.recommendation.label,
    aspects,
    summary: summary.length <= ANALYSIS_SUMMARY_MAX_CHARS ? summary : `${summary.slice(0, ANALYSIS_SUMMARY_MAX_CHARS - 1).replace(/\s+\S*$/, "")}.`,
  };
}

/** The user turn of the analysis task: the instruction, then the review as the chat tasks quote it. */
export function analysisPrompt(review: Pick<Review, "text"> & Partial<Pick<Review, "title" | "product_title" | "category">>): string {
  return reviewPrompt(review as Review, ANALYSIS_INSTRUCTION);
}

export function analysisExample(review: Review, labels: ReviewLabels): ReviewExample {
  return {
    group: review.id,
    task: ANALYSIS_TASK,
    phrasing: 0,
    messages: [
      { role: "user", content: analysisPrompt(review) },
      { role: "assistant", content: formatAnalysis(analysisFromLabels(review, labels)) },
    ],
  };
}

/** One example as a line of a split file, with what the dataset card counts of it. */
export interface ExampleLine {
  task: ExampleTask;
  /** JSON.stringify of the example (reviewExamples', analysisExample's), the same characters. */
  json: string;
  /** The words of its messages (countWords of each, summed). */
  words: number;
}

/** JSON.stringify(text) without its quotes. Escaped pieces joined at ASCII characters are the escaped join. */
const escaped = (text: string) => JSON.stringify(text).slice(1, -1);

/** A question (a phrasing, the analysis instruction) escaped and its words counted, once per build, not per example. */
const questionParts = new Map<string, { json: string; words: number }>();
function questionPart(question: string): { json: string; words: number } {
  let part = questionParts.get(question);
  if (!part) questionParts.set(question, (part = { json: escaped(question), words: countWords(question) }));
  return part;
}

/**
 * The lines `data build` writes for a review: its reviewExamples, then its analysisExample, as JSON.
 * Every example quotes the whole review: here it is escaped and its words counted once, not seven
 * times (JSON.stringify of each example was a quarter of a build's main thread). augment.test
 * checks the lines against JSON.stringify of the examples.
 */
export function reviewExampleLines(review: Review, labels: ReviewLabels, options: { heldOutPhrasings?: boolean } = {}): ExampleLine[] {
  const facts = factsFor(review, labels);
  const group = JSON.stringify(review.id);
  // The user turn is reviewPrompt's: the question, then the rest (promptHead's line breaks, the
  // product line, the quoted review), the same for every task. The two are escaped and counted
  // apart: the rest starts with a line break, so no word spans the join, and escaped pieces joined
  // at an ASCII character are the escaped join.
  const rest = reviewPrompt(review, "");
  const restJson = escaped(rest);
  const restWords = countWords(rest);
  const line = (task: ExampleTask, phrasing: number, question: string, answer: string): ExampleLine => {
    const asked = questionPart(question);
    const json = `{"group":${group},"task":"${task}","phrasing":${phrasing},"messages":[{"role":"user","content":"${asked.json}${restJson}"},{"role":"assistant","content":${JSON.stringify(answer)}}]}`;
    return { task, json, words: asked.words + restWords + countWords(answer) };
  };
  const lines = REVIEW_TASKS.map((task) => {
    const phrasing = phrasingIndex(task, review.id, options.heldOutPhrasings);
    return line(task, phrasing, PHRASINGS[task][phrasing]!, answerFor(facts, task));
  });
  lines.push(line(ANALYSIS_TASK, 0, ANALYSIS_INSTRUCTION, formatAnalysis(analysisFromLabels(review, labels))));
  return lines;
}
