// The evaluation report (runs/<id>/eval/report.json): what `reviewtune eval` measured, for people
// (report.md, report.html) and programs (the studio reads this file). Additive changes only; a
// breaking change bumps EVAL_REPORT_VERSION.
import { z } from "zod";

export const EVAL_REPORT_VERSION = 1;

/** A figure with its bootstrap 95% interval; null when there is nothing to measure (no items). */
export const EstimateSchema = z.object({
  value: z.number().nullable(),
  low: z.number().nullable(),
  high: z.number().nullable(),
  /** Items the figure is computed over. */
  n: z.number().int().nonnegative(),
});
export type Estimate = z.infer<typeof EstimateSchema>;

export const ClassEstimatesSchema = z.object({ precision: EstimateSchema, recall: EstimateSchema, f1: EstimateSchema, support: z.number().int() });

export const ClassificationMetricsSchema = z.object({
  accuracy: EstimateSchema,
  macro_precision: EstimateSchema,
  macro_recall: EstimateSchema,
  macro_f1: EstimateSchema,
  per_class: z.record(z.string(), ClassEstimatesSchema),
  /** labels in order; matrix[gold][predicted]; the last column counts unparseable answers. */
  confusion: z.object({ labels: z.array(z.string()), matrix: z.array(z.array(z.number().int())) }),
  unparseable: z.number().int(),
});
export type ClassificationMetrics = z.infer<typeof ClassificationMetricsSchema>;

export const RatingMetricsSchema = z.object({
  mae: EstimateSchema,
  rmse: EstimateSchema,
  exact: EstimateSchema,
  within_one: EstimateSchema,
  unparseable: z.number().int(),
});
export type RatingMetrics = z.infer<typeof RatingMetricsSchema>;

export const FeatureMetricsSchema = z.object({
  precision: EstimateSchema,
  recall: EstimateSchema,
  f1: EstimateSchema,
  unparseable: z.number().int(),
  /** How predicted and gold features are made comparable. */
  normalization: z.string(),
});
export type FeatureMetrics = z.infer<typeof FeatureMetricsSchema>;

export const CalibrationSchema = z.object({
  /** Expected calibration error of the top class probability (10 equal-width bins). */
  ece: z.number(),
  bins: z.array(z.object({ low: z.number(), high: z.number(), count: z.number().int(), confidence: z.number().nullable(), accuracy: z.number().nullable() })),
});

export const SystemResultSchema = z.object({
  /** "tuned", "base", "random", "rule-based". */
  name: z.string(),
  description: z.string(),
  sentiment: ClassificationMetricsSchema.nullable(),
  /** One-vs-rest AUC from the label words' log-probabilities (language models only). */
  auc: z.object({ macro: EstimateSchema, per_class: z.record(z.string(), z.number().nullable()) }).nullable(),
  calibration: CalibrationSchema.nullable(),
  rating: RatingMetricsSchema.nullable(),
  features: FeatureMetricsSchema.nullable(),
  quality: ClassificationMetricsSchema.nullable(),
  recommendation: ClassificationMetricsSchema.nullable(),
  /** Share of the task's required elements present in the answer (language models only). */
  completeness: EstimateSchema.nullable(),
  /** Share of an answer's content words that are product or review-analysis terms. */
  domain_specificity: EstimateSchema.nullable(),
  /** Perplexity of the answers under the base model (lower reads more fluent). */
  coherence_perplexity: EstimateSchema.nullable(),
  latency: z
    .object({ p50_seconds: z.number(), p95_seconds: z.number(), batch_size: z.number().int(), tokens_per_second: z.number(), answers: z.number().int(), total_seconds: z.number() })
    .nullable(),
});
export type SystemResult = z.infer<typeof SystemResultSchema>;

export const SliceResultSchema = z.object({
  /** "category", "sentiment_class", "length", "tag". */
  dimension: z.string(),
  name: z.string(),
  n: z.number().int(),
  accuracy: EstimateSchema,
  /** The random baseline's accuracy on the same items (edge-case tags). */
  baseline_accuracy: z.number().nullable(),
});

export const SliceCheckSchema = z.object({
  dimension: z.string(),
  /** What is compared, in words: "largest relative drop vs the best category". */
  rule: z.string(),
  value: z.number().nullable(),
  target: z.number(),
  /** "too_small" when a slice has fewer items than targets.min_slice: not judged, never a pass. */
  status: z.enum(["pass", "fail", "too_small"]),
  detail: z.string(),
});
export type SliceCheck = z.infer<typeof SliceCheckSchema>;

