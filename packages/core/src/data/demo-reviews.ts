// Deterministic synthetic product reviews, written from scratch by this project, turned into
// chat instruction examples so a small model (SmolLM2-135M) can learn to answer review questions
// in one consistent format that an evaluator can parse without guessing.
//
// Answers follow the contract in augment/answers.ts (five of its tasks: no separate rating task).
// There is no system message: the model's chat template adds its own default.

import { PHRASINGS, answerFor, phrasingIndex, type AnswerFacts, type ReviewTask } from "./augment/answers.js";

export type SentimentLabel = "positive" | "neutral" | "negative";
export type DemoTask = Exclude<ReviewTask, "rating">;
type Category = "Beauty" | "Electronics" | "Home" | "Sports";
type Rating = 1 | 2 | 3 | 4 | 5;

export interface DemoReview {
  id: string;
  category: Category;
  product: string;
  rating: Rating;
  sentiment: SentimentLabel;
  score: number;
  features: string[];
  /** Features spoken of well / badly (a mixed review has one of each). */
  praised: string[];
  criticized: string[];
  /** Edge cases and long reviews, for robustness slices: labels stay known by construction. */
  tags: DemoTag[];
  title: string;
  text: string;
}

export type DemoTag = "sarcasm" | "mixed" | "ambiguous" | "long";

export interface ChatMessage { role: "system" | "user" | "assistant"; content: string }

// group is the review id, so a train/validation split by group never leaks one review across sides.
export interface InstructionExample { group: string; task: DemoTask; messages: ChatMessage[] }

export const DEMO_TASKS: readonly DemoTask[] = ["sentiment", "quality", "recommendation", "features", "summary"];

// Features shared by a whole category, plus a few that only make sense for one product, so every
// product ends up with 6+ features that read naturally next to it.
const CATALOG: Record<Category, { shared: string[]; products: Record<string, string[]> }> = {
  Electronics: {
    shared: ["battery life", "build quality", "design", "price", "setup process"],
    products: {
      "wireless earbuds": ["sound quality", "fit", "noise cancellation"],
      "bluetooth speaker": ["sound quality", "volume", "bass"],
      smartwatch: ["display", "fitness tracking", "strap"],
      "wireless mouse": ["scroll wheel", "grip", "responsiveness"],
      "e-reader": ["screen", "front light", "page turning"],
    },
  },
  Beauty: {
    shared: ["scent", "texture", "packaging", "price"],
    products: {
      "face moisturizer": ["hydration", "absorption"],
      shampoo: ["lather", "cleansing power"],
      lipstick: ["color", "staying power"],
      sunscreen: ["finish", "water resistance"],
      "hand cream": ["hydration", "absorption"],
    },
  },
  Home: {
    shared: ["design", "price", "durability", "ease of use"],
    products: {
      blender: ["blending power", "noise level"],
      "coffee maker": ["brewing speed", "coffee temperature"],
      "vacuum cleaner": ["suction power", "noise level"],
      "desk lamp": ["brightness", "adjustability"],
      "air purifier": ["filtration", "noise level"],
    },
  },
  Sports: {
    shared: ["durability", "price", "design", "material"],
    products: {
      "running shoes": ["cushioning", "grip", "fit"],
      "yoga mat": ["grip", "thickness"],
      "water bottle": ["insulation", "lid"],
      "hiking backpack": ["comfort", "storage space"],
      "resistance bands": ["resistance range", "elasticity"],
    },
  },
};

// Opinions are templated per sentiment rather than per feature: the adjectives are generic enough
// to fit every feature, which keeps the lexicon small while still combining into many sentences.
// Features are all singular nouns and product sentences avoid verbs agreeing with the product
// ("earbuds" is plural, "blender" is not), so every combination stays grammatical.
const ADJECTIVES: Record<SentimentLabel, string[]> = {
  positive: ["excellent", "great", "fantastic", "impressive", "better than I expected", "spot on", "really good"],
  neutral: ["decent", "okay", "acceptable", "fine", "average"],
  negative: ["disappointing", "poor", "nowhere near good enough", "worse than I expected", "subpar", "frankly terrible"],
};

