// Scoring of the one-pass analysis: every test review's `analysis` example answered by each
// language model (decoding constrained to the ReviewAnalysis schema, so an answer always parses),
// next to the rule-based analyzer, a stratified random guess and the majority-class floor; every
// field against its gold with bootstrap intervals (sentiment, stars, quality, recommendation,
// aspect terms). Gold comes from the review's labels in reviews.jsonl, with their sources.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ANALYSIS_JUMPS, ANALYSIS_ORDINALS, ExampleMessageSchema, QUALITY_LABELS, RECOMMENDATION_LABELS, SENTIMENT_CLASSES, parseAnalysis, sentimentOfStars, reviewAnalysisJsonSchema, type AnalysisReport, type AnalysisSystemResult, type ExampleMessage, type ReviewAnalysis, type ReviewRow } from "@reviewtune/contracts";
import { ANALYSIS_TASK, reviewBody } from "../data/augment/augment.js";
import { datasetPath, readExampleRows, readReviewRows } from "../data/dataset-folder.js";
import { analyzeReview } from "../data/labels/analyzer.js";
import type { Review } from "../data/sources/reviews.js";
import { classify, type ClassifierChoice } from "../classify/classify.js";
import type { EngineClient } from "../engine/client.js";
import type { GenerationBackend, GenerationRequest } from "../model/backend.js";
import { compareCorrectness } from "./compare.js";
import { classificationMetrics, featureMetrics, majorityFloor, ratingMetrics } from "./metrics.js";
import { percentile, seededRandom, type BootstrapOptions } from "./statistics.js";

/**
 * New tokens per answer: room for the longest answer the schema admits, so that a constrained answer
 * always ends inside the budget and parses. Written compactly the schema's longest answer is about
 * 650 characters (a 160-character summary, five 40-character terms, the longest labels); a model
 * that fills every string bound (a base or random model does) writes about 1.5-2 characters per
 * token, so 256 tokens cut such answers off (the torch engine's tiny test model stopped 455
 * characters in). node-llama-cpp's grammar also admits indentation, which the same budget covers
 * for the tuned model's short answers. Decoding stops at the grammar's end, so the budget costs
 * nothing for an answer that finishes early.
 */
export const ANALYSIS_MAX_TOKENS = 512;

/**
 * How the analyses of these reviews are asked for: greedy (a measurement), each constrained to its
 * review's schema (aspect terms quoted from that review), the stars and the sentiment by their
 * median, within the token budget, the keys between the values fed in batches on the llama.cpp path.
 */
export function analysisGeneration(reviews: ReadonlyArray<Pick<Review, "text"> & Partial<Pick<Review, "title">>>): Pick<GenerationRequest, "maxNewTokens" | "temperature" | "topP" | "seed" | "jsonSchema" | "ordinal" | "jumps"> {
  return {
    maxNewTokens: ANALYSIS_MAX_TOKENS,
    temperature: 0,
    topP: 1,
    seed: 0,
    jsonSchema: reviews.map((review) => reviewAnalysisJsonSchema(reviewBody(review))),
    ordinal: ANALYSIS_ORDINALS,
    jumps: ANALYSIS_JUMPS,
  };
}

export interface AnalysisGold {
  sentiment: (typeof SENTIMENT_CLASSES)[number];
  /** Only where the review has stars (a rating given by its author). */
  stars?: number;
  quality: (typeof QUALITY_LABELS)[number];
  recommendation: (typeof RECOMMENDATION_LABELS)[number];
  aspects: string[];
}

export interface AnalysisItem {
  /** `${group}:analysis`. */
  id: string;
  group: string;
  messages: ExampleMessage[];
  gold: AnalysisGold;
  sources: Record<keyof AnalysisGold, string>;
  review: { text: string; title?: string | undefined; category?: string | undefined };
}


export interface AnalysisDataset {
  items: AnalysisItem[];
  /** The training reviews' labels: the random baseline draws from them. */
  training: ReviewRow["labels"][];
}

