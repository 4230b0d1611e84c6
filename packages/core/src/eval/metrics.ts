// Metrics over paired gold / predicted values, each with a bootstrap interval. Conventions (the
// edge cases the tests pin down):
//   - a prediction of null is an unparseable answer: wrong for every class, counted in the last
//     confusion column, and the worst possible error for rating MAE/RMSE;
//   - macro averages run over the classes present in the gold labels; a class never predicted has
//     precision 0 (as scikit-learn's zero_division=0);
//   - features are micro-averaged over items: precision = matched / predicted, recall = matched /
//     gold; a ratio with a zero denominator is null (not 0, not 1); F1 is 0 when either is 0, else
//     null when either is null.
import pluralize from "pluralize";
import type { ClassificationMetrics, Estimate, FeatureMetrics, RatingMetrics } from "@reviewtune/contracts";
import { bootstrap, type BootstrapOptions } from "./statistics.js";

const ratio = (numerator: number, denominator: number) => (denominator === 0 ? null : numerator / denominator);
// F1 is 0 as soon as either side is 0 (nothing right), even when the other is undefined: answers
// that name no feature at all against gold features score 0, not "n/a".
const f1Of = (precision: number | null, recall: number | null) =>
  precision === 0 || recall === 0 ? 0 : precision === null || recall === null ? null : (2 * precision * recall) / (precision + recall);

interface ClassCounts {
  tp: number;
  predicted: number;
  support: number;
}

function classCounts(gold: readonly string[], predicted: readonly (string | null)[], indices: readonly number[], label: string): ClassCounts {
  let tp = 0;
  let predictedCount = 0;
  let support = 0;
  for (const index of indices) {
    if (gold[index] === label) support += 1;
    if (predicted[index] === label) {
      predictedCount += 1;
      if (gold[index] === label) tp += 1;
    }
  }
  return { tp, predicted: predictedCount, support };
}

function macro(gold: readonly string[], predicted: readonly (string | null)[], labels: readonly string[], indices: readonly number[], figure: "precision" | "recall" | "f1"): number | null {
  const values: number[] = [];
  for (const label of labels) {
    const counts = classCounts(gold, predicted, indices, label);
    if (counts.support === 0) continue; // a class absent from the gold labels does not enter the average
    const precision = ratio(counts.tp, counts.predicted) ?? 0;
    const recall = counts.tp / counts.support;
    values.push(figure === "precision" ? precision : figure === "recall" ? recall : (f1Of(precision, recall) ?? 0));
  }
  return values.length === 0 ? null : values.reduce((sum, value) => sum + value, 0) / values.length;
}

export function classificationMetrics(
  gold: readonly string[],
  predicted: readonly (string | null)[],
  labels: readonly string[],
  options: BootstrapOptions = {},
): ClassificationMetrics {
  const n = gold.length;
  const accuracy = bootstrap(n, (indices) => indices.filter((index) => predicted[index] === gold[index]).length / indices.length, options);
  const perClass: ClassificationMetrics["per_class"] = {};
  for (const label of labels) {
    const counts = classCounts(gold, predicted, Array.from({ length: n }, (_, index) => index), label);
    const precisionOf = (indices: readonly number[]) => {
      const c = classCounts(gold, predicted, indices, label);
      return c.support === 0 && c.predicted === 0 ? null : (ratio(c.tp, c.predicted) ?? 0);
    };
    const recallOf = (indices: readonly number[]) => {
      const c = classCounts(gold, predicted, indices, label);
      return ratio(c.tp, c.support);
    };
    perClass[label] = {
      precision: bootstrap(n, precisionOf, options),
      recall: bootstrap(n, recallOf, options),
      f1: bootstrap(n, (indices) => f1Of(precisionOf(indices), recallOf(indices)), options),
      support: counts.support,
    };
  }
  const matrix = labels.map((goldLabel) => {
    const row = labels.map((predictedLabel) => gold.filter((value, index) => value === goldLabel && predicted[index] === predictedLabel).length);
    row.push(gold.filter((value, index) => value === goldLabel && predicted[index] === null).length);
    return row;
  });
  return {
    accuracy,
    macro_precision: bootstrap(n, (indices) => macro(gold, predicted, labels, indices, "precision"), options),
    macro_recall: bootstrap(n, (indices) => macro(gold, predicted, labels, indices, "recall"), options),
    macro_f1: bootstrap(n, (indices) => macro(gold, predicted, labels, indices, "f1"), options),
    per_class: perClass,
    confusion: { labels: [...labels, "(unparseable)"], matrix },
    unparseable: predicted.filter((value) => value === null).length,
  };
}