export const FlipSchema = z.object({ id: z.string(), task: z.string(), gold: z.string(), tuned: z.string(), base: z.string() });

export const ComparisonSchema = z.object({
  /** "tuned" vs "base" within one run, or run a vs run b with --compare. */
  a: z.string(),
  b: z.string(),
  metric: z.string(),
  n: z.number().int(),
  /** Accuracy of a minus accuracy of b, with its paired bootstrap interval. */
  difference: EstimateSchema,
  /** Items only a got right / only b got right. */
  only_a: z.number().int(),
  only_b: z.number().int(),
  /** Exact McNemar test on the discordant pairs. */
  mcnemar_p: z.number(),
  wrong_to_right: z.array(FlipSchema),
  right_to_wrong: z.array(FlipSchema),
});
export type Comparison = z.infer<typeof ComparisonSchema>;

export const UnparseableSchema = z.object({ system: z.string(), id: z.string(), task: z.string(), answer: z.string() });

export const EvalTargetsSchema = z.strictObject({
  /** Largest relative accuracy drop of a category vs the best one (R1: < 10%). */
  category_drop: z.number().min(0).max(1).default(0.1),
  /** Largest accuracy gap between sentiment classes, in points (R1: < 5). */
  class_gap_points: z.number().min(0).max(100).default(5),
  /** Largest relative accuracy drop of a length bucket vs the best one (R1: "consistent"). */
  length_drop: z.number().min(0).max(1).default(0.1),
  /** Slices with fewer items are reported "too small", never passed. */
  min_slice: z.number().int().positive().default(10),
  sentiment_accuracy: z.number().min(0).max(1).default(0.9),
  within_one_star: z.number().min(0).max(1).default(0.85),
  feature_f1: z.number().min(0).max(1).default(0.8),
  completeness: z.number().min(0).max(1).default(0.85),
  domain_specificity: z.number().min(0).max(1).default(0.7),
});
export type EvalTargets = z.infer<typeof EvalTargetsSchema>;

export const CostSettingsSchema = z.strictObject({
  /** Average power draw of the machine while answering, in watts. */
  power_watts: z.number().positive().default(65),
  price_per_kwh: z.number().nonnegative().default(0.3),
  currency: z.string().default("USD"),
  /** Price per 1,000 answers of hosted APIs to compare with (R1 quotes ~$0.02 per query). */
  api_prices_per_1000: z.record(z.string(), z.number().nonnegative()).default({ "hosted API (R1's figure, $0.02/query)": 20 }),
});
export type CostSettings = z.infer<typeof CostSettingsSchema>;

/** What a user may put in an eval settings file (--settings FILE.yaml). */
export const EvalSettingsSchema = z.strictObject({
  targets: EvalTargetsSchema.default(EvalTargetsSchema.parse({})),
  cost: CostSettingsSchema.default(CostSettingsSchema.parse({})),
});
export type EvalSettings = z.infer<typeof EvalSettingsSchema>;

/** Share of answers in the asked task's format (held-out phrasings): overall and per task. */
const AdherenceCountSchema = z.object({ adherent: z.number().int(), other_task: z.number().int(), total: z.number().int(), share: z.number().nullable() });
export const FormatAdherenceSchema = z.object({ overall: AdherenceCountSchema, by_task: z.record(z.string(), AdherenceCountSchema) });

/** The most frequent gold class and its share: the accuracy of a model that always answers it. */
export const MajorityFloorSchema = z.object({ label: z.string(), share: z.number() }).nullable();

export const AnalysisSystemResultSchema = z.object({
  name: z.string(),
  description: z.string(),
  n: z.number().int(),
  /** Answers that are not a valid ReviewAnalysis (0 by construction under the schema constraint). */
  unparseable: z.number().int(),
  /** Null for a field the system does not predict (a classification head gives stars or sentiment only). */
  sentiment: ClassificationMetricsSchema.nullable(),
  /** Stars against the author's stars (items that have them). */
  rating: RatingMetricsSchema.nullable(),
  quality: ClassificationMetricsSchema.nullable(),
  recommendation: ClassificationMetricsSchema.nullable(),
  /** Aspect terms (normalized) against the gold terms. */
  aspects: FeatureMetricsSchema.nullable(),
  latency: z
    .object({ seconds_per_analysis_p50: z.number(), analyses_per_minute: z.number(), tokens_per_analysis: z.number(), total_seconds: z.number() })
    .nullable(),
});
export type AnalysisSystemResult = z.infer<typeof AnalysisSystemResultSchema>;

