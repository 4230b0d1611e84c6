// The dataset folder's records, as `reviewtune data build` and `data demo` write them (the folder
// itself: core's dataset-folder.ts): the split files' examples, reviews.jsonl's labeled reviews,
// rejected.jsonl's rejections and card.json. Writers are typed by these schemas and every reader
// parses with them, so a field means one thing and is checked one way wherever it is read.
import { z } from "zod";
import { QUALITY_LABELS, RECOMMENDATION_LABELS } from "./analysis.js";
import { ExampleMessageSchema, SENTIMENT_CLASSES } from "./vocabulary.js";

/** card.json's `format`: the version of the folder's layout and records. */
export const DATASET_FORMAT = "reviewtune-dataset/1";

export const SPLIT_NAMES = ["train", "validation", "test"] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];

// ---- the split files: train.jsonl, val.jsonl, test.jsonl ----

/** One instruction example: a chat ending with the answer, its group (the review or item it came from: a group stays in one split) and its task. */
export const ExampleRowSchema = z.object({
  group: z.string().min(1),
  /** A review task (sentiment, rating, ...), "analysis", or for instruction inputs "qa", "description", "instruction". */
  task: z.string().min(1),
  /** Index into the task's phrasings; from the training phrasings' count on, a held-out one (test only). 0 for instruction inputs. */
  phrasing: z.number().int().min(0).optional(),
  messages: z.array(ExampleMessageSchema).min(2),
  /** The review text was shortened to fit the build's --max-tokens (answers are never cut). */
  truncated: z.literal(true).optional(),
  /** What the evaluation slices by, kept from the input row (a QA row's question_type "yes/no" or "open-ended", answer_type Y/N/?). */
  slices: z.record(z.string(), z.string()).optional(),
});
export type ExampleRow = z.infer<typeof ExampleRowSchema>;

/**
 * A row of a training data file a user wrote or another tool exported: a dataset example (above) or
 * a plain prompt and completion. What `train --data FILE` and the studio read.
 */
export const InstructionRowSchema = z.union([
  ExampleRowSchema.extend({ group: z.string().optional(), task: z.string().optional() }),
  z.object({ prompt: z.string(), completion: z.string().min(1), group: z.string().optional(), task: z.string().optional() }),
]);
export type InstructionRow = z.infer<typeof InstructionRowSchema>;
/** The chat form of an instruction row (group and task optional). */
export const ChatRowSchema = InstructionRowSchema.options[0];
export type ChatRow = z.infer<typeof ChatRowSchema>;

// ---- reviews.jsonl: every accepted review with its labels and split ----

/** Where a label came from: the reviewer's stars, the rule-based analyzer, an LLM teacher, the demo generator, or an annotation (SemEval). */
export const LABEL_SOURCES = ["rating", "analyzer", "teacher", "generator", "annotation"] as const;
export type LabelSource = (typeof LABEL_SOURCES)[number];

const source = z.enum(LABEL_SOURCES);
export const ReviewLabelsSchema = z.object({
  sentiment: z.object({ label: z.enum(SENTIMENT_CLASSES), score: z.number(), source }),
  /** Whole stars (a review's 3.5 is rounded half up here; the review keeps its rating as given). */
  rating: z.object({ stars: z.number().int().min(1).max(5), source }),
  features: z.object({ items: z.array(z.string()), praised: z.array(z.string()), criticized: z.array(z.string()), source }),
  quality: z.object({ label: z.enum(QUALITY_LABELS), evidence: z.string().nullable(), source }),
  recommendation: z.object({ label: z.enum(RECOMMENDATION_LABELS), reason: z.string(), source }),
  summary: z.object({ text: z.string(), source }),
  /**
   * Aspect terms with their polarity from an annotation (SemEval-style XML; source "annotation", so a
   * list without a source field); absent: the features above stand in. Empty: annotated, none there.
   */
  aspects: z.array(z.object({ term: z.string(), polarity: z.enum(SENTIMENT_CLASSES) })).optional(),
});
export type ReviewLabels = z.infer<typeof ReviewLabelsSchema>;

/** Where an input row was: its file and line (or item, for XML and JSON arrays). */
export const RowSourceSchema = z.object({ file: z.string(), line: z.number().int(), unit: z.enum(["line", "item"]) });

/** A validated review, as read from the user's file. */
export const ReviewSchema = z.object({
  id: z.string().min(1),
  text: z.string().min(1),
  title: z.string().optional(),
  /** 1-5 stars, when the source has a rating (kept as given: 3.5 stays 3.5). */
  rating: z.number().optional(),
  category: z.string().optional(),
  product_id: z.string().optional(),
  product_title: z.string().optional(),
  /** Known edge cases in generated data (sarcasm, negation, typo...), for robustness slices. */
  tags: z.array(z.string()).optional(),
  source: RowSourceSchema,
});
export type Review = z.infer<typeof ReviewSchema>;