/**
 * The majority-class floor: the accuracy of always answering the most frequent gold label. On real
 * review sets (70-80% positive) a collapsed model reaches it without reading a word, so every
 * accuracy is reported beside it. Ties go to the label that sorts first; null for no gold at all.
 */
export function majorityFloor<T extends string | number>(gold: readonly T[]): { label: T; share: number } | null {
  const counts = new Map<T, number>();
  for (const label of gold) counts.set(label, (counts.get(label) ?? 0) + 1);
  let best: { label: T; count: number } | null = null;
  for (const [label, count] of counts) {
    if (!best || count > best.count || (count === best.count && String(label) < String(best.label))) best = { label, count };
  }
  return best ? { label: best.label, share: best.count / gold.length } : null;
}

/** Stars 1-5; an unparseable rating (null) gets the largest error possible for its gold value. */
export function ratingMetrics(gold: readonly number[], predicted: readonly (number | null)[], options: BootstrapOptions = {}): RatingMetrics {
  const errors = gold.map((value, index) => {
    const guess = predicted[index];
    return guess === null || guess === undefined ? Math.max(value - 1, 5 - value) : Math.abs(guess - value);
  });
  const parsed = (index: number) => predicted[index] !== null && predicted[index] !== undefined;
  const mean = (indices: readonly number[], value: (index: number) => number) => indices.reduce((sum, index) => sum + value(index), 0) / indices.length;
  return {
    mae: bootstrap(gold.length, (indices) => mean(indices, (index) => errors[index]!), options),
    rmse: bootstrap(gold.length, (indices) => Math.sqrt(mean(indices, (index) => errors[index]! ** 2)), options),
    exact: bootstrap(gold.length, (indices) => mean(indices, (index) => (parsed(index) && errors[index] === 0 ? 1 : 0)), options),
    within_one: bootstrap(gold.length, (indices) => mean(indices, (index) => (parsed(index) && errors[index]! <= 1 ? 1 : 0)), options),
    unparseable: predicted.filter((value) => value === null || value === undefined).length,
  };
}

// ---- features ---------------------------------------------------------------------------------

/** Different words for the same product aspect: each maps to the name the dataset uses. */
export const FEATURE_SYNONYMS: Readonly<Record<string, string>> = {
  battery: "battery life",
  "battery lifetime": "battery life",
  sound: "sound quality",
  audio: "sound quality",
  "audio quality": "sound quality",
  cost: "price",
  pricing: "price",
  look: "design",
  appearance: "design",
  style: "design",
  sizing: "size",
  durability: "build quality",
  "build": "build quality",
  construction: "build quality",
  "customer support": "customer service",
  support: "customer service",
  delivery: "shipping",
  smell: "scent",
  fragrance: "scent",
  instruction: "instructions",
  directions: "instructions",
  display: "screen",
  keys: "keyboard",
  "operating system": "os",
};

export const FEATURE_NORMALIZATION =
  "lower case; punctuation and leading articles (the/a/an) removed; spaces collapsed; each word singular (pluralize); then FEATURE_SYNONYMS (packages/core/src/eval/metrics.ts) maps synonyms to one name; exact match after that, each gold feature matched at most once";

export function normalizeFeature(feature: string): string {
  const words = feature
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s-]/gu, " ")
    .replace(/\s+/g, " ")
    .trim()
    .replace(/^(the|a|an) /, "")
    .split(" ")
    .filter(Boolean)
    .map((word) => pluralize.singular(word));
  const joined = words.join(" ");
  return FEATURE_SYNONYMS[joined] ?? joined;
}

/** Matched, predicted and gold counts of one item, after normalization (duplicates count once). */
export function featureCounts(gold: readonly string[], predicted: readonly string[]): { matched: number; predicted: number; gold: number } {
  const goldSet = new Set(gold.map(normalizeFeature).filter(Boolean));
  const predictedSet = new Set(predicted.map(normalizeFeature).filter(Boolean));
  let matched = 0;
  for (const feature of predictedSet) if (goldSet.has(feature)) matched += 1;
  return { matched, predicted: predictedSet.size, gold: goldSet.size };
}

