// The dataset card: what went in, what came out, what was rejected and why, where labels came from.
// Accumulated while the build streams (histograms, not lists), written as card.json and card.md.
import { DATASET_FORMAT, REJECT_REASONS, type DatasetCard, type LengthStats, type ReviewLabels, type TeacherCard } from "@reviewtune/contracts";
import { rejectedRows, type RejectReason, type Rejection, type Review } from "../sources/reviews.js";
import type { LengthBucket, SplitName } from "./splits.js";
import { countWords } from "../words.js";

type Counts = Record<string, number>;

export type { DatasetCard, LengthStats, TeacherCard };

class Histogram {
  private readonly counts = new Map<number, number>();
  private count = 0;
  private total = 0;
  private max = 0;
  add(value: number): void {
    this.counts.set(value, (this.counts.get(value) ?? 0) + 1);
    this.count += 1;
    this.total += value;
    this.max = Math.max(this.max, value);
  }
  stats(): LengthStats {
    const sorted = [...this.counts.entries()].sort((a, b) => a[0] - b[0]);
    const quantile = (q: number) => {
      let seen = 0;
      for (const [value, count] of sorted) {
        seen += count;
        if (seen >= q * this.count) return value;
      }
      return 0;
    };
    return { count: this.count, mean: this.count ? Math.round((this.total / this.count) * 10) / 10 : 0, p50: quantile(0.5), p95: quantile(0.95), max: this.max, total: this.total };
  }
}

/** A zero for every reject reason, in contracts' order (the card lists them all). */
const noneByReason = () => Object.fromEntries(REJECT_REASONS.map((reason) => [reason, 0])) as Record<RejectReason, number>;