const OPINIONS: Record<SentimentLabel, string[]> = {
  positive: [
    "The {feature} is {adjective}.",
    "I was really impressed by the {feature}, which is {adjective}.",
    "What stands out most is the {feature}; it is {adjective}.",
    "The {feature} is {adjective}, exactly what I was hoping for.",
    "Honestly, the {feature} is {adjective}.",
  ],
  neutral: [
    "The {feature} is {adjective}, but nothing special.",
    "The {feature} is {adjective} but could be better.",
    "I have mixed feelings about the {feature}; it is {adjective} at best.",
    "The {feature} is {adjective}, though I have seen better.",
  ],
  negative: [
    "The {feature} is {adjective}.",
    "Sadly, the {feature} is {adjective}.",
    "My biggest complaint is the {feature}, which is {adjective}.",
    "The {feature} is {adjective} and I expected much more.",
    "I was let down by the {feature}; it is {adjective}.",
  ],
};

const OPENERS: Record<SentimentLabel, string[]> = {
  positive: [
    "I bought the {product} a few weeks ago and I am very happy with my purchase.",
    "After a month of daily use, I can say the {product} exceeded my expectations.",
    "I compared several options before choosing the {product}, and the research paid off.",
    "I reach for the {product} almost every day now.",
  ],
  neutral: [
    "I have been using the {product} for a few weeks now and my feelings are mixed.",
    "Overall I am fine with the {product}, but there are a few things to know.",
    "I had high hopes for the {product}, and the result is somewhere in the middle.",
  ],
  negative: [
    "I bought the {product} a few weeks ago and I regret the purchase.",
    "I really wanted to like the {product}, but it did not work out.",
    "After two weeks with the {product}, I am disappointed.",
    "The {product} did not live up to the description.",
  ],
};

const CLOSERS: Record<SentimentLabel, string[]> = {
  positive: ["I would happily buy it again.", "Highly recommended.", "I would recommend it to a friend.", "Worth the money."],
  neutral: ["It does the job, but I would shop around first.", "Not bad, not great.", "Worth it only if it goes on sale."],
  negative: ["I would not buy it again.", "I am returning it.", "Save your money and look elsewhere."],
};

const TITLES: Record<SentimentLabel, string[]> = {
  positive: ["Love it", "Great {product}", "Exceeded my expectations", "Worth every penny", "Very happy with this purchase"],
  neutral: ["Decent but not perfect", "Mixed feelings", "Does the job", "Okay for the price", "Average {product}"],
  negative: ["Disappointed", "Not worth the money", "Would not buy again", "Poor {product}", "Expected much better"],
};

// Scores are quantised per rating so sentiment, rating and score never contradict each other.
const SCORES: Record<Rating, number[]> = { 5: [0.8, 0.9], 4: [0.5, 0.6], 3: [-0.1, 0, 0.1], 2: [-0.5, -0.6], 1: [-0.8, -0.9] };

// Demo prompts lead with the tasks whose improvement is easiest to see side by side.
const DEMO_PROMPT_TASK_ORDER: readonly DemoTask[] = ["sentiment", "recommendation", "summary", "quality", "features"];

type Random = () => number;

function createRandom(seed: number): Random {
  let state = hashText(`seed:${seed}`);
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

// FNV-1a, so any numeric seed (negative, fractional, huge) maps to a well-spread 32-bit state.
function hashText(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash = Math.imul(hash ^ text.charCodeAt(index), 0x01000193) >>> 0;
  }
  return hash;
}

function itemAt<T>(items: readonly T[], index: number): T {
  const item = items[index];
  if (item === undefined) throw new Error(`no item at index ${index} of ${items.length}`);
  return item;
}

function pick<T>(random: Random, items: readonly T[]): T {
  return itemAt(items, Math.floor(random() * items.length));
}

function shuffled<T>(random: Random, items: readonly T[]): T[] {
  const copy = [...items];
  for (let index = copy.length - 1; index > 0; index -= 1) {
    const other = Math.floor(random() * (index + 1));
    [copy[index], copy[other]] = [copy[other] as T, copy[index] as T];
  }
  return copy;
}