/** Micro P/R/F1; an unparseable answer (null) predicts nothing, so its gold features are all missed. */
export function featureMetrics(gold: readonly string[][], predicted: readonly (string[] | null)[], options: BootstrapOptions = {}): FeatureMetrics {
  const counts = gold.map((features, index) => featureCounts(features, predicted[index] ?? []));
  const sums = (indices: readonly number[]) =>
    indices.reduce((total, index) => ({ matched: total.matched + counts[index]!.matched, predicted: total.predicted + counts[index]!.predicted, gold: total.gold + counts[index]!.gold }), {
      matched: 0,
      predicted: 0,
      gold: 0,
    });
  const precision = (indices: readonly number[]) => {
    const total = sums(indices);
    return ratio(total.matched, total.predicted);
  };
  const recall = (indices: readonly number[]) => {
    const total = sums(indices);
    return ratio(total.matched, total.gold);
  };
  return {
    precision: bootstrap(gold.length, precision, options),
    recall: bootstrap(gold.length, recall, options),
    f1: bootstrap(gold.length, (indices) => f1Of(precision(indices), recall(indices)), options),
    unparseable: predicted.filter((value) => value === null).length,
    normalization: FEATURE_NORMALIZATION,
  };
}

// ---- scores: AUC and calibration ---------------------------------------------------------------

/** Area under the ROC curve (Mann-Whitney, ties get half credit); null without both outcomes. */
export function rocAuc(scores: readonly number[], positive: readonly boolean[]): number | null {
  const order = scores.map((score, index) => ({ score, positive: positive[index]! })).sort((a, b) => a.score - b.score);
  let rankSumPositive = 0;
  let positives = 0;
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end + 1 < order.length && order[end + 1]!.score === order[start]!.score) end += 1;
    const averageRank = (start + end) / 2 + 1;
    for (let index = start; index <= end; index += 1) {
      if (order[index]!.positive) {
        rankSumPositive += averageRank;
        positives += 1;
      }
    }
    start = end + 1;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) return null;
  return (rankSumPositive - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** One-vs-rest AUC per class and its macro mean (over classes where it is defined), with an interval. */
export function oneVsRestAuc(
  gold: readonly string[],
  probabilities: readonly Record<string, number>[],
  labels: readonly string[],
  options: BootstrapOptions = {},
): { macro: Estimate; per_class: Record<string, number | null> } {
  const perClassOf = (indices: readonly number[]) =>
    labels.map((label) =>
      rocAuc(
        indices.map((index) => probabilities[index]![label] ?? 0),
        indices.map((index) => gold[index] === label),
      ),
    );
  const macroOf = (indices: readonly number[]) => {
    const defined = perClassOf(indices).filter((value): value is number => value !== null);
    return defined.length === 0 ? null : defined.reduce((sum, value) => sum + value, 0) / defined.length;
  };
  const all = Array.from({ length: gold.length }, (_, index) => index);
  return { macro: bootstrap(gold.length, macroOf, options), per_class: Object.fromEntries(labels.map((label, index) => [label, perClassOf(all)[index]!])) };
}

/** Reliability of the top class probability in 10 equal-width bins, and the expected calibration error. */
export function calibration(gold: readonly string[], probabilities: readonly Record<string, number>[]) {
  const bins = Array.from({ length: 10 }, (_, index) => ({ low: index / 10, high: (index + 1) / 10, count: 0, confidenceSum: 0, correct: 0 }));
  gold.forEach((label, index) => {
    const [top, probability] = Object.entries(probabilities[index]!).reduce((best, entry) => (entry[1] > best[1] ? entry : best));
    const bin = bins[Math.min(9, Math.floor(probability * 10))]!;
    bin.count += 1;
    bin.confidenceSum += probability;
    if (top === label) bin.correct += 1;
  });
  const ece = gold.length === 0 ? 0 : bins.reduce((sum, bin) => sum + (bin.count === 0 ? 0 : Math.abs(bin.correct / bin.count - bin.confidenceSum / bin.count) * bin.count), 0) / gold.length;
  return {
    ece,
    bins: bins.map((bin) => ({
      low: bin.low,
      high: bin.high,
      count: bin.count,
      confidence: bin.count ? bin.confidenceSum / bin.count : null,
      accuracy: bin.count ? bin.correct / bin.count : null,
    })),
  };
}