export const AnalysisReportSchema = z.object({
  items: z.number().int(),
  gold_sources: z.record(z.string(), z.array(z.string())),
  majority: z.object({ sentiment: MajorityFloorSchema, stars: MajorityFloorSchema, quality: MajorityFloorSchema, recommendation: MajorityFloorSchema }),
  systems: z.array(AnalysisSystemResultSchema),
  comparisons: z.array(ComparisonSchema),
  unparseable: z.array(z.object({ system: z.string(), id: z.string(), answer: z.string(), error: z.string() })),
  examples: z.array(z.object({ id: z.string(), review: z.string(), gold: z.record(z.string(), z.unknown()), answers: z.record(z.string(), z.string()) })),
  /** Every test review's gold and each system's analysis (null: unparseable), for error analysis; absent in reports written before it existed. */
  rows: z.array(z.object({ id: z.string(), gold: z.record(z.string(), z.unknown()), predicted: z.record(z.string(), z.record(z.string(), z.unknown()).nullable()) })).optional(),
});
export type AnalysisReport = z.infer<typeof AnalysisReportSchema>;

export const EvalReportSchema = z.object({
  version: z.literal(EVAL_REPORT_VERSION),
  created: z.string(),
  run: z.object({ id: z.string(), directory: z.string(), model: z.string(), adapter: z.string().nullable() }),
  dataset: z.object({ directory: z.string(), split: z.string(), items: z.number().int(), reviews: z.number().int(), per_task_limit: z.number().int().nullable() }),
  /** Where each gold label comes from ("rating": the review's stars, "analyzer": the rule-based labeler...). */
  gold_sources: z.record(z.string(), z.array(z.string())),
  caveats: z.array(z.string()),
  seed: z.number().int(),
  bootstrap_samples: z.number().int(),
  systems: z.array(SystemResultSchema),
  comparisons: z.array(ComparisonSchema),
  slices: z.array(SliceResultSchema),
  checks: z.array(SliceCheckSchema),
  targets: EvalTargetsSchema,
  unparseable: z.array(UnparseableSchema),
  cost: z
    .object({
      settings: CostSettingsSchema,
      seconds_per_answer: z.number(),
      local_per_1000: z.number(),
      api_per_1000: z.record(z.string(), z.number()),
    })
    .nullable(),
  /** Training curves from metrics.jsonl, for the charts. */
  training: z.object({
    loss: z.array(z.object({ step: z.number(), value: z.number() })),
    eval_loss: z.array(z.object({ step: z.number(), value: z.number() })),
  }),
  /** Per item: gold and each system's reading of its answer and whether it is right (`eval --compare` pairs runs by these). */
  items: z.array(
    z.object({
      id: z.string(),
      task: z.string(),
      gold: z.string().nullable(),
      predicted: z.record(z.string(), z.string().nullable()),
      correct: z.record(z.string(), z.boolean()),
      /** The prompt's last user message and each language model's answer (human evaluation exports these). */
      prompt: z.string(),
      answers: z.record(z.string(), z.string()),
    }),
  ),
  /** A sample of items with every system's answer, for reading. */
  examples: z.array(z.object({ id: z.string(), task: z.string(), prompt: z.string(), reference: z.string(), answers: z.record(z.string(), z.string()) })),
  /** The one-pass analysis of every test review (datasets from `data build`); absent in older reports. */
  analysis: AnalysisReportSchema.nullable().optional(),
  /** Per language model: chat answers in the asked task's format (the test split asks held-out phrasings). */
  format_adherence: z.record(z.string(), FormatAdherenceSchema).optional(),
  /** How the answers were generated: "llamacpp" (the fast CPU path) or "torch" (the engine; AUC and perplexity only there). */
  backend: z.enum(["torch", "llamacpp", "upstream"]).optional(),
});
export type EvalReport = z.infer<typeof EvalReportSchema>;
