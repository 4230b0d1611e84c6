// The domain's words, defined once: every package speaks of sentiments and of a training example's
// messages in these terms.
import { z } from "zod";

/** The three sentiment classes, in the order of the scale (and of a sentiment head's outputs). */
export const SENTIMENT_CLASSES = ["negative", "neutral", "positive"] as const;
export type Sentiment = (typeof SENTIMENT_CLASSES)[number];

/** The sentiment a star rating implies, the rule every label of this project follows: 1-2 negative, 3 neutral, 4-5 positive. */
export function sentimentOfStars(stars: number): Sentiment {
  return stars <= 2 ? "negative" : stars === 3 ? "neutral" : "positive";
}

/** How a model is trained: LoRA, QLoRA (LoRA over a 4-bit base, CUDA) or every weight. */
export const TRAIN_METHODS = ["lora", "qlora", "full"] as const;
export type TrainMethod = (typeof TRAIN_METHODS)[number];

/** A run's status as its run.json says it (a run is marked completed only after the engine reported success). */
export const RUN_STATUSES = ["running", "completed", "early_stopped", "cancelled", "failed"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** The roles of a dataset example's messages (a chat request may also say "developer": http-api.ts). */
export const EXAMPLE_ROLES = ["system", "user", "assistant"] as const;
/** One message of a training or test example, as the dataset files hold it. */
export const ExampleMessageSchema = z.object({ role: z.enum(EXAMPLE_ROLES), content: z.string() });
export type ExampleMessage = z.infer<typeof ExampleMessageSchema>;
