// The project's rule-based review analyzer: labels for a review that has no teacher, and the
// evaluation's rule-based baseline. Tokens, part-of-speech tags, lemmas and sentence sentiment come
// from wink-nlp (its English lite model); the rules on top are ours and are listed here:
//   - sentiment: the star rating when there is one (1-2 negative, 3 neutral, 4-5 positive, score
//     (stars - 3) / 2); otherwise the text's sentiment, calibrated (see calibratedScore), neutral
//     within +-NEUTRAL_BAND;
//   - rating: the stars, or the text score mapped onto 1-5;
//   - features: phrases of a category-aware lexicon plus nouns and noun-noun compounds, lemmatized,
//     minus words that are not product aspects; each marked praised or criticized by its sentence;
//   - quality: sentences with quality words (durable, flimsy, broke, well made...), by their tone;
//   - recommendation: explicit cues ("would not recommend", "returned it") first, then sentiment;
//   - summary: the review's most opinionated sentence (extractive).
import { createRequire } from "node:module";
import type winkNLP from "wink-nlp";
import type { Document, Model } from "wink-nlp";
import { sentimentOfStars, type LabelSource, type ReviewLabels, type Sentiment } from "@reviewtune/contracts";
import type { Review } from "../sources/reviews.js";

export type { Sentiment };
export type { LabelSource, ReviewLabels };

/** Calibrated text scores within this band of 0 count as neutral. */
export const NEUTRAL_BAND = 0.1;
/**
 * wink's lexicon scores product reviews too kindly: on real Amazon reviews (MARC, 1,381 rated
 * reviews of its reference file) a 1-2 star review often scores 0 to +0.1 ("Didn't even faze the
 * dogs. Waste of my money"). These two constants were fitted there for macro F1 against the stars
 * and checked on the other 1,982 reviews: accuracy 0.51 -> 0.64, macro F1 0.49 -> 0.58
 * (scripts/analyzer-agreement.mjs prints the figures).
 */