/** The test split's analysis examples joined with their reviews' labels; `limit`: the first n. */
export function loadAnalysisItems(directory: string, options: { limit?: number | undefined } = {}): AnalysisDataset {
  const testFile = datasetPath(directory, "test");
  const reviewsFile = datasetPath(directory, "reviews");
  if (!existsSync(testFile) || !existsSync(reviewsFile)) return { items: [], training: [] };
  const reviews = readReviewRows(reviewsFile);
  const byId = new Map(reviews.map((row) => [row.id, row]));
  const items: AnalysisItem[] = [];
  for (const row of readExampleRows(testFile, { what: "test split", allowEmpty: true })) {
    if (row.task !== ANALYSIS_TASK) continue;
    const review = byId.get(row.group);
    if (!review) continue; // an instruction dataset's row: no labels to score against
    const labels = review.labels;
    const hasStars = labels.rating.source === "rating" || labels.rating.source === "generator";
    items.push({
      id: `${row.group}:${ANALYSIS_TASK}`,
      group: row.group,
      messages: row.messages.slice(0, -1),
      gold: {
        sentiment: labels.sentiment.label,
        ...(hasStars ? { stars: Math.round(labels.rating.stars) } : {}),
        quality: labels.quality.label,
        recommendation: labels.recommendation.label,
        aspects: labels.aspects ? labels.aspects.map((aspect) => aspect.term) : labels.features.items.slice(0, 5),
      },
      sources: {
        sentiment: labels.sentiment.source,
        stars: labels.rating.source,
        quality: labels.quality.source,
        recommendation: labels.recommendation.source,
        aspects: labels.aspects ? "annotation" : labels.features.source,
      },
      review: { text: review.text, title: review.title, category: review.category },
    });
    if (options.limit && items.length >= options.limit) break;
  }
  return { items, training: reviews.filter((row) => row.split === "train").map((row) => row.labels) };
}

/** A system's reading of each item: an analysis, or null when its answer was not one. */
export interface AnalysisRun {
  name: string;
  description: string;
  /** A classification head predicts some fields only (stars, or sentiment): the others are not scored. */
  analyses: Array<Partial<ReviewAnalysis> | null>;
  /** The fields this system predicts; default all. */
  fields?: ReadonlyArray<"stars" | "sentiment" | "quality" | "recommendation" | "aspects">;
  answers?: string[];
  errors?: Array<string | null>;
  latency?: AnalysisSystemResult["latency"];
}

/** A language model's analyses through a backend, constrained to the schema, in chunks so progress can be shown. */
export async function analyzeWithBackend(
  backend: GenerationBackend,
  items: ReadonlyArray<Pick<AnalysisItem, "messages"> & { review: Pick<Review, "text"> & Partial<Pick<Review, "title">> }>,
  options: { adapterDir?: string | undefined; chunk?: number; maxNewTokens?: number; signal?: AbortSignal | undefined; onProgress?: (done: number) => void },
): Promise<{ analyses: Array<ReviewAnalysis | null>; answers: string[]; errors: Array<string | null>; latency: NonNullable<AnalysisSystemResult["latency"]> }> {
  const chunk = options.chunk ?? 16;
  const answers: string[] = [];
  const latencies: number[] = [];
  let tokens = 0;
  let seconds = 0;
  const signal = options.signal ?? new AbortController().signal;
  for (let offset = 0; offset < items.length; offset += chunk) {
    signal.throwIfAborted();
    const batch = items.slice(offset, offset + chunk);
    const started = performance.now();
    const result = await backend.generate({
      adapterDir: options.adapterDir,
      prompts: batch.map((item) => backend.renderChat(item.messages)),
      ...analysisGeneration(batch.map((item) => item.review)),
      ...(options.maxNewTokens ? { maxNewTokens: options.maxNewTokens } : {}),
      signal,
    });
    const elapsed = (performance.now() - started) / 1000;
    seconds += elapsed;
    for (const output of result.outputs) {
      answers.push(output.text);
      tokens += output.new_tokens;
      // the wall time of the chunk shared by its answers (they are decoded together)
      latencies.push(elapsed / batch.length);
    }
    options.onProgress?.(answers.length);
  }
  const parsed = answers.map((answer) => parseAnalysis(answer));
  return {
    analyses: parsed.map((result) => (result.ok ? result.analysis : null)),
    answers,
    errors: parsed.map((result) => (result.ok ? null : result.error)),
    latency: {
      seconds_per_analysis_p50: percentile(latencies, 0.5),
      analyses_per_minute: seconds > 0 ? (answers.length / seconds) * 60 : 0,
      tokens_per_analysis: answers.length ? tokens / answers.length : 0,
      total_seconds: seconds,
    },
  };
}

