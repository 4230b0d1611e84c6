// Metrics of generated text against a reference, for the recipes whose answers are free text (R2's
// short product answers, R4's descriptions), with the definitions the field reports so our figures
// compare with published ones:
//   - ROUGE-L: Google's rouge-score (the package most papers use): lowercase, anything but a-z and
//     0-9 is a separator, no stemming; the longest common subsequence of tokens, F1 of its precision
//     and recall;
//   - exact match and token F1: SQuAD v1.1's evaluation script: lowercase, punctuation removed, the
//     articles a/an/the removed, whitespace squashed; F1 over the bag of tokens;
//   - keyword recall: the share of gold keywords (R2's `answer_keywords`) the answer contains, each
//     as a run of normalized tokens;
//   - yes/no: what an answer to a yes/no question says, from its first word.
import { meanEstimate, type BootstrapOptions } from "./statistics.js";
import type { Estimate } from "@reviewtune/contracts";
import { inventedAttributes, unsupportedAttributes } from "./attributes.js";

/** rouge-score's tokenizer (no stemmer): lowercase, non-alphanumerics split, empty tokens dropped. */
export function rougeTokens(text: string): string[] {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, " ").trim().split(" ").filter(Boolean);
}

/** Length of the longest common subsequence of two token lists (O(n x m) time, O(m) memory). */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  let previous = new Array<number>(b.length + 1).fill(0);
  for (const token of a) {
    const current = new Array<number>(b.length + 1).fill(0);
    for (let j = 1; j <= b.length; j++) current[j] = token === b[j - 1] ? previous[j - 1]! + 1 : Math.max(previous[j]!, current[j - 1]!);
    previous = current;
  }
  return previous[b.length]!;
}

/** ROUGE-L of a prediction against its reference: precision, recall and their F1 (0 when either is empty). */
export function rougeL(prediction: string, reference: string): { precision: number; recall: number; f1: number } {
  const predicted = rougeTokens(prediction);
  const gold = rougeTokens(reference);
  if (predicted.length === 0 || gold.length === 0) return { precision: 0, recall: 0, f1: 0 };
  const common = lcsLength(gold, predicted);
  const precision = common / predicted.length;
  const recall = common / gold.length;
  return { precision, recall, f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall) };
}

/** SQuAD v1.1's normalize_answer: lowercase, ASCII punctuation removed, articles removed, whitespace squashed. */
export function normalizeAnswer(text: string): string {
  return text
    .toLowerCase()
    .replace(/[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g, "")
    .replace(/\b(a|an|the)\b/g, " ")
    .split(/\s+/)
    .filter(Boolean)
    .join(" ");
}

const answerTokens = (text: string) => normalizeAnswer(text).split(" ").filter(Boolean);

/** 1 when the normalized answers are equal, else 0. */
export function exactMatch(prediction: string, reference: string): number {
  return normalizeAnswer(prediction) === normalizeAnswer(reference) ? 1 : 0;
}

/** SQuAD's token F1: the bag-of-tokens overlap of the normalized answers (1 when both are empty, 0 when one is). */
export function tokenF1(prediction: string, reference: string): number {
  const predicted = answerTokens(prediction);
  const gold = answerTokens(reference);
  if (predicted.length === 0 || gold.length === 0) return predicted.length === gold.length ? 1 : 0;
  const counts = new Map<string, number>();
  for (const token of gold) counts.set(token, (counts.get(token) ?? 0) + 1);
  let common = 0;
  for (const token of predicted) {
    const left = counts.get(token) ?? 0;
    if (left > 0) {
      common += 1;
      counts.set(token, left - 1);
    }
  }
  if (common === 0) return 0;
  const precision = common / predicted.length;
  const recall = common / gold.length;
  return (2 * precision * recall) / (precision + recall);
}

/** The share of `keywords` found in the answer, each as a whole run of normalized tokens; null without keywords. */
export function keywordRecall(prediction: string, keywords: readonly string[]): number | null {
  const wanted = keywords.map(answerTokens).filter((tokens) => tokens.length > 0);
  if (wanted.length === 0) return null;
  const padded = ` ${answerTokens(prediction).join(" ")} `;
  return wanted.filter((tokens) => padded.includes(` ${tokens.join(" ")} `)).length / wanted.length;
}

/** What an answer to a yes/no question says: its first word, read as yes or no; undefined when it is neither. */
export function yesNo(answer: string): "yes" | "no" | undefined {
  const first = answerTokens(answer)[0];
  if (first === undefined) return undefined;
  if (/^(yes|yeah|yep|yup|sure|absolutely|definitely|correct)$/.test(first)) return "yes";
  if (/^(no|nope|not|nah|never)$/.test(first)) return "no";
  return undefined;
}

export interface TextMetrics {
  /** Items scored. */
  n: number;
  rouge_l: Estimate;
  exact_match: Estimate;
  token_f1: Estimate;
  /** Mean of predicted over reference length in rouge tokens (items with a non-empty reference). */
  length_ratio: Estimate;
  /** Over the items with gold keywords; null when none has them. */
  keyword_recall: Estimate | null;
  /** Over the items whose reference answers yes or no; null when none does. */
  yes_no_accuracy: Estimate | null;
  /** Over the items given a similarity (the answer's and the reference's embeddings); null when none is. */
  embedding_similarity: Estimate | null;
  /** Over the items given a title (descriptions): the share whose answer names an attribute the title does not give. */
  unsupported_attributes: Estimate | null;
  /** Over the same items: the share whose answer names an attribute neither the title nor the reference gives. */
  invented_attributes: Estimate | null;
}

/** Every text metric of `predictions` against `references`, each a mean with its bootstrap interval. */
export function textMetrics(
  items: ReadonlyArray<{ prediction: string; reference: string; keywords?: readonly string[] | undefined; similarity?: number | undefined; title?: string | undefined }>,
  options: BootstrapOptions = {},
): TextMetrics {
  const keywordScores = items.map((item) => (item.keywords ? keywordRecall(item.prediction, item.keywords) : null)).filter((score): score is number => score !== null);
  const yesNoItems = items.filter((item) => yesNo(item.reference) !== undefined);
  const similarities = items.flatMap((item) => (item.similarity !== undefined ? [item.similarity] : []));
  const titled = items.filter((item) => item.title !== undefined);
  const lengths = items.filter((item) => rougeTokens(item.reference).length > 0).map((item) => rougeTokens(item.prediction).length / rougeTokens(item.reference).length);
  return {
    n: items.length,
    rouge_l: meanEstimate(items.map((item) => rougeL(item.prediction, item.reference).f1), options),
    exact_match: meanEstimate(items.map((item) => exactMatch(item.prediction, item.reference)), options),
    token_f1: meanEstimate(items.map((item) => tokenF1(item.prediction, item.reference)), options),
    length_ratio: meanEstimate(lengths, options),
    keyword_recall: keywordScores.length > 0 ? meanEstimate(keywordScores, options) : null,
    yes_no_accuracy:
      yesNoItems.length > 0
        ? meanEstimate(yesNoItems.map((item) => (yesNo(item.prediction) === yesNo(item.reference) ? 1 : 0)), options)
        : null,
    embedding_similarity: similarities.length > 0 ? meanEstimate(similarities, options) : null,
    unsupported_attributes: titled.length > 0 ? meanEstimate(titled.map((item) => (unsupportedAttributes(item.title!, item.prediction).length > 0 ? 1 : 0)), options) : null,
    invented_attributes: titled.length > 0 ? meanEstimate(titled.map((item) => (inventedAttributes(item.title!, item.reference, item.prediction).length > 0 ? 1 : 0)), options) : null,
  };
}
