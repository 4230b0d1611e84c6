// eval/text-report.json: the evaluation of a run whose answers are free text (recipe R2's short
// product answers, R4's descriptions): the tuned model, the base and a retrieval baseline on the
// dataset's test split, each with the text metrics (core eval/text-metrics.ts) and intervals.
import { z } from "zod";
import { EstimateSchema } from "./eval-report.js";

export const TEXT_EVAL_FORMAT = "reviewtune-text-eval/1";
export const TEXT_TASKS = ["qa", "description"] as const;
export type TextTask = (typeof TEXT_TASKS)[number];

export const TextMetricsSchema = z.object({
  n: z.number().int().nonnegative(),
  rouge_l: EstimateSchema,
  exact_match: EstimateSchema,
  token_f1: EstimateSchema,
  /** Mean of the answer's over the reference's length in tokens. */
  length_ratio: EstimateSchema,
  /** Over the items with gold keywords; null when none has them. */
  keyword_recall: EstimateSchema.nullable(),
  /** Over the items whose reference answers yes or no; null when none does. */
  yes_no_accuracy: EstimateSchema.nullable(),
  /** Descriptions: cosine similarity of the answer's and the reference's all-MiniLM-L6-v2 embeddings; null when not measured. */
  embedding_similarity: EstimateSchema.nullable().optional(),
  /** Descriptions: the share of answers naming a colour, material, gender or product type their title does not give (not always wrong: compare the report's references block). */
  unsupported_attributes: EstimateSchema.nullable().optional(),
  /**
   * Descriptions: the share of answers naming one that neither the title nor the reference gives,
   * made up as far as the data can tell (lower is better). Unsupported alone overstates it: references
   * name what titles leave out (see the report's references block).
   */
  invented_attributes: EstimateSchema.nullable().optional(),
});
export type TextMetricsReport = z.infer<typeof TextMetricsSchema>;

export const TextEvalReportSchema = z.object({
  format: z.literal(TEXT_EVAL_FORMAT),
  created: z.string(),
  run: z.string(),
  dataset: z.string(),
  /** The test split's tasks evaluated. */
  tasks: z.array(z.enum(TEXT_TASKS)),
  items: z.number().int().nonnegative(),
  /** The test split's prompts: more than `items` when --limit took the first ones; absent in reports before it was recorded. */
  split_items: z.number().int().nonnegative().optional(),
  /** The metric a fine-tune must win: ROUGE-L for descriptions, token F1 for answers. */
  headline: z.enum(["rouge_l", "token_f1"]),
  /** Who wrote the tuned and base answers: the torch engine, or the llama.cpp path (the base GGUF, Q8_0 by default, the adapter as GGUF LoRA); absent in reports before it was recorded. */
  backend: z.enum(["torch", "llamacpp", "upstream"]).optional(),
  /**
   * Present when the run was trained with data.grounding "nearest": the tuned and base models were
   * asked with each prompt grounded on its nearest training example (the retrieval baseline's answer).
   */
  grounding: z.object({ mode: z.literal("nearest"), index: z.string(), mean_similarity: z.number().nullable() }).optional(),
  /**
   * Descriptions: the test split's own reference descriptions read as answers, the yardstick for
   * unsupported_attributes (the share of references naming an attribute their title does not give).
   */
  references: z.object({ unsupported_attributes: EstimateSchema }).optional(),
  systems: z.array(z.object({ name: z.string(), description: z.string(), metrics: TextMetricsSchema })),
  /** Paired differences on the headline metric (per item, a minus b), with bootstrap intervals. */
  comparisons: z.array(z.object({ a: z.string(), b: z.string(), metric: z.string(), difference: EstimateSchema, verdict: z.string() })),
});
export type TextEvalReport = z.infer<typeof TextEvalReportSchema>;