function shuffledByTone(random: Random, lists: Record<SentimentLabel, string[]>): Record<SentimentLabel, string[]> {
  return {
    positive: shuffled(random, lists.positive),
    neutral: shuffled(random, lists.neutral),
    negative: shuffled(random, lists.negative),
  };
}

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole);
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function pickRating(random: Random): Rating {
  // 40% positive, 30% neutral, 30% negative, split evenly inside each class.
  const draw = random();
  if (draw < 0.2) return 5;
  if (draw < 0.4) return 4;
  if (draw < 0.7) return 3;
  return draw < 0.85 ? 2 : 1;
}

function sentimentOf(rating: Rating): SentimentLabel {
  if (rating >= 4) return "positive";
  return rating === 3 ? "neutral" : "negative";
}

function makeReview(random: Random, index: number): DemoReview {
  const category = pick(random, Object.keys(CATALOG) as Category[]);
  const { shared, products } = CATALOG[category];
  const product = pick(random, Object.keys(products));
  const lexicon = [...new Set([...shared, ...(products[product] ?? [])])];
  const rating = pickRating(random);
  const sentiment = sentimentOf(rating);
  const featureDraw = random();
  const features = shuffled(random, lexicon).slice(0, featureDraw < 0.25 ? 1 : featureDraw < 0.7 ? 2 : 3);

  // Neutral reviews sometimes praise one feature and fault another, which is how mixed reviews read.
  const splitOpinion = sentiment === "neutral" && features.length >= 2 && random() < 0.5;
  // Drawing without replacement stops one review from repeating the same template or adjective.
  const templates = shuffledByTone(random, OPINIONS);
  const adjectives = shuffledByTone(random, ADJECTIVES);
  const opinionSentences = features.map((feature, position) => {
    let tone = sentiment;
    if (splitOpinion && position === 0) tone = "positive";
    if (splitOpinion && position === features.length - 1) tone = "negative";
    return fill(itemAt(templates[tone], position), { feature, adjective: itemAt(adjectives[tone], position) });
  });
  let withOpener = random() < 0.7;
  let withCloser = random() < 0.5;
  if (!withOpener && !withCloser && features.length === 1) withCloser = true;
  if (features.length === 3 && withOpener && withCloser) withOpener = false;
  const sentences = [
    ...(withOpener ? [fill(pick(random, OPENERS[sentiment]), { product })] : []),
    ...opinionSentences,
    ...(withCloser ? [pick(random, CLOSERS[sentiment])] : []),
  ];

  return {
    id: `demo-${String(index + 1).padStart(4, "0")}`,
    category,
    product,
    rating,
    sentiment,
    score: pick(random, SCORES[rating]),
    features,
    praised: splitOpinion ? [features[0]!] : sentiment === "positive" ? features : [],
    criticized: splitOpinion ? [features[features.length - 1]!] : sentiment === "negative" ? features : [],
    tags: splitOpinion ? ["mixed"] : [],
    title: capitalize(fill(pick(random, TITLES[sentiment]), { product })),
    text: sentences.join(" "),
  };
}

// Edge cases and long reviews come from their own random stream, so adding them left every other
// draw (and so the base reviews of a seed) as it was.
const SARCASTIC_OPENERS = [
  "Oh great, another {product} that gave up after a week. Just what I needed.",
  "Wow, what a bargain: a {product} that works for almost three whole days.",
  "Fantastic, the {product} arrived and I got to spend my weekend returning it.",
];
const SARCASTIC_TITLES = ["Just perfect...", "Absolutely brilliant (not)", "Best purchase ever, obviously"];
const AMBIGUOUS_TEXTS = [
  "It is a {product}. It does what you would expect, more or less. Hard to say more after a few days.",
  "Well, it is certainly a {product}. Some days I like it, some days I do not. We will see.",
  "The {product} arrived. I have used it a couple of times. It is what it is.",
];
const AMBIGUOUS_TITLES = ["Hard to say", "It is what it is", "Not sure yet"];
const LONG_DETAILS = [
  "I ordered it on a Monday and it arrived on Thursday, well packed in a plain box.",
  "For context, I have owned three similar products from other brands over the years.",
  "I mostly use it in the mornings before work, and sometimes again in the evening.",
  "My partner has been using it as well, so this review reflects two people's experience.",
  "The instructions were a single folded sheet, short but clear enough for me.",
  "I read a lot of reviews before buying, and most of them matched what I found.",
  "It replaced an older model that I had for about five years until it finally stopped working.",
  "I keep it in a drawer when I am not using it, so space has not been a concern.",
  "Customer support answered one question by email within a day, which I appreciated.",
  "I waited a full month before writing this so that I could give it a fair chance.",
  "The color in the pictures online is close to the real thing, maybe slightly darker.",
  "I bought it at full price, not on sale, so value matters to me here.",
];

