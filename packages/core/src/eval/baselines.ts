// The non-LLM baselines every run is compared with: a stratified random predictor (labels drawn
// with the training split's frequencies, seeded) and the project's rule-based analyzer reading the
// review text without its stars.
import { analyzeReview } from "../data/labels/analyzer.js";
import type { EvalItem, ReviewRow } from "./eval-items.js";
import type { ParsedAnswer } from "./parse-answer.js";
import { seededRandom } from "./statistics.js";

export type Prediction = ParsedAnswer;

function sampler<T>(values: readonly T[], random: () => number): () => T | undefined {
  return () => (values.length === 0 ? undefined : values[Math.floor(random() * values.length)]);
}

/** Each item gets labels drawn from the training labels (so the class mix matches training). */
export function stratifiedRandomPredictions(items: readonly EvalItem[], trainingLabels: readonly ReviewRow["labels"][], seed: number): Prediction[] {
  const random = seededRandom(seed);
  const draw = sampler(trainingLabels, random);
  return items.map(() => {
    if (trainingLabels.length === 0) return { strict: false };
    // an independent draw per field, so the baseline carries no correlation it could not know
    return {
      strict: true,
      sentiment: draw()!.sentiment.label as Prediction["sentiment"],
      stars: draw()!.rating.stars,
      quality: draw()!.quality.label as Prediction["quality"],
      recommendation: draw()!.recommendation.label as Prediction["recommendation"],
    };
  });
}

/** The analyzer on the text alone: a baseline must not see the stars that made the gold labels. */
export function ruleBasedPredictions(items: readonly EvalItem[]): Prediction[] {
  const cache = new Map<string, Prediction>();
  return items.map((item) => {
    if (!item.review) return { strict: false };
    const cached = cache.get(item.review.id);
    if (cached) return cached;
    const labels = analyzeReview({ text: item.review.text, title: item.review.title, category: item.review.category });
    const prediction: Prediction = {
      strict: true,
      sentiment: labels.sentiment.label,
      stars: labels.rating.stars,
      // at most five, as the dataset's answers list them
      features: labels.features.items.slice(0, 5),
      quality: labels.quality.label,
      recommendation: labels.recommendation.label,
    };
    cache.set(item.review.id, prediction);
    return prediction;
  });
}