/**
 * A classification head's reading of each review (its text, as heads are trained): a rating head
 * gives stars and the sentiment they map to, a sentiment head the sentiment only.
 */
export async function headAnalyses(engine: EngineClient, head: { choice: ClassifierChoice; labels: "rating" | "sentiment" }, items: readonly AnalysisItem[]): Promise<Pick<AnalysisRun, "analyses" | "fields" | "latency">> {
  const started = performance.now();
  const result = await classify(engine, head.choice, items.map((item) => item.review.text));
  const seconds = (performance.now() - started) / 1000;
  const latency = { seconds_per_analysis_p50: seconds / Math.max(1, items.length), analyses_per_minute: seconds > 0 ? (items.length / seconds) * 60 : 0, tokens_per_analysis: 0, total_seconds: seconds };
  if (head.labels === "rating") {
    return {
      fields: ["stars", "sentiment"],
      latency,
      analyses: result.outputs.map((output) => {
        const stars = Number(output.label) as ReviewAnalysis["stars"];
        return { stars, sentiment: sentimentOfStars(stars) };
      }),
    };
  }
  return { fields: ["sentiment"], latency, analyses: result.outputs.map((output) => ({ sentiment: output.label as ReviewAnalysis["sentiment"] })) };
}

/** The rule-based analyzer's analysis of one review, from its text alone (never the stars the gold came from). */
export function ruleBasedAnalysis(review: { text: string; title?: string | undefined; category?: string | undefined }): ReviewAnalysis {
  const labels = analyzeReview({ text: review.text, title: review.title, category: review.category });
  return {
    stars: Math.min(5, Math.max(1, Math.round(labels.rating.stars))) as ReviewAnalysis["stars"],
    sentiment: labels.sentiment.label,
    score: labels.sentiment.score,
    quality: labels.quality.label,
    recommendation: labels.recommendation.label,
    aspects: labels.features.items.slice(0, 5).map((term) => ({ term, polarity: "neutral" as const })),
    summary: labels.summary.text.slice(0, 160) || "-",
  };
}

/** The rule-based analyzer on each item's review. */
export function ruleBasedAnalyses(items: readonly AnalysisItem[]): ReviewAnalysis[] {
  return items.map((item) => ruleBasedAnalysis(item.review));
}

/** Each field drawn independently from the training reviews' labels (seeded). */
export function randomAnalyses(items: readonly AnalysisItem[], training: readonly ReviewRow["labels"][], seed: number): Array<ReviewAnalysis | null> {
  const random = seededRandom(seed);
  const draw = () => training[Math.floor(random() * training.length)]!;
  return items.map(() => {
    if (training.length === 0) return null;
    return {
      stars: Math.min(5, Math.max(1, Math.round(draw().rating.stars))) as ReviewAnalysis["stars"],
      sentiment: draw().sentiment.label,
      score: 0,
      quality: draw().quality.label,
      recommendation: draw().recommendation.label,
      aspects: [],
      summary: "-",
    };
  });
}

const indices = (items: readonly AnalysisItem[], has: (item: AnalysisItem) => boolean) => items.flatMap((item, index) => (has(item) ? [index] : []));