function applyVariety(review: DemoReview, random: Random): DemoReview {
  const draw = random();
  let result = review;
  if (review.sentiment === "negative" && draw < 0.12) {
    result = {
      ...result,
      title: pick(random, SARCASTIC_TITLES),
      text: `${fill(pick(random, SARCASTIC_OPENERS), { product: review.product })} ${review.text}`,
      tags: [...result.tags, "sarcasm"],
    };
  } else if (review.sentiment === "neutral" && draw < 0.12) {
    result = {
      ...result,
      title: pick(random, AMBIGUOUS_TITLES),
      text: fill(pick(random, AMBIGUOUS_TEXTS), { product: review.product }),
      features: [],
      praised: [],
      criticized: [],
      tags: ["ambiguous"],
    };
  }
  if (random() < 0.1) {
    const details = shuffled(random, LONG_DETAILS).slice(0, 8 + Math.floor(random() * 4));
    const [first, ...rest] = result.text.split(/(?<=\.)\s+/);
    result = { ...result, text: [first, ...details.slice(0, 4), ...rest, ...details.slice(4)].join(" "), tags: [...result.tags, "long"] };
  }
  return result;
}

function generateReviews(count: number, random: Random, variety: Random): DemoReview[] {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`review count must be a non-negative integer, got ${count}`);
  return Array.from({ length: count }, (_, index) => applyVariety(makeReview(random, index), variety));
}

export function makeDemoReviews(count: number, seed: number): DemoReview[] {
  return generateReviews(count, createRandom(seed), createRandom(hashText(`variety:${seed}`)));
}

/** The demo's labels as answer facts: every named feature carries the review's tone. */
function factsOf(review: DemoReview): AnswerFacts {
  return {
    product: review.product,
    sentiment: review.sentiment,
    score: review.score,
    stars: review.rating,
    features: review.features,
    praised: review.praised,
    criticized: review.criticized,
    quality: ({ positive: "good", neutral: "mixed", negative: "poor" } as const)[review.sentiment],
    recommendation: ({ positive: "yes", neutral: "mixed", negative: "no" } as const)[review.sentiment],
  };
}

export function reviewToExamples(review: DemoReview, options: { heldOutPhrasings?: boolean } = {}): InstructionExample[] {
  return DEMO_TASKS.map((task) => {
    // Derived from the review id, not a random stream, so one review always yields the same examples.
    const question = itemAt(PHRASINGS[task], phrasingIndex(task, review.id, options.heldOutPhrasings));
    const user = `${question}\n\nProduct: ${review.product} (${review.category})\nReview: "${review.title}. ${review.text}"`;
    return {
      group: review.id,
      task,
      messages: [
        { role: "user", content: user },
        { role: "assistant", content: answerFor(factsOf(review), task) },
      ],
    };
  });
}

export function makeDemoExamples(reviewCount: number, seed: number): InstructionExample[] {
  return makeDemoReviews(reviewCount, seed).flatMap((review) => reviewToExamples(review));
}

export function demoPrompts(seed: number, count = 3): string[] {
  // A separate seed stream keeps demo reviews out of the training reviews for the same seed.
  const promptSeed = hashText(`demo-prompts:${seed}`);
  const reviews = generateReviews(count, createRandom(promptSeed), createRandom(hashText(`variety:${promptSeed}`)));
  return reviews.map((review, index) => {
    const task = itemAt(DEMO_PROMPT_TASK_ORDER, index % DEMO_PROMPT_TASK_ORDER.length);
    const example = reviewToExamples(review, { heldOutPhrasings: true }).find((candidate) => candidate.task === task);
    const prompt = example?.messages.find((message) => message.role === "user")?.content;
    if (prompt === undefined) throw new Error(`no demo prompt for task ${task}`);
    return prompt;
  });
}