const bump = (counts: Counts, key: string, by = 1) => {
  counts[key] = (counts[key] ?? 0) + by;
};
const words = (text: string) => text.toLowerCase().match(/[a-z][a-z'-]*/g) ?? [];

export class DatasetCardBuilder {
  reviews = 0;
  private examples = 0;
  private readonly splits: DatasetCard["splits"] = { train: { reviews: 0, examples: 0 }, validation: { reviews: 0, examples: 0 }, test: { reviews: 0, examples: 0 } };
  private readonly byCategory: Counts = {};
  private readonly bySentiment: Counts = {};
  private readonly byRating: Counts = {};
  private readonly byLength: Record<LengthBucket, number> = { short: 0, medium: 0, long: 0 };
  private readonly byTask: Record<SplitName, Counts> = { train: {}, validation: {}, test: {} };
  private readonly byTag: Counts = {};
  private readonly reviewWords = new Histogram();
  private readonly exampleWords = new Histogram();
  private readonly vocabulary = new Set<string>();
  private readonly rejected = noneByReason();
  private readonly rowsRejected = noneByReason();
  private rowsAccepted = 0;
  private readonly sources = {} as Record<keyof ReviewLabels, Counts>;
  private readonly promptTokens = new Histogram();
  private readonly completionTokens = new Histogram();
  private readonly totalTokens = new Histogram();
  private truncated = 0;
  private ratingsRounded = 0;

  /** Review-level counts; its examples are counted by addExample as they are written. */
  addReview(entry: { review: Review; labels: ReviewLabels; split: SplitName; bucket: LengthBucket; words: number }): void {
    const { review, labels, split, bucket } = entry;
    this.reviews += 1;
    this.rowsAccepted += 1;
    this.splits[split].reviews += 1;
    bump(this.byCategory, review.category ?? "(none)");
    bump(this.bySentiment, labels.sentiment.label);
    bump(this.byRating, review.rating !== undefined ? String(Math.round(review.rating)) : "(none)");
    if (review.rating !== undefined && !Number.isInteger(review.rating)) this.ratingsRounded += 1;
    this.byLength[bucket] += 1;
    for (const tag of review.tags ?? []) bump(this.byTag, tag);
    this.reviewWords.add(entry.words);
    for (const word of words(review.text)) this.vocabulary.add(word);
    for (const [name, label] of Object.entries(labels) as Array<[keyof ReviewLabels, { source: string } | unknown[]]>) {
      // `aspects`, a list, is there only when annotated (see ReviewLabels)
      bump((this.sources[name] ??= {}), Array.isArray(label) ? "annotation" : label.source);
    }
  }

  /** One written example; `tokens` when the build counted them with a model's tokenizer. */
  addExample(split: SplitName, example: { task: string; messages: Array<{ content: string }> }, tokens?: { prompt: number; completion: number; truncated: boolean }): void {
    this.addExampleCounts(split, example.task, example.messages.reduce((sum, message) => sum + countWords(message.content), 0), tokens);
  }

  /** addExample from the example's task and the words of its messages (ExampleLine). */
  addExampleCounts(split: SplitName, task: string, words: number, tokens?: { prompt: number; completion: number; truncated: boolean }): void {
    this.examples += 1;
    this.splits[split].examples += 1;
    bump(this.byTask[split], task);
    this.exampleWords.add(words);
    if (tokens) {
      this.promptTokens.add(tokens.prompt);
      this.completionTokens.add(tokens.completion);
      this.totalTokens.add(tokens.prompt + tokens.completion);
      if (tokens.truncated) this.truncated += 1;
    }
  }

  /** Words of instruction rows that did not come from a review, for the vocabulary. */
  addVocabulary(texts: string[]): void {
    for (const text of texts) for (const word of words(text)) this.vocabulary.add(word);
  }

  /** An example rejected after its row was accepted (too long for the model's budget). */
  reject(reason: RejectReason): void {
    this.rejected[reason] += 1;
  }

  /** An input row (or an unreadable span of lines) rejected. */
  rejectRow(rejection: Pick<Rejection, "reason" | "line" | "last_line">): void {
    this.rejected[rejection.reason] += 1;
    this.rowsRejected[rejection.reason] += rejectedRows(rejection);
  }

  /** An input row taken as it is (a ready-made instruction example); reviews count in addReview. */
  acceptRow(): void {
    this.rowsAccepted += 1;
  }

  rejectedTotal(): number {
    return Object.values(this.rejected).reduce((sum, count) => sum + count, 0);
  }

  /** `rowsRead`: the readers' count of input rows; without it (generated data), what was accepted and rejected. */
  finish(meta: {
    rowsRead?: number | undefined;
    inputs: string[];
    columns?: DatasetCard["columns"];
    inputHash: string;
    configHash: string;
    config: unknown;
    tokenizer?: string;
    maxTokens?: number;
    teacher?: TeacherCard | undefined;
  }): DatasetCard {
    const rowsRejected = Object.values(this.rowsRejected).reduce((sum, count) => sum + count, 0);
    const read = meta.rowsRead ?? this.rowsAccepted + rowsRejected;
    return {
      format: DATASET_FORMAT,
      created: new Date().toISOString(),
      reviews: this.reviews,
      examples: this.examples,
      splits: this.splits,
      by_category: this.byCategory,
      by_sentiment: this.bySentiment,
      by_rating: this.byRating,
      ratings_rounded: this.ratingsRounded,
      by_length: this.byLength,
      by_task: this.byTask,
      by_tag: this.byTag,
      review_words: this.reviewWords.stats(),
      example_words: this.exampleWords.stats(),
      vocabulary_size: this.vocabulary.size,
      tokens: meta.tokenizer
        ? {
            tokenizer: meta.tokenizer,
            max_tokens: meta.maxTokens ?? null,
            prompt: this.promptTokens.stats(),
            completion: this.completionTokens.stats(),
            total: this.totalTokens.stats(),
            truncated_examples: this.truncated,
          }
        : null,
      rejected: this.rejected,
      rows: { read, accepted: this.rowsAccepted, rejected: this.rowsRejected, unaccounted: read - this.rowsAccepted - rowsRejected },
      label_sources: this.sources,
      teacher: meta.teacher ?? null,
      inputs: meta.inputs,
      ...(meta.columns?.length ? { columns: meta.columns } : {}),
      input_sha256: meta.inputHash,
      config_sha256: meta.configHash,
      config: meta.config,
    };
  }
}

const table = (title: string, counts: Counts, byKey = false) => {
  // A folder of ready-made examples (questions, descriptions) has no reviews to count by category, sentiment or stars.
  if (Object.values(counts).every((count) => count === 0)) return [`### ${title}`, "", "None in this dataset.", ""].join("\n");
  const total = Object.values(counts).reduce((sum, count) => sum + count, 0) || 1;
  const rows = Object.entries(counts)
    .sort((a, b) => (byKey ? a[0].localeCompare(b[0], "en", { numeric: true }) : b[1] - a[1]))
    .map(([key, count]) => `| ${key} | ${count} | ${((100 * count) / total).toFixed(1)}% |`);
  return [`### ${title}`, "", "| value | count | share |", "|---|---|---|", ...rows, ""].join("\n");
};

/** Half stars are not lost without a word: the labels' stars are whole, the reviews keep what was given. */
/** The line that says a category was held out (data build --held-out-category), or undefined. */
export function heldOutLine(card: Pick<DatasetCard, "config" | "by_category">): string | undefined {
  const category = (card.config as { held_out_category?: unknown } | null | undefined)?.held_out_category;
  if (typeof category !== "string" || !category) return undefined;
  // The flag matches categories whatever their case: count the data's own spelling(s).
  const matching = Object.entries(card.by_category).filter(([name]) => name.toLowerCase() === category.toLowerCase());
  const names = matching.map(([name]) => name).join(", ") || category;
  return `held out: category ${names}, all ${matching.reduce((sum, [, count]) => sum + count, 0)} of its reviews in test (none in train or validation)`;
}

export function roundedLine(card: Pick<DatasetCard, "ratings_rounded">): string {
  return `${card.ratings_rounded} rating(s) had a fraction (e.g. 3.5): rounded half up to whole stars for the labels and this table; reviews.jsonl keeps them as given.`;
}

/** Rows read = accepted + rejected (by reason): the one line that shows no input row went missing. */
export function accountingLine(card: Pick<DatasetCard, "rows">): string {
  const { read, accepted, rejected, unaccounted } = card.rows;
  const reasons = Object.entries(rejected).filter(([, count]) => count > 0);
  const total = reasons.reduce((sum, [, count]) => sum + count, 0);
  return (
    `Rows: ${read} read = ${accepted} accepted + ${total} rejected` +
    (reasons.length > 0 ? ` (${reasons.map(([reason, count]) => `${reason} ${count}`).join(", ")})` : "") +
    (unaccounted !== 0 ? `; ${unaccounted} unaccounted for (a bug in reviewtune: please report it with the input)` : "") +
    "."
  );
}

/**
 * What was rejected, in the Rows line's units: input rows by reason (an unreadable span of lines is
 * one entry in rejected.jsonl and as many rows as it has lines), and examples dropped for the token
 * budget (too_long with --model: their review was accepted, its other examples kept).
 */
export function rejectionSummary(card: Pick<DatasetCard, "rows" | "rejected">): { rows: Partial<Record<RejectReason, number>>; examplesTooLong: number; entries: number } {
  const rows = Object.fromEntries(Object.entries(card.rows.rejected).filter(([, count]) => count > 0)) as Partial<Record<RejectReason, number>>;
  return {
    rows,
    examplesTooLong: Math.max(0, card.rejected.too_long - card.rows.rejected.too_long),
    entries: Object.values(card.rejected).reduce((sum, count) => sum + count, 0),
  };
}

/** The rejections as one line (`data build`'s summary). */
export function rejectionLine(card: Pick<DatasetCard, "rows" | "rejected" | "tokens">): string {
  const { rows, examplesTooLong, entries } = rejectionSummary(card);
  const rowCount = Object.values(rows).reduce((sum, count) => sum + count, 0);
  if (entries === 0) return "0";
  const parts = [`${rowCount} row(s)${rowCount > 0 ? ` (${Object.entries(rows).map(([reason, count]) => `${reason} ${count}`).join(", ")})` : ""}`];
  if (examplesTooLong > 0) parts.push(`${examplesTooLong} example(s) too long for ${card.tokens?.max_tokens ?? "the"} tokens (their reviews' other examples kept)`);
  return `${parts.join(" + ")}; ${entries} entries in rejected.jsonl`;
}

export function renderCardMarkdown(card: DatasetCard): string {
  const stats = (name: string, value: LengthStats) => `| ${name} | ${value.mean} | ${value.p50} | ${value.p95} | ${value.max} | ${value.total} |`;
  return [
    "# Dataset card",
    "",
    `${card.reviews} reviews and ${card.examples} instruction examples, built ${card.created} from ${card.inputs.join(", ")}.`,
    "",
    accountingLine(card),
    "",
    "| split | reviews | examples |",
    "|---|---|---|",
    ...(["train", "validation", "test"] as const).map((split) => `| ${split} | ${card.splits[split].reviews} | ${card.splits[split].examples} |`),
    "",
    ...[heldOutLine(card)].flatMap((line) => (line ? [`${line.replace(/^held out/, "Held out")}.`, ""] : [])),
    table("Category", card.by_category),
    table("Sentiment", card.by_sentiment),
    table("Rating", card.by_rating, true),
    ...(card.ratings_rounded ? [roundedLine(card), ""] : []),
    table("Length (words: short < 40 <= medium <= 150 < long)", card.by_length),
    table("Tasks (train)", card.by_task.train),
    ...(Object.keys(card.by_tag).length > 0 ? [table("Tagged edge cases", card.by_tag)] : []),
    "### Lengths (words)",
    "",
    "| | mean | p50 | p95 | max | total |",
    "|---|---|---|---|---|---|",
    stats("review text", card.review_words),
    stats("example (prompt + answer)", card.example_words),
    "",
    `Vocabulary: ${card.vocabulary_size} distinct words.`,
    "",
    ...(card.tokens
      ? [
          `### Tokens (${card.tokens.tokenizer}, rendered with its chat template)`,
          "",
          "| | mean | p50 | p95 | max | total |",
          "|---|---|---|---|---|---|",
          stats("prompt", card.tokens.prompt),
          stats("answer (trained)", card.tokens.completion),
          stats("whole example", card.tokens.total),
          "",
          `${card.tokens.truncated_examples} examples had their review text shortened to fit ${card.tokens.max_tokens} tokens; answers are never cut.`,
          "",
        ]
      : []),
    ...rejectionTable(card),
    "### Label sources",
    "",
    "| label | sources |",
    "|---|---|",
    ...Object.entries(card.label_sources).map(([label, counts]) => `| ${label} | ${Object.entries(counts).map(([source, count]) => `${source} ${count}`).join(", ")} |`),
    "",
    ...(card.teacher
      ? [
          `Teacher: ${card.teacher.model} at ${card.teacher.url}: ${card.teacher.asked} reviews asked, ${card.teacher.used} answers used, ` +
            `${card.teacher.unusable} unusable and ${card.teacher.failed} failed requests (those kept the analyzer's labels).`,
          "",
        ]
      : []),
    `Input sha256 ${card.input_sha256}; config sha256 ${card.config_sha256}.`,
    "",
  ].join("\n");
}

/** Rejections by reason: input rows (as in the Rows line), examples dropped for the token budget, entries in rejected.jsonl. */
function rejectionTable(card: DatasetCard): string[] {
  const { examplesTooLong } = rejectionSummary(card);
  const reasons = (Object.keys(card.rejected) as RejectReason[]).filter((reason) => card.rejected[reason] > 0 || card.rows.rejected[reason] > 0);
  if (reasons.length === 0) return ["### Rejected", "", "Nothing was rejected.", ""];
  return [
    "### Rejected (see rejected.jsonl)",
    "",
    "| reason | input rows | examples dropped | entries in rejected.jsonl |",
    "|---|---|---|---|",
    ...reasons
      .sort((a, b) => card.rejected[b] - card.rejected[a])
      .map((reason) => `| ${reason} | ${card.rows.rejected[reason]} | ${reason === "too_long" ? examplesTooLong : 0} | ${card.rejected[reason]} |`),
    "",
    "An unreadable span of lines (a broken quote) is one entry and as many input rows as it has lines; an example too long for the token budget is dropped alone, its review and other examples kept.",
    "",
  ];
}
