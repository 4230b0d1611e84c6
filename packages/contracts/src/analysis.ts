// One structured analysis of one review: what the fine-tuned model answers to the `analysis` task,
// what `reviewtune analyze` and `POST /v1/analyze` return, and what the evaluator scores field by
// field. The JSON Schema made from it constrains decoding (llama.cpp grammar, torch logits
// processor), so a constrained answer always parses. Key order is the order the model writes them:
// the stars first (the finest decision), then what follows from them.
import { z } from "zod";
import type { OrdinalChoice } from "./protocol.js";
import { SENTIMENT_CLASSES, sentimentOfStars } from "./vocabulary.js";

export const QUALITY_LABELS = ["good", "mixed", "poor"] as const;
export const RECOMMENDATION_LABELS = ["yes", "mixed", "no"] as const;

/** Scores are written with one decimal: an enum keeps the grammar small and the answer canonical. */
export const ANALYSIS_SCORES = Array.from({ length: 21 }, (_, index) => (index - 10) / 10);
export const ANALYSIS_MAX_ASPECTS = 5;
export const ANALYSIS_TERM_MAX_CHARS = 40;
export const ANALYSIS_SUMMARY_MAX_CHARS = 160;

export const AspectSchema = z.strictObject({
  term: z.string().min(1).max(ANALYSIS_TERM_MAX_CHARS),
  polarity: z.enum(SENTIMENT_CLASSES),
});
export type Aspect = z.infer<typeof AspectSchema>;

export const ReviewAnalysisSchema = z.strictObject({
  stars: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4), z.literal(5)]),
  sentiment: z.enum(SENTIMENT_CLASSES),
  /** Strength of the sentiment in [-1, 1], one decimal. */
  score: z.number().min(-1).max(1),
  quality: z.enum(QUALITY_LABELS),
  recommendation: z.enum(RECOMMENDATION_LABELS),
  /** Product aspects the review comments on, each with its polarity (at most five). */
  aspects: z.array(AspectSchema).max(ANALYSIS_MAX_ASPECTS),
  /** One sentence. */
  summary: z.string().min(1).max(ANALYSIS_SUMMARY_MAX_CHARS),
});
export type ReviewAnalysis = z.infer<typeof ReviewAnalysisSchema>;

/**
 * The JSON Schema that decoding is constrained to. Written by hand rather than by z.toJSONSchema
 * because the grammar engines support a subset (enums, bounded arrays and strings, required keys in
 * order, no additional properties) and the score is an enum of its 21 one-decimal values here;
 * `analysis.test.ts` checks that every value it admits passes ReviewAnalysisSchema.
 */
export const REVIEW_ANALYSIS_JSON_SCHEMA = {
  type: "object",
  properties: {
    stars: { enum: [1, 2, 3, 4, 5] },
    sentiment: { enum: [...SENTIMENT_CLASSES] },
    score: { enum: ANALYSIS_SCORES },
    quality: { enum: [...QUALITY_LABELS] },
    recommendation: { enum: [...RECOMMENDATION_LABELS] },
    aspects: {
      type: "array",
      maxItems: ANALYSIS_MAX_ASPECTS,
      items: {
        type: "object",
        properties: {
          term: { type: "string", minLength: 1, maxLength: ANALYSIS_TERM_MAX_CHARS },
          polarity: { enum: [...SENTIMENT_CLASSES] },
        },
        required: ["term", "polarity"],
        additionalProperties: false,
      },
    },
    summary: { type: "string", minLength: 1, maxLength: ANALYSIS_SUMMARY_MAX_CHARS },
  },
  required: ["stars", "sentiment", "score", "quality", "recommendation", "aspects", "summary"],
  additionalProperties: false,
} as const;

/** Words in an aspect term quoted from a review (SemEval-2014's laptop terms: 99.5% have at most four). */
export const ANALYSIS_TERM_MAX_WORDS = 4;