/** Every field of one system against the gold, with intervals. */
export function scoreAnalyses(items: readonly AnalysisItem[], run: AnalysisRun, options: BootstrapOptions = {}): AnalysisSystemResult {
  const a = run.analyses;
  const rated = indices(items, (item) => item.gold.stars !== undefined);
  const has = (field: NonNullable<AnalysisRun["fields"]>[number]) => !run.fields || run.fields.includes(field);
  return {
    name: run.name,
    description: run.description,
    n: items.length,
    unparseable: a.filter((analysis) => analysis === null).length,
    sentiment: has("sentiment") ? classificationMetrics(items.map((item) => item.gold.sentiment), a.map((analysis) => analysis?.sentiment ?? null), SENTIMENT_CLASSES, options) : null,
    rating: rated.length && has("stars") ? ratingMetrics(rated.map((index) => items[index]!.gold.stars!), rated.map((index) => a[index]?.stars ?? null), options) : null,
    quality: has("quality") ? classificationMetrics(items.map((item) => item.gold.quality), a.map((analysis) => analysis?.quality ?? null), QUALITY_LABELS, options) : null,
    recommendation: has("recommendation") ? classificationMetrics(items.map((item) => item.gold.recommendation), a.map((analysis) => analysis?.recommendation ?? null), RECOMMENDATION_LABELS, options) : null,
    aspects: has("aspects") ? featureMetrics(items.map((item) => item.gold.aspects), a.map((analysis) => (analysis?.aspects ? analysis.aspects.map((aspect) => aspect.term) : null)), options) : null,
    latency: run.latency ?? null,
  };
}

/** Where each gold field came from, over the items. */
function goldSources(items: readonly AnalysisItem[]): Record<string, string[]> {
  const sources: Record<string, Set<string>> = {};
  for (const item of items) for (const [field, source] of Object.entries(item.sources)) (sources[field] ??= new Set()).add(source);
  return Object.fromEntries(Object.entries(sources).map(([field, set]) => [field, [...set].sort()]));
}

export function analysisReport(items: readonly AnalysisItem[], runs: readonly AnalysisRun[], options: BootstrapOptions = {}): AnalysisReport {
  const rated = items.filter((item) => item.gold.stars !== undefined);
  const tuned = runs.find((run) => run.name === "tuned");
  const comparisons = runs
    .filter((run) => run !== tuned && run.answers !== undefined)
    .flatMap((other) =>
      tuned
        ? [
            compareCorrectness({
              a: tuned.name,
              b: other.name,
              metric: "analysis: sentiment accuracy",
              items: items.map((item, index) => ({
                id: item.id,
                task: ANALYSIS_TASK,
                gold: item.gold.sentiment,
                a: { correct: tuned.analyses[index]?.sentiment === item.gold.sentiment, answer: tuned.answers?.[index] ?? "" },
                b: { correct: other.analyses[index]?.sentiment === item.gold.sentiment, answer: other.answers?.[index] ?? "" },
              })),
              ...(options ? { bootstrap: options } : {}),
            }),
          ]
        : [],
    );
  return {
    items: items.length,
    gold_sources: goldSources(items),
    majority: {
      sentiment: majorityFloor(items.map((item) => item.gold.sentiment)),
      stars: majorityFloor(rated.map((item) => String(item.gold.stars))),
      quality: majorityFloor(items.map((item) => item.gold.quality)),
      recommendation: majorityFloor(items.map((item) => item.gold.recommendation)),
    },
    systems: runs.map((run) => scoreAnalyses(items, run, options)),
    comparisons,
    unparseable: runs.flatMap((run) =>
      run.answers ? run.analyses.flatMap((analysis, index) => (analysis === null ? [{ system: run.name, id: items[index]!.id, answer: run.answers![index]!, error: run.errors?.[index] ?? "" }] : [])) : [],
    ),
    examples: items.slice(0, 12).map((item, index) => ({
      id: item.id,
      review: item.review.text.slice(0, 400),
      gold: { ...item.gold },
      answers: Object.fromEntries(runs.filter((run) => run.answers).map((run) => [run.name, run.answers![index]!])),
    })),
    rows: items.map((item, index) => ({ id: item.id, gold: { ...item.gold }, predicted: Object.fromEntries(runs.map((run) => [run.name, run.analyses[index] ?? null])) })),
  };
}
