// Answers -> predictions. The answer contract (data/augment/answers.ts) is tried first; then
// tolerant patterns, so a base model that says "The sentiment is positive, 4 out of 5 stars" is
// read fairly. An answer that neither reads is unparseable: it counts as wrong and is listed.
import { ANSWER_PATTERNS, type ReviewTask } from "../data/augment/answers.js";
import type { Sentiment } from "../data/labels/analyzer.js";

export type Quality = "good" | "mixed" | "poor";
export type Recommendation = "yes" | "mixed" | "no";

/** What an answer states; a field is undefined when the answer does not say it. */
export interface ParsedAnswer {
  /** The answer matched the contract exactly. */
  strict: boolean;
  sentiment?: Sentiment;
  stars?: number;
  features?: string[];
  quality?: Quality;
  recommendation?: Recommendation;
}

const firstWord = <T extends string>(text: string, words: Record<string, T>): T | undefined => {
  const pattern = new RegExp(`\\b(${Object.keys(words).join("|")})\\b`, "i");
  const match = pattern.exec(text);
  return match ? words[match[1]!.toLowerCase()] : undefined;
};

const SENTIMENT_WORDS: Record<string, Sentiment> = { positive: "positive", negative: "negative", neutral: "neutral", mixed: "neutral" };
const QUALITY_WORDS: Record<string, Quality> = { good: "good", mixed: "mixed", poor: "poor", excellent: "good", bad: "poor" };

/** "4/5", "4 out of 5", "4 stars", "Rating: 4". */
export function readStars(text: string): number | undefined {
  const match = /\b([1-5])(?:\.0)?\s*(?:\/\s*5|out of (?:5|five)|-?stars?\b)|\brating:?\s*([1-5])\b/i.exec(text);
  const digit = match?.[1] ?? match?.[2];
  return digit ? Number(digit) : undefined;
}

/** "Features: a, b." or a bulleted / numbered list; "none" is an empty list. */
export function readFeatures(text: string): string[] | undefined {
  const labeled = /features?:[ \t]*([^\n]*)/i.exec(text);
  const list = labeled?.[1]!.replace(/\.\s*$/, "").trim();
  if (list) {
    if (/^(none|no features?|n\/a)$/i.test(list)) return [];
    return list
      .split(/,|;|\band\b/)
      .map((item) => item.trim().replace(/^(the|a|an)\s+/i, ""))
      .filter(Boolean);
  }
  const bullets = text.split("\n").flatMap((line) => {
    const match = /^\s*(?:[-*•]|\d+[.)])\s+(.+?)\s*$/.exec(line);
    return match ? [match[1]!.replace(/[:.].*$/, "").trim()] : [];
  });
  return bullets.length > 0 ? bullets : undefined;
}

function readRecommendation(text: string): Recommendation | undefined {
  const labeled = /recommendation:\s*(yes|mixed|no)\b/i.exec(text);
  if (labeled) return labeled[1]!.toLowerCase() as Recommendation;
  const leading = /^\s*(yes|no)\b/i.exec(text);
  if (leading) return leading[1]!.toLowerCase() as Recommendation;
  if (/\b(not recommend|would not|wouldn't|don't buy|do not buy|avoid)\b/i.test(text)) return "no";
  if (/\b(recommend|worth (it|buying)|good purchase|should buy)\b/i.test(text)) return "yes";
  return undefined;
}

export function parseAnswer(task: ReviewTask, answer: string): ParsedAnswer {
  const text = answer.trim();
  const strict = ANSWER_PATTERNS[task].exec(text);
  if (strict) {
    switch (task) {
      case "sentiment":
        return { strict: true, sentiment: strict[1] as Sentiment, stars: Number(strict[3]) };
      case "rating":
        return { strict: true, stars: Number(strict[1]) };
      case "quality":
        return { strict: true, quality: strict[1] as Quality };
      case "recommendation":
        return { strict: true, recommendation: strict[1] as Recommendation, sentiment: strict[2]!.toLowerCase() as Sentiment, stars: Number(strict[4]) };
      case "features":
        return { strict: true, features: strict[1] === "none" ? [] : strict[1]!.split(", ") };
      case "summary":
        return { strict: true, stars: Number(strict[1]) };
    }
  }
  const parsed: ParsedAnswer = { strict: false };
  const sentiment = firstWord(/sentiment:\s*(\w+)/i.exec(text)?.[1] ?? text, SENTIMENT_WORDS);
  if (sentiment) parsed.sentiment = sentiment;
  const stars = readStars(text);
  if (stars !== undefined) parsed.stars = stars;
  if (task === "features") {
    const features = readFeatures(text);
    if (features) parsed.features = features;
  }
  const quality = firstWord(/quality:\s*(\w+)/i.exec(text)?.[1] ?? text, QUALITY_WORDS);
  if (quality) parsed.quality = quality;
  const recommendation = readRecommendation(text);
  if (recommendation) parsed.recommendation = recommendation;
  return parsed;
}