/**
 * The phrases an aspect term of this review may be: every run of up to ANALYSIS_TERM_MAX_WORDS
 * consecutive words that punctuation does not break ("battery life" in "the battery life, the
 * screen", not "life, the"), as written and in lower case, at most ANALYSIS_TERM_MAX_CHARS long. A word
 * keeps its inner punctuation ("17-inch", "AT&T", "Windows 7"); text with a quote or a backslash is
 * never a term (it would need escaping inside the JSON string).
 */
export function reviewSpans(text: string): string[] {
  const spans = new Set<string>();
  // Phrases are runs of words separated by spaces only; any other punctuation between words ends one.
  const words: Array<{ word: string; startsPhrase: boolean; endsPhrase: boolean }> = [];
  for (const chunk of text.split(/\s+/)) {
    const match = /^([^\p{L}\p{N}]*)(.*?)([^\p{L}\p{N}+#]*)$/u.exec(chunk)!;
    const word = match[2]!;
    if (!word) {
      if (words.length) words[words.length - 1]!.endsPhrase = true;
      continue;
    }
    words.push({ word, startsPhrase: match[1]!.length > 0, endsPhrase: match[3]!.length > 0 });
  }
  for (let start = 0; start < words.length; start++) {
    let phrase = "";
    for (let end = start; end < words.length && end < start + ANALYSIS_TERM_MAX_WORDS; end++) {
      if (end > start && words[end]!.startsPhrase) break;
      phrase = end === start ? words[end]!.word : `${phrase} ${words[end]!.word}`;
      if (phrase.length > ANALYSIS_TERM_MAX_CHARS) break;
      if (!/["\\]/.test(phrase)) {
        spans.add(phrase);
        spans.add(phrase.toLowerCase());
      }
      if (words[end]!.endsPhrase) break;
    }
  }
  return [...spans];
}

/**
 * The analysis schema for one review: REVIEW_ANALYSIS_JSON_SCHEMA with each aspect term one of the
 * review's own phrases (reviewSpans). An aspect term is by definition quoted from the review, so a
 * constrained answer cannot name a feature the review does not mention ("guru" for "GUI").
 */
export function reviewAnalysisJsonSchema(reviewText: string): Record<string, unknown> {
  const spans = reviewSpans(reviewText);
  const aspects = REVIEW_ANALYSIS_JSON_SCHEMA.properties.aspects;
  return {
    ...REVIEW_ANALYSIS_JSON_SCHEMA,
    properties: {
      ...REVIEW_ANALYSIS_JSON_SCHEMA.properties,
      aspects: spans.length
        ? { ...aspects, items: { ...aspects.items, properties: { ...aspects.items.properties, term: { enum: spans } } } }
        : { ...aspects, maxItems: 0 },
    },
  };
}

/** The analysis as the model writes it: compact JSON, keys in the schema's order. */
export function formatAnalysis(analysis: ReviewAnalysis): string {
  const ordered: ReviewAnalysis = {
    stars: analysis.stars,
    sentiment: analysis.sentiment,
    score: Math.round(analysis.score * 10) / 10 || 0,
    quality: analysis.quality,
    recommendation: analysis.recommendation,
    aspects: analysis.aspects.map((aspect) => ({ term: aspect.term, polarity: aspect.polarity })),
    summary: analysis.summary,
  };
  return JSON.stringify(ordered);
}

/**
 * A model's answer read as an analysis: the value, or why it is not one (not JSON, or which field is
 * wrong). An aspect term the answer names twice (the demo adapter did in 8 of 40 answers: "lid" and
 * "lid") is kept once, as first written: the decoding's schema cannot forbid a repeat.
 */
export function parseAnalysis(text: string): { ok: true; analysis: ReviewAnalysis } | { ok: false; error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text.trim());
  } catch (error) {
    return { ok: false, error: `not JSON: ${(error as Error).message}` };
  }
  const parsed = ReviewAnalysisSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, error: `${issue.path.join(".") || "(answer)"}: ${issue.message}` };
  }
  const seen = new Set<string>();
  const aspects = parsed.data.aspects.filter((aspect) => {
    const key = aspect.term.trim().toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return { ok: true, analysis: aspects.length === parsed.data.aspects.length ? parsed.data : { ...parsed.data, aspects } };
}

/**
 * The stars and the sentiment are ordered scales, decided by the median of the model's distribution
 * over their options (see OrdinalChoice in the protocol): the answer with the lowest expected
 * distance to the truth, where the likeliest option rounds an uncertain review away from the middle
 * (a 135M model trained for 30 minutes put a 3-star review's mass on 2 and 4, and after "3 stars"
 * still wrote "positive" or "negative": 13% of the neutral reviews were found). The two are decided
 * together (jointChoice): the stars' reading and the sentiment's reading are two views of the same
 * review, and the labels follow the band rule (1-2 negative, 3 neutral, 4-5 positive).
 */
const STAR_OPTIONS = ["1", "2", "3", "4", "5"];
export const ANALYSIS_ORDINALS: OrdinalChoice[] = [
  {
    after: '"stars":',
    choices: STAR_OPTIONS,
    then: { text: ',"sentiment":"', choices: [...SENTIMENT_CLASSES], bands: STAR_OPTIONS.map((stars) => SENTIMENT_CLASSES.indexOf(sentimentOfStars(Number(stars)))) },
  },
  // Decided alone only where the stars were not (e.g. a tokenizer that splits an option).
  { after: '"sentiment":"', choices: [...SENTIMENT_CLASSES] },
];

/**
 * Text that the compact analysis (formatAnalysis) always continues with after an answer so far that
 * ends matching `after` (a regular expression, anchored at the end): the keys and quotes between the
 * values. The llama.cpp path evaluates it in one batch instead of decoding it token by token (jump
 * forward; see forcedContinuation). Each text starts and ends where the tokenizer's pre-tokenizer
 * cuts anyway (between a letter or digit and punctuation), so the tokens it is fed as are the ones
 * the model was trained on: `","score` stops before `":` because a negative score's `-` joins the
 * colon in training, `","aspects` before `":[` because `[` is followed by `{` or `]`.
 */
export const ANALYSIS_JUMPS: JumpRule[] = [
  { after: '^\\{"$', text: 'stars":' },
  { after: '"stars":[1-5]$', text: ',"sentiment":"' },
  { after: '"sentiment":"(?:negative|neutral|positive)$', text: '","score' },
  { after: '"score":(?:-?0\\.[1-9]|-?1)$', text: ',"quality":"' },
  { after: '"score":0,"$', text: 'quality":"' }, // 0 may go on as 0.5 until the comma comes
  { after: '"quality":"(?:good|mixed|poor)$', text: '","recommendation":"' },
  { after: '"recommendation":"(?:yes|mixed|no)$', text: '","aspects' },
  { after: '(?:"aspects":\\[\\{"|"\\},\\{")$', text: 'term":"' },
  { after: '"term":"(?:[^"\\\\]|\\\\.)*","$', text: 'polarity":"' },
  { after: '(?:"aspects":\\[\\],"|"\\}\\],")$', text: 'summary":"' },
];

/** A jump-forward rule: where the answer so far ends matching `after` (a regular expression's source), it goes on with `text`. */
export interface JumpRule {
  after: string;
  text: string;
}

/**
 * What the answer must go on with under these rules, or "". The answer may already hold the start
 * of a rule's text (a token such as `","` that ends one value and starts the next key): then only the
 * rest is returned.
 */
export function forcedContinuation(rules: ReadonlyArray<{ after: RegExp; text: string }>, answer: string): string {
  for (const rule of rules) {
    for (let held = Math.min(rule.text.length - 1, answer.length); held >= 0; held--) {
      if (answer.endsWith(rule.text.slice(0, held)) && rule.after.test(answer.slice(0, answer.length - held))) return rule.text.slice(held);
    }
  }
  return "";
}

/** The instruction of the analysis task (the review follows it). One phrasing: this task is a protocol, not a chat question. */
export const ANALYSIS_INSTRUCTION = "Analyze this product review as JSON: stars (1-5), sentiment, score, quality, recommendation, aspects, summary.";
