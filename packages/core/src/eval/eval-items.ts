// The items an evaluation asks about: a dataset folder's test split (`test.jsonl`, rows
// {group, task, phrasing, messages}) joined with its reviews (`reviews.jsonl`) for the gold labels'
// sources, categories, tags and texts. Gold values are read from the reference answer with the
// strict contract, so they are exactly what the dataset teaches; their source comes from the labels.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { REVIEW_TASKS, type ReviewTask } from "../data/augment/answers.js";
import { ANALYSIS_TASK, type ExampleTask } from "../data/augment/augment.js";
import { datasetPath, readReviewRows } from "../data/dataset-folder.js";
import { readJsonl } from "../data/jsonl.js";
import type { Sentiment } from "../data/labels/analyzer.js";
import { DataError } from "../errors.js";
import { parseAnswer, type Quality, type Recommendation } from "./parse-answer.js";
import { ExampleRowSchema, type ExampleMessage, type ReviewRow } from "@reviewtune/contracts";

export interface Gold {
  sentiment?: Sentiment;
  stars?: number;
  features?: string[];
  quality?: Quality;
  recommendation?: Recommendation;
}

export interface EvalReview {
  id: string;
  text: string;
  title?: string | undefined;
  category?: string | undefined;
  product_title?: string | undefined;
  tags: string[];
  sources: Record<string, string>;
}

export interface EvalItem {
  /** `${group}:${task}`. */
  id: string;
  group: string;
  task: ReviewTask;
  /** The conversation without the reference answer. */
  messages: ExampleMessage[];
  reference: string;
  gold: Gold;
  review: EvalReview | undefined;
}

/** A test split's row: a dataset example of a review task or the analysis. */
const TestRowSchema = ExampleRowSchema.extend({ task: z.enum([...REVIEW_TASKS, ANALYSIS_TASK] as unknown as [ExampleTask, ...ExampleTask[]]) });

export type { ReviewRow };

export interface EvalDataset {
  directory: string;
  items: EvalItem[];
  /** Training reviews' labels: the stratified random baseline draws from their distribution. */
  trainingLabels: ReviewRow["labels"][];
  reviews: number;
}

/**
 * Reads the test split; with `limit`, the first `limit` reviews' items of each task (the same reviews
 * for every task); with `chatPerReview` k, k tasks per review taken in turn (review i asks tasks i..i+k-1
 * of REVIEW_TASKS), so the whole split is covered at a fraction of the cost and every task is asked.
 */
export function loadEvalDataset(directory: string, options: { limit?: number | undefined; chatPerReview?: number | undefined } = {}): EvalDataset {
  const testFile = datasetPath(directory, "test");
  if (!existsSync(testFile)) {
    throw new DataError(`${testFile} does not exist`, testFile, undefined, { hint: "pass --data a dataset folder written by `reviewtune data build` (it has test.jsonl)" });
  }
  const rows = readJsonl(testFile, TestRowSchema, { what: "test split", hint: "rows need group, task (one of the six review tasks) and messages ending with the reference answer" });
  const reviewsFile = datasetPath(directory, "reviews");
  const reviewRows = existsSync(reviewsFile) ? readReviewRows(reviewsFile) : [];
  const reviewsById = new Map(reviewRows.map((row) => [row.id, row]));
  const groups = [...new Set(rows.map((row) => row.group))];
  const kept = new Set(options.limit ? groups.slice(0, options.limit) : groups);
  const position = new Map(groups.map((group, index) => [group, index]));
  const asked = (group: string, task: ReviewTask) => {
    const k = options.chatPerReview;
    if (!k || k >= REVIEW_TASKS.length) return true;
    const offset = (((REVIEW_TASKS.indexOf(task) - position.get(group)!) % REVIEW_TASKS.length) + REVIEW_TASKS.length) % REVIEW_TASKS.length;
    return offset < k;
  };
  const items: EvalItem[] = [];
  for (const [index, row] of rows.entries()) {
    if (!kept.has(row.group) || row.task === ANALYSIS_TASK || !asked(row.group, row.task)) continue;
    const last = row.messages[row.messages.length - 1]!;
    if (last.role !== "assistant") {
      throw new DataError(`${testFile}:${index + 1}: the last message must be the reference answer (role "assistant")`, testFile, index + 1, {
        hint: "test rows end with the answer the model should give",
      });
    }
    const parsed = parseAnswer(row.task, last.content);
    const gold: Gold = {};
    if (parsed.strict) {
      if (row.task === "sentiment" || row.task === "recommendation") gold.sentiment = parsed.sentiment!;
      if (row.task !== "features" && row.task !== "quality" && parsed.stars !== undefined) gold.stars = parsed.stars;
      if (row.task === "features") gold.features = parsed.features!;
      if (row.task === "quality") gold.quality = parsed.quality!;
      if (row.task === "recommendation") gold.recommendation = parsed.recommendation!;
    }
    const review = reviewsById.get(row.group);
    items.push({
      id: `${row.group}:${row.task}`,
      group: row.group,
      task: row.task,
      messages: row.messages.slice(0, -1),
      reference: last.content,
      gold,
      review: review
        ? {
            id: review.id,
            text: review.text,
            title: review.title,
            category: review.category,
            product_title: review.product_title,
            tags: review.tags ?? [],
            sources: {
              sentiment: review.labels.sentiment.source,
              rating: review.labels.rating.source,
              features: review.labels.features.source,
              quality: review.labels.quality.source,
              recommendation: review.labels.recommendation.source,
            },
          }
        : undefined,
    });
  }
  if (items.length === 0) throw new DataError(`${testFile} has no review-task rows to evaluate`, testFile);
  return {
    directory,
    items,
    trainingLabels: reviewRows.filter((row) => row.split === "train").map((row) => row.labels),
    reviews: kept.size,
  };
}