export const TEXT_BIAS = 0.125;
export const NEGATIVE_CUE_PENALTY = 0.2;
/** Complaints the lexicon misses or under-weighs; each lowers a text's score by NEGATIVE_CUE_PENALTY. */
const NEGATIVE_CUES =
  /\b(would not|wouldn't|won't|do not|don't|can't|cannot) (recommend|buy)|\b(returned|returning|return(ed)? it|sending it back|waste of (my )?money|don't waste|avoid|broke|broken|stopped working|doesn't work|does not work|didn't work|did not work|not work|junk|garbage|refund|disappoint\w*|useless|cheap(ly)? made|fell apart|poor quality)\b/i;

/** A wink sentiment score for `text`, shifted by the fitted bias and the complaint cues, in [-1, 1]. */
export function calibratedScore(raw: number, text: string, cuesAnywhere = true): number {
  return clamp(raw - TEXT_BIAS - (cuesAnywhere && NEGATIVE_CUES.test(text) ? NEGATIVE_CUE_PENALTY : 0), -1, 1);
}

/** Multi-word aspects the tagger would split, by category (matched case-insensitively). */
const CATEGORY_ASPECTS: Record<string, string[]> = {
  electronics: ["battery life", "sound quality", "noise cancellation", "build quality", "screen", "charger", "cable", "bluetooth", "display"],
  wireless: ["battery life", "sound quality", "signal", "charger", "cable", "bluetooth", "case", "screen protector"],
  beauty: ["scent", "texture", "packaging", "skin", "hair", "color", "smell"],
  drugstore: ["taste", "smell", "packaging", "dosage", "pills", "capsules"],
  home: ["assembly", "instructions", "material", "size", "color", "fabric"],
  kitchen: ["lid", "handle", "blade", "non-stick coating", "dishwasher", "size"],
  sports: ["fit", "grip", "weight", "durability", "comfort", "size"],
  apparel: ["fit", "size", "fabric", "material", "color", "stitching", "sizing"],
  toy: ["pieces", "batteries", "instructions", "age", "colors"],
  automotive: ["fit", "installation", "instructions", "mount"],
  lawn_and_garden: ["hose", "nozzle", "assembly", "material"],
};
const SHARED_ASPECTS = ["price", "value", "quality", "design", "customer service", "shipping", "packaging", "instructions", "size", "build quality"];

/** Nouns that are not aspects of a product. */
const NOT_ASPECTS = new Set([
  "product", "item", "thing", "things", "time", "times", "day", "days", "week", "weeks", "month", "months", "year", "years", "lot", "way",
  "star", "stars", "review", "reviews", "money", "people", "one", "ones", "bit", "amazon", "order", "purchase", "buy", "problem", "issue",
  "issues", "problems", "reason", "part", "kind", "sort", "use", "anything", "everything", "nothing", "something", "husband", "wife",
  "son", "daughter", "kid", "kids", "friend", "family", "mom", "dad", "baby", "gift", "home", "house", "work", "minute", "minutes", "hour", "hours", "job", "fact", "end",
  // opinion words the tagger sometimes reads as nouns ("Love it!")
  "love", "hate", "like", "recommend", "recommendation", "waste", "disappointment", "star",
  // people, sellers and makers: whom a review talks about, not what ("a different vendor", "my granddaughter")
  "user", "person", "customer", "guy", "someone", "everyone", "anyone", "everybody", "somebody", "girlfriend", "boyfriend", "student", "parent",
  "child", "brother", "sister", "grandson", "granddaughter", "niece", "nephew", "man", "woman", "boy", "girl", "teacher", "owner", "buyer",
  "seller", "vendor", "manufacturer", "company", "brand", "store", "shop", "retailer", "dealer", "website", "site",
  // times ("for a good while": wink tags "while" a noun)
  "while", "moment", "period", "morning", "night", "evening", "today", "yesterday", "weekend", "season", "summer", "winter", "christmas",
  "birthday", "holiday",
  // the buying and the reviewer's own frame of mind, and amounts
  "deal", "experience", "decision", "investment", "idea", "choice", "option", "situation", "stuff", "point", "opinion", "expectation",
  "complaint", "chance", "luck", "difference", "amount", "pair", "result", "place", "looking", "getting",
]);

const QUALITY_WORDS = /\b(quality|durable|durability|sturdy|solid|flimsy|cheap(ly)?|broke|broken|breaks|fell apart|falls apart|well[- ]made|poorly made|well built|last(s|ed)?|ripped|torn|tear|defective|sturdiness|junk|garbage)\b/i;
const RECOMMEND_NO = /\b(would not|wouldn't|won't|do not|don't|can't|cannot) (recommend|buy)|\b(returned|returning|return(ed)? it|sending it back|waste of money|don't waste|avoid)\b/i;
const RECOMMEND_YES = /\b(highly recommend|would recommend|definitely recommend|i recommend|recommend it|worth (it|the money|every penny)|buy again|would buy)\b/i;

/**
 * Reviews analyzed by one wink instance before it is replaced by a fresh one. wink adds every token
 * its lexicon lacks (a typo, an order number, a rare name) to the instance's cache for good: a
 * million generated reviews grew a label thread by ~300 MB. A fresh instance costs ~0.12 s, about
 * 2 us a review at this interval; labels do not depend on what the cache holds (a build's labels are
 * the same bytes on one thread or several, each with its own cache).
 */
export const REVIEWS_PER_WINK_INSTANCE = 50_000;

type Wink = ReturnType<typeof winkNLP>;
let model: Model | undefined;
let nlp: Wink | undefined;
let analyzedByInstance = 0;

/**
 * wink's English model, loaded once. Its custom-entity loader (wink-eng-lite-web-model 1.8.1,
 * load-cer-meta-model.js) assigns JSON.stringify(machines) back to its own variable, so each load
 * stringifies the last result again: the string doubles, the 16th instance took 0.3 s and the 21st
 * failed ("Invalid string length"), and a second instance in a process matched custom entities
 * differently from the first. The loader's first result is kept and handed to every instance.
 */
export function winkModel(): Model {
  if (!model) {
    // wink's typings call the model's loaders data; they are functions.
    const loaded = createRequire(import.meta.url)("wink-eng-lite-web-model") as Record<string, unknown>;
    const meta = (loaded.metaCER as () => unknown)();
    model = Object.assign(Object.create(null) as Record<string, unknown>, loaded, { metaCER: () => meta }) as unknown as Model;
  }
  return model;
}

/** A new wink instance with the analyzer's pipe. */
export function createWinkInstance(): Wink {
  const create = createRequire(import.meta.url)("wink-nlp") as typeof winkNLP;
  // Without wink's named-entity pass (dates, numbers, money...): nothing here reads entities, and
  // it was a fifth of readDoc's time. Without its custom-entity pass too: the aspect patterns are
  // matched by aspectSpans over the tags, the same spans for a third of readDoc's time.
  return create(winkModel(), ["sbd", "negation", "sentiment", "pos"]);
}

/**
 * A noun counts as a feature when an opinion is attached to it: "great sound", "cheap plastic
 * handle", "the fit is perfect", "the strap is very flimsy". Bare nouns ("my family") do not.
 * Sequences of part-of-speech tags, matched by aspectSpans.
 */
export const ASPECT_PATTERNS: readonly string[][] = [
  ["ADJ", "NOUN"], ["ADJ", "NOUN", "NOUN"], ["ADJ", "ADJ", "NOUN"],
  ["NOUN", "AUX", "ADJ"], ["NOUN", "NOUN", "AUX", "ADJ"], ["NOUN", "AUX", "ADV", "ADJ"], ["NOUN", "NOUN", "AUX", "ADV", "ADJ"], ["NOUN", "AUX", "PART", "ADJ"],
  ["NOUN", "VERB"],
];

interface PatternNode {
  next: Map<string, PatternNode>;
  /** A pattern ends here. */
  ends: boolean;
}
const patternTrie: PatternNode = { next: new Map(), ends: false };
for (const pattern of ASPECT_PATTERNS) {
  let node = patternTrie;
  for (const tag of pattern) {
    let child = node.next.get(tag);
    if (!child) node.next.set(tag, (child = { next: new Map(), ends: false }));
    node = child;
  }
  node.ends = true;
}

/**
 * Where ASPECT_PATTERNS match in a document's tags, as [first, last] token indexes: what wink's
 * custom-entity pass found for them (learnCustomEntities; analyzer.test compares the two), for a
 * third of readDoc's time. Its matching, kept here: from each token, the longest pattern that
 * starts there; the scan goes on after a match, or one token on when none starts. A line break is
 * a token (SPACE) and breaks a pattern.
 */
export function aspectSpans(tags: readonly string[]): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  for (let start = 0; start < tags.length; start += 1) {
    let node = patternTrie;
    let longest = -1;
    for (let index = start; index < tags.length; index += 1) {
      const next = node.next.get(tags[index]!);
      if (!next) break;
      node = next;
      if (node.ends) longest = index;
    }
    if (longest >= 0) {
      spans.push([start, longest]);
      start = longest;
    }
  }
  return spans;
}

function engine(): Wink {
  // Loaded on first use (the model is 4 MB), so commands that never label start fast.
  if (!nlp) {
    nlp = createWinkInstance();
    analyzedByInstance = 0;
  }
  return nlp;
}

const round1 = (value: number) => Math.round(value * 10) / 10 || 0;
const clamp = (value: number, low: number, high: number) => Math.min(high, Math.max(low, value));

export function labelFromScore(score: number): Sentiment {
  return score > NEUTRAL_BAND ? "positive" : score < -NEUTRAL_BAND ? "negative" : "neutral";
}

/**
 * A text score as labels and answers print it, to one decimal, never inside the neutral band when
 * its label is not neutral: a text with no sentiment words scores -TEXT_BIAS = -0.125, negative,
 * which one decimal would print as -0.1, a score the band calls neutral ("negative (-0.1)").
 */
export function displayedScore(score: number): number {
  const rounded = round1(score);
  const label = labelFromScore(score);
  if (label === "negative") return Math.min(rounded, round1(-NEUTRAL_BAND - 0.1));
  if (label === "positive") return Math.max(rounded, round1(NEUTRAL_BAND + 0.1));
  return rounded;
}

/** Stars implied by a text score in [-1, 1]. */
export function starsFromScore(score: number): number {
  return score <= -0.5 ? 1 : score < -NEUTRAL_BAND ? 2 : score <= NEUTRAL_BAND ? 3 : score < 0.5 ? 4 : 5;
}

interface SentenceFacts {
  text: string;
  score: number;
  aspects: string[];
}

/** A category's lexicon phrases with their patterns, compiled once per category (not per sentence). */
const lexicons = new Map<string, Array<{ phrase: string; pattern: RegExp }>>();
function lexiconFor(category: string | undefined): Array<{ phrase: string; pattern: RegExp }> {
  // Categories come from user data: one without phrases of its own has the shared lexicon ("").
  const lower = (category ?? "").toLowerCase();
  const key = Object.hasOwn(CATEGORY_ASPECTS, lower) ? lower : "";
  let lexicon = lexicons.get(key);
  if (!lexicon) {
    const phrases = [...(CATEGORY_ASPECTS[key] ?? []), ...SHARED_ASPECTS];
    lexicon = phrases.map((phrase) => ({ phrase, pattern: new RegExp(`\\b${phrase.replace(/[-\s]+/g, "[- ]")}\\b`) }));
    lexicons.set(key, lexicon);
  }
  return lexicon;
}

/** The review's sentences with their facts, and the sentences joined by line breaks (`whole`, below). */
function sentences(doc: Document, category: string | undefined): { facts: SentenceFacts[]; whole: string } {
  const its = engine().its;
  const lexicon = lexiconFor(category);
  // Whole-document arrays, read once: wink's per-item collections cost more than the matching.
  const tokens = doc.tokens();
  const tags = tokens.out(its.pos) as string[];
  const entities = aspectSpans(tags);
  const texts = doc.sentences().out() as string[];
  const scores = doc.sentences().out(its.sentiment) as unknown as number[];
  const spans = doc.sentences().out(its.span) as unknown as Array<[number, number]>;
  // The sentences joined by line breaks, which none of the phrases and cues matches across: what
  // the whole lacks, every sentence lacks, and most sentences are spared the tests.
  const whole = texts.join("\n");
  const wholeLower = whole.toLowerCase();
  const present = lexicon.filter(({ pattern }) => pattern.test(wholeLower));
  const cues = NEGATIVE_CUES.test(whole);
  let firstEntity = 0;
  const facts = texts.map((text, index) => {
    const [start, end] = spans[index]!;
    const lower = present.length > 0 ? text.toLowerCase() : "";
    const aspects = new Set(present.filter(({ pattern }) => pattern.test(lower)).map(({ phrase }) => phrase));
    // A sentence holds the entities that overlap it (one across a sentence break counts in both).
    while (firstEntity < entities.length && entities[firstEntity]![1] < start) firstEntity += 1;
    for (let entity = firstEntity; entity < entities.length && entities[entity]![0] <= end; entity += 1) {
      const words: string[] = [];
      for (let token = entities[entity]![0]; token <= entities[entity]![1]; token += 1) {
        if (tags[token] !== "NOUN") continue;
        const lemma = (tokens.itemAt(token).out(its.lemma as never) as string).toLowerCase();
        if (/^[a-z][a-z-]+$/.test(lemma) && !NOT_ASPECTS.has(lemma)) words.push(lemma);
      }
      if (words.length === 0) continue;
      const phrase = words.join(" ");
      // A lexicon phrase that contains this one already says it better ("battery life" over "battery").
      if (![...aspects].some((known) => known.includes(phrase))) aspects.add(phrase);
    }
    return { text, score: calibratedScore(scores[index]!, text, cues), aspects: [...aspects] };
  });
  return { facts, whole };
}

export function analyzeReview(review: Pick<Review, "text" | "title" | "rating" | "category">): ReviewLabels {
  if (++analyzedByInstance > REVIEWS_PER_WINK_INSTANCE) nlp = undefined;
  const its = engine().its;
  const doc = engine().readDoc(review.text);
  const textScore = calibratedScore(doc.out(its.sentiment) as number, review.text);
  const { facts, whole: sentencesJoined } = sentences(doc, review.category);

  const fromRating = review.rating !== undefined;
  const stars = fromRating ? Math.round(review.rating!) : starsFromScore(textScore);
  const score = fromRating ? (review.rating! - 3) / 2 : textScore;
  const label: Sentiment = fromRating ? sentimentOfStars(stars) : labelFromScore(textScore);
  const source: LabelSource = fromRating ? "rating" : "analyzer";

  const praised = new Set<string>();
  const criticized = new Set<string>();
  const items: string[] = [];
  for (const fact of facts) {
    for (const aspect of fact.aspects) {
      if (!items.includes(aspect)) items.push(aspect);
      if (fact.score > NEUTRAL_BAND) praised.add(aspect);
      else if (fact.score < -NEUTRAL_BAND) criticized.add(aspect);
    }
  }

  // As in sentences(): no quality word across the line breaks that join them, none in any sentence.
  const qualityFacts = QUALITY_WORDS.test(sentencesJoined) ? facts.filter((fact) => QUALITY_WORDS.test(fact.text)) : [];
  let quality: ReviewLabels["quality"];
  if (qualityFacts.length > 0) {
    const mean = qualityFacts.reduce((sum, fact) => sum + fact.score, 0) / qualityFacts.length;
    const tone = labelFromScore(mean) === "neutral" ? labelFromScore(score) : labelFromScore(mean);
    const strongest = [...qualityFacts].sort((a, b) => Math.abs(b.score) - Math.abs(a.score))[0]!;
    quality = { label: tone === "positive" ? "good" : tone === "negative" ? "poor" : "mixed", evidence: strongest.text, source: "analyzer" };
  } else {
    quality = { label: label === "positive" ? "good" : label === "negative" ? "poor" : "mixed", evidence: null, source };
  }

  const whole = `${review.title ?? ""}. ${review.text}`;
  const opinionated = [...facts].sort((a, b) => Math.abs(b.score) - Math.abs(a.score))[0];
  let recommendation: ReviewLabels["recommendation"];
  if (RECOMMEND_NO.test(whole)) {
    recommendation = { label: "no", reason: facts.find((fact) => RECOMMEND_NO.test(fact.text))?.text ?? review.title ?? "", source: "analyzer" };
  } else if (RECOMMEND_YES.test(whole) && label !== "negative") {
    recommendation = { label: "yes", reason: facts.find((fact) => RECOMMEND_YES.test(fact.text))?.text ?? review.title ?? "", source: "analyzer" };
  } else {
    recommendation = { label: label === "positive" ? "yes" : label === "negative" ? "no" : "mixed", reason: opinionated?.text ?? "", source };
  }

  return {
    sentiment: { label, score: fromRating ? round1(score) : displayedScore(score), source },
    rating: { stars: clamp(stars, 1, 5), source },
    features: { items, praised: items.filter((item) => praised.has(item)), criticized: items.filter((item) => criticized.has(item)), source: "analyzer" },
    quality,
    recommendation,
    summary: { text: opinionated?.text ?? review.text, source: "analyzer" },
  };
}