/** One line of reviews.jsonl: the review, its labels and the split it went to. */
export const ReviewRowSchema = ReviewSchema.extend({ labels: ReviewLabelsSchema, split: z.enum(SPLIT_NAMES) });
export type ReviewRow = z.infer<typeof ReviewRowSchema>;

// ---- rejected.jsonl ----

export const REJECT_REASONS = ["empty_text", "rating_out_of_range", "bad_encoding", "duplicate", "too_long", "malformed", "too_short"] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** One rejected input row (or example, for too_long with --model), with where it was and why. */
export const RejectionSchema = RowSourceSchema.extend({
  /** The last line of an unreadable span (rows merged by a quote): each line in it counts as one row read and rejected. */
  last_line: z.number().int().optional(),
  reason: z.enum(REJECT_REASONS),
  detail: z.string(),
});
export type Rejection = z.infer<typeof RejectionSchema>;

// ---- card.json: written last, so a folder with a card is complete ----

const counts = z.record(z.string(), z.number().int());
const byReason = z.record(z.enum(REJECT_REASONS), z.number().int());
export const LengthStatsSchema = z.object({ count: z.number().int(), mean: z.number(), p50: z.number(), p95: z.number(), max: z.number(), total: z.number() });
export type LengthStats = z.infer<typeof LengthStatsSchema>;
export const LENGTH_BUCKETS = ["short", "medium", "long"] as const;
export type LengthBucket = (typeof LENGTH_BUCKETS)[number];

/** The LLM teacher that labeled the reviews (with --teacher), and how its answers went. */
export const TeacherCardSchema = z.object({ url: z.string(), model: z.string(), asked: z.number().int(), used: z.number().int(), unusable: z.number().int(), failed: z.number().int() });
export type TeacherCard = z.infer<typeof TeacherCardSchema>;

export const DatasetCardSchema = z.object({
  format: z.literal(DATASET_FORMAT),
  created: z.string(),
  reviews: z.number().int(),
  examples: z.number().int(),
  splits: z.record(z.enum(SPLIT_NAMES), z.object({ reviews: z.number().int(), examples: z.number().int() })),
  by_category: counts,
  by_sentiment: counts,
  by_rating: counts,
  /** Ratings with a fraction (3.5 stars): rounded half up to whole stars in by_rating and the labels; reviews.jsonl keeps them as given. */
  ratings_rounded: z.number().int(),
  by_length: z.record(z.enum(LENGTH_BUCKETS), z.number().int()),
  by_task: z.record(z.enum(SPLIT_NAMES), counts),
  /** Tagged edge cases (generated data only). */
  by_tag: counts,
  /** Word counts (whitespace-separated) of review texts and of whole examples (prompt + answer). */
  review_words: LengthStatsSchema,
  example_words: LengthStatsSchema,
  vocabulary_size: z.number().int(),
  /** Token counts with the target model's tokenizer (when the build was given --model). */
  tokens: z
    .object({
      tokenizer: z.string(),
      max_tokens: z.number().int().nullable(),
      prompt: LengthStatsSchema,
      completion: LengthStatsSchema,
      total: LengthStatsSchema,
      /** Examples whose review text was shortened to fit max_tokens (answers are never cut). */
      truncated_examples: z.number().int(),
    })
    .nullable(),
  rejected: byReason,
  /**
   * Where every input row went: `read` is counted by the readers (a record, or each line of an
   * unreadable span), `accepted` and `rejected` by what the build did with them. read = accepted +
   * rejected; `unaccounted` is the difference, 0 unless a row was lost (which would be a bug).
   * Rejected examples (too_long with --model) are not rows: they are in `rejected` only.
   */
  rows: z.object({ read: z.number().int(), accepted: z.number().int(), rejected: byReason, unaccounted: z.number().int() }),
  /** Per label (sentiment, rating, ...): how many came from each source (none without reviews: instruction inputs only). */
  label_sources: z.partialRecord(z.enum(["sentiment", "rating", "features", "quality", "recommendation", "summary", "aspects"]), counts),
  teacher: TeacherCardSchema.nullable(),
  inputs: z.array(z.string()),
  /** Each review file's columns as the build read them: the field each feeds (text, rating, title...), and those it did not use. */
  columns: z.array(z.object({ input: z.string(), mapped: z.record(z.string(), z.string()), unused: z.array(z.string()) })).optional(),
  input_sha256: z.string(),
  config_sha256: z.string(),
  /** The build's settings as given (hashed into config_sha256). */
  config: z.unknown(),
});
export type DatasetCard = z.infer<typeof DatasetCardSchema>;
