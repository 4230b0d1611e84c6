// Deterministic synthetic product reviews, written from scratch by this project, with labels known
// by construction (source "generator"). They become training examples through the same route as
// real reviews (augment.ts: one chat example per task plus one `analysis` example), see demoEntry
// and makeDemoExamples below.
//
// Most reviews are deliberately hard for a lexicon: negation ("not bad at all"), sarcasm ("Great,
// it broke on day two"), mixed praise and complaint (the stars decide), comparisons, understatement,
// typos, and plain facts that carry the verdict without an opinion word. A person still reads every
// one unambiguously; the rule-based analyzer does not (demo-reviews.test.ts keeps it from being an
// oracle), so a tuned model has something to learn beyond the lexicon.
import type { ReviewLabels } from "./labels/analyzer.js";
import { sentimentOfStars, type Sentiment } from "@reviewtune/contracts";
import type { Review } from "./sources/reviews.js";
import { REVIEW_TASKS, type ReviewTask } from "./augment/answers.js";
import { analysisExample, reviewExamples, type ReviewExample } from "./augment/augment.js";

type Category = "Beauty" | "Electronics" | "Home" | "Sports";
type Rating = 1 | 2 | 3 | 4 | 5;

export interface DemoReview {
  id: string;
  category: Category;
  product: string;
  rating: Rating;
  sentiment: Sentiment;
  score: number;
  features: string[];
  /** Features spoken of well / badly (a mixed review has one of each). */
  praised: string[];
  criticized: string[];
  /** How the review is hard to read, for robustness slices: labels stay known by construction. */
  tags: DemoTag[];
  title: string;
  text: string;
}

/**
 * sarcasm, negation, comparison, understatement, implicit (facts without opinion words): the
 * review's wording; mixed: praise and complaint, the stars decide; ambiguous: a neutral review that
 * names no feature; typo: misspelled words (never the features); long: 100+ words of detail.
 */
export const DEMO_TAGS = ["sarcasm", "mixed", "ambiguous", "negation", "comparison", "understatement", "implicit", "typo", "long"] as const;
export type DemoTag = (typeof DEMO_TAGS)[number];

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
const ADJECTIVES: Record<Sentiment, string[]> = {
  positive: ["excellent", "great", "fantastic", "impressive", "better than I expected", "spot on", "really good"],
  neutral: ["decent", "okay", "acceptable", "fine", "average"],
  negative: ["disappointing", "poor", "nowhere near good enough", "worse than I expected", "subpar", "frankly terrible"],
};

const OPINIONS: Record<Sentiment, string[]> = {
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

const OPENERS: Record<Sentiment, string[]> = {
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

const CLOSERS: Record<Sentiment, string[]> = {
  positive: ["I would happily buy it again.", "Highly recommended.", "I would recommend it to a friend.", "Worth the money."],
  neutral: ["It does the job, but I would shop around first.", "Not bad, not great.", "Worth it only if it goes on sale."],
  negative: ["I would not buy it again.", "I am returning it.", "Save your money and look elsewhere."],
};

const TITLES: Record<Sentiment, string[]> = {
  positive: ["Love it", "Great {product}", "Exceeded my expectations", "Worth every penny", "Very happy with this purchase"],
  neutral: ["Decent but not perfect", "Mixed feelings", "Does the job", "Okay for the price", "Average {product}"],
  negative: ["Disappointed", "Not worth the money", "Would not buy again", "Poor {product}", "Expected much better"],
};

// Scores are quantised per rating so sentiment, rating and score never contradict each other.
const SCORES: Record<Rating, number[]> = { 5: [0.8, 0.9], 4: [0.5, 0.6], 3: [-0.1, 0, 0.1], 2: [-0.5, -0.6], 1: [-0.8, -0.9] };

// Demo prompts lead with the tasks whose improvement is easiest to see side by side.
const DEMO_PROMPT_TASK_ORDER: readonly ReviewTask[] = ["sentiment", "recommendation", "summary", "quality", "features"];

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

function shuffledByTone(random: Random, lists: Record<Sentiment, string[]>): Record<Sentiment, string[]> {
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


/** How a review is written; each kind keeps its labels known by construction. */
type Kind = "plain" | "negation" | "sarcasm" | "mixed" | "comparison" | "understatement" | "implicit" | "ambiguous";

// Shares per sentiment, in percent. Plain reviews (the lexicon reads them) are a minority, as on
// real sites; sarcasm and understatement-of-a-failure only make sense for complaints, ambiguous
// texts only for 3 stars.
const KIND_SHARES: Record<Sentiment, Array<[Kind, number]>> = {
  positive: [["plain", 45], ["negation", 13], ["mixed", 14], ["comparison", 10], ["understatement", 10], ["implicit", 8]],
  neutral: [["plain", 30], ["negation", 15], ["mixed", 20], ["comparison", 15], ["implicit", 10], ["ambiguous", 10]],
  negative: [["plain", 40], ["negation", 16], ["sarcasm", 11], ["mixed", 8], ["comparison", 9], ["understatement", 8], ["implicit", 8]],
};

function pickKind(random: Random, sentiment: Sentiment): Kind {
  let draw = random() * 100;
  for (const [kind, share] of KIND_SHARES[sentiment]) {
    draw -= share;
    if (draw < 0) return kind;
  }
  return "plain";
}

type ByTone = Record<Sentiment, string[]>;

/** One sentence per feature, {feature} filled in; a kind lacking a tone (sarcasm is only negative) has []. */
const FEATURE_SENTENCES: Record<Exclude<Kind, "plain" | "mixed" | "ambiguous">, ByTone> = {
  negation: {
    positive: [
      "The {feature} is not bad at all.",
      "I can't complain about the {feature}.",
      "No problems whatsoever with the {feature}.",
      "The {feature} never lets me down.",
      "I honestly can't find a fault with the {feature}.",
      "I was worried about the {feature}, but there was no need to be.",
      "Nobody could call the {feature} a weak point.",
    ],
    neutral: [
      "The {feature} isn't bad, but it isn't great either.",
      "I wouldn't call the {feature} a strength or a weakness.",
      "The {feature} is not terrible and not amazing.",
      "I can't say the {feature} stood out either way.",
      "The {feature} doesn't impress, but it doesn't annoy me either.",
    ],
    negative: [
      "I can't say I love the {feature}.",
      "The {feature} is not what I would call good.",
      "I wouldn't say the {feature} is worth it.",
      "The {feature} doesn't hold up, not even close.",
      "Nothing about the {feature} impressed me.",
      "The {feature} is not nearly as nice as the photos make it look.",
      "I never got used to the {feature}, and I stopped trying.",
    ],
  },
  sarcasm: {
    positive: [],
    neutral: [],
    negative: [
      "Great, the {feature} was already a problem on day two.",
      "Love how the {feature} let me down within a week. Real quality.",
      "The {feature} is just wonderful, if you enjoy sending things back.",
      "Oh sure, the {feature} is amazing, right up until you actually use it.",
      "Truly impressive how fast the {feature} went from fine to useless.",
      "Brilliant {feature}: it took me a whole weekend to start hating it.",
      "Nothing says premium like the {feature} on this thing.",
    ],
  },
  comparison: {
    positive: [
      "The {feature} is far better than on my old one.",
      "Compared with the Kestrel I had before, the {feature} is in another league.",
      "The {feature} beats models that cost twice as much.",
      "After three other brands, this is the first {feature} I have no notes on.",
      "The {feature} puts my previous one to shame.",
    ],
    neutral: [
      "The {feature} is better than my old one but worse than the Kestrel my friend has.",
      "The {feature} is about on par with the cheaper brands.",
      "The {feature} beats the budget models but not the premium ones.",
      "The {feature} is neither better nor worse than on the Norden I returned.",
    ],
    negative: [
      "My old no-name one had a better {feature} than this.",
      "The {feature} is worse than on the cheap Aldway I replaced.",
      "Next to the store brand, the {feature} falls short.",
      "The {feature} is a step down from the one I had ten years ago.",
      "The Norden costs less and its {feature} runs circles around this one.",
    ],
  },
  understatement: {
    positive: [
      "The {feature} is not too shabby, I have to admit.",
      "I suppose the {feature} is pretty decent; I have ordered two more.",
      "The {feature} does the job rather well, I must say.",
      "I have no real complaints about the {feature}, and I complain about everything.",
      "The {feature} is alright, which from me is high praise.",
    ],
    neutral: [],
    negative: [
      "The {feature} could be a touch better; I gave up on it after two days.",
      "I'd say the {feature} leaves a little room for improvement, in the sense that I regret paying for it.",
      "The {feature} is slightly less than ideal, in that I had to send the whole thing back.",
      "The {feature} is not quite there yet; it let me down the first time I needed it.",
      "Let's just say the {feature} and I did not get along; the box went back on day one.",
    ],
  },
  implicit: {
    positive: [
      "I have relied on the {feature} every day for three months.",
      "A year on, the {feature} is exactly as it was on the first day.",
      "I reach for it before anything else, mostly for the {feature}.",
      "My sister tried the {feature} once and ordered her own the same evening.",
      "The {feature} is the reason I retired my old one.",
    ],
    neutral: [
      "The {feature} does what the box says, nothing more.",
      "The {feature} works as described.",
      "I use the {feature} now and then; it does its job.",
      "The {feature} is as the listing describes it.",
    ],
    negative: [
      "Because of the {feature}, it went back on the fourth day.",
      "I used it twice, and the {feature} is why there was no third time.",
      "I sent it back after the {feature} let me down twice.",
      "It is in the bin now, thanks to the {feature}.",
      "I returned it over the {feature} before the return window had even closed.",
    ],
  },
};

const KIND_OPENERS: Partial<Record<Kind, ByTone>> = {
  negation: {
    positive: ["I was not disappointed with the {product} in the least.", "I didn't expect to keep the {product}, but here we are."],
    neutral: ["The {product} is not a bad buy, but not a great one either."],
    negative: ["I didn't want to dislike the {product}, but I can't help it.", "I can't say the {product} was money well spent."],
  },
  sarcasm: {
    positive: [],
    neutral: [],
    negative: [
      "Oh great, another {product} that gave up after a week. Just what I needed.",
      "Wow, what a bargain: a {product} that works for almost three whole days.",
      "Fantastic, the {product} arrived and I got to spend my weekend returning it.",
      "Well, the {product} certainly taught me a lesson about deals that look too good.",
    ],
  },
  comparison: {
    positive: ["I replaced a five-year-old {product} with this one."],
    neutral: ["I have owned three of these over the years, and this {product} lands in the middle."],
    negative: ["I replaced my old {product} with this one and I miss the old one."],
  },
  implicit: {
    positive: ["Bought the {product} in March."],
    neutral: ["Bought the {product} in March."],
    negative: ["Bought the {product} in March."],
  },
};

const KIND_CLOSERS: Partial<Record<Kind, ByTone>> = {
  negation: {
    positive: ["No regrets.", "I wouldn't hesitate to buy it again.", "Can't fault it."],
    neutral: ["I don't regret it, but I wouldn't rush to buy another.", "Not bad, not great."],
    negative: ["I wouldn't buy it again.", "Not something I can recommend.", "I don't plan to keep it."],
  },
  sarcasm: { positive: [], neutral: [], negative: ["Money well spent, clearly.", "Can't wait to buy another one. Not.", "Thanks for nothing."] },
  comparison: {
    positive: ["Glad I upgraded.", "I should have switched years ago."],
    neutral: ["Middle of the pack.", "You get what you pay for, no more."],
    negative: ["I am going back to my old one.", "Buy the Norden instead."],
  },
  understatement: {
    positive: ["I have since bought one for my mother as well.", "It has quietly become one of my favourite things."],
    neutral: [],
    negative: ["It is going back.", "Slightly disappointing, to put it mildly."],
  },
  implicit: {
    positive: ["Already ordered another.", "It lives on my counter now."],
    neutral: ["It will do for now.", "It is in the cupboard with the rest."],
    negative: ["Refund requested.", "Second one did the same."],
  },
};

const KIND_TITLES: Partial<Record<Kind, ByTone>> = {
  negation: {
    positive: ["Not bad at all", "No complaints", "Can't fault it", "Didn't expect to like it"],
    neutral: ["Not bad, not great", "Neither here nor there"],
    negative: ["Can't say I love it", "Not for me", "Not what I hoped"],
  },
  sarcasm: { positive: [], neutral: [], negative: ["Just perfect...", "Absolutely brilliant (not)", "Best purchase ever, obviously", "Great. Just great."] },
  comparison: {
    positive: ["Better than my old one", "Beats the pricier brands"],
    neutral: ["Middle of the pack", "Better than some, worse than others"],
    negative: ["My old one was better", "A step down"],
  },
  understatement: { positive: ["Not too shabby", "Rather good"], neutral: [], negative: ["Could be better", "Room for improvement"] },
  implicit: { positive: ["Three months in", "A year later"], neutral: ["As described", "Three months in"], negative: ["Day four", "Back it goes"] },
  mixed: {
    positive: ["Good, with one catch", "Almost perfect", "Minor gripe"],
    neutral: ["Swings and roundabouts", "Some good, some bad", "Mixed bag"],
    negative: ["One good thing", "Nice idea, poor execution", "Close, but no"],
  },
};

// Mixed reviews: one feature praised, one criticized; how strongly, and the verdict, carry the stars.
const MIXED_PRAISE: ByTone = {
  positive: ["I love the {feature}.", "The {feature} is really excellent.", "The {feature} is the best part by far."],
  neutral: ["The {feature} is genuinely good.", "I like the {feature} a lot.", "The {feature} is nice."],
  negative: ["The {feature} is nice, I'll give it that.", "The {feature} is fine, I suppose.", "To be fair, the {feature} is good."],
};
const MIXED_COMPLAINT: ByTone = {
  positive: ["The {feature} could be a little better.", "My only small gripe is the {feature}.", "The {feature} is a bit weak, but it's minor."],
  neutral: ["The {feature}, on the other hand, is poor.", "But the {feature} is a letdown.", "The {feature} is a real weakness though."],
  negative: ["But the {feature} is awful.", "The {feature}, though, is a dealbreaker.", "The {feature} ruins it completely."],
};
const MIXED_VERDICTS: ByTone = {
  positive: ["On balance I am glad I bought it.", "The good easily outweighs the bad.", "Small complaint aside, I'd buy it again."],
  neutral: ["So it evens out, more or less.", "One step forward, one step back.", "Good and bad in equal measure."],
  negative: ["That one flaw is enough for me to return it.", "In the end it isn't worth keeping.", "The good part doesn't make up for it."],
};

const AMBIGUOUS_TEXTS = [
  "It is a {product}. It does what you would expect, more or less. Hard to say more after a few days.",
  "Well, it is certainly a {product}. Some days I like it, some days I do not. We will see.",
  "The {product} arrived. I have used it a couple of times. It is what it is.",
];
const AMBIGUOUS_TITLES = ["Hard to say", "It is what it is", "Not sure yet"];

// Typos are drawn from the misspellings people actually make, and only outside the feature names
// (so the feature labels stay exact); a person still reads each word at a glance.
const MISSPELLINGS: Record<string, string> = {
  really: "realy", received: "recieved", definitely: "definately", disappointed: "dissapointed", disappointing: "dissapointing",
  excellent: "excelent", terrible: "terible", recommend: "reccomend", because: "becuase", though: "tho", would: "woud",
  "can't": "cant", "doesn't": "doesnt", "didn't": "didnt", "wouldn't": "wouldnt", "isn't": "isnt", worth: "wroth", love: "luv",
  money: "mony", happy: "hapy", impressed: "impresed", fantastic: "fantastik", great: "grate", awful: "awfull", nice: "nise",
  good: "gud", worse: "wors", better: "beter", stopped: "stoped", working: "workin", returned: "retuned", quality: "qualty",
  amazing: "amazin", wonderful: "wonderfull", complain: "complian", problems: "problms", favourite: "favorit", bought: "bougth",
};

function withTypos(random: Random, text: string, features: readonly string[]): { text: string; changed: boolean } {
  const protectedSpans = features.length > 0 ? new RegExp(`(${features.map((feature) => feature.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})`) : null;
  let changed = false;
  const parts = protectedSpans ? text.split(protectedSpans) : [text];
  const result = parts.map((part, index) => {
    // split() with one capture group puts the features at the odd indexes.
    if (protectedSpans && index % 2 === 1) return part;
    return part.replace(/[A-Za-z']+/g, (word) => {
      const typo = MISSPELLINGS[word.toLowerCase()];
      if (typo === undefined || random() >= 0.7) return word;
      changed = true;
      return word.charAt(0) === word.charAt(0).toUpperCase() ? capitalize(typo) : typo;
    });
  });
  return { text: result.join(""), changed };
}

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

interface Draft {
  sentences: string[];
  features: string[];
  praised: string[];
  criticized: string[];
  title: string;
}

/** The plain kind: opinion adjectives a lexicon knows, with an optional opener and closer. */
function plainDraft(random: Random, product: string, sentiment: Sentiment, features: string[]): Draft {
  // Drawing without replacement stops one review from repeating the same template or adjective.
  const templates = shuffledByTone(random, OPINIONS);
  const adjectives = shuffledByTone(random, ADJECTIVES);
  const opinions = features.map((feature, position) =>
    fill(itemAt(templates[sentiment], position), { feature, adjective: itemAt(adjectives[sentiment], position) }),
  );
  let withOpener = random() < 0.7;
  let withCloser = random() < 0.5;
  if (!withOpener && !withCloser && features.length === 1) withCloser = true;
  if (features.length === 3 && withOpener && withCloser) withOpener = false;
  return {
    sentences: [
      ...(withOpener ? [fill(pick(random, OPENERS[sentiment]), { product })] : []),
      ...opinions,
      ...(withCloser ? [pick(random, CLOSERS[sentiment])] : []),
    ],
    features,
    praised: sentiment === "positive" ? features : [],
    criticized: sentiment === "negative" ? features : [],
    title: fill(pick(random, TITLES[sentiment]), { product }),
  };
}

function mixedDraft(random: Random, sentiment: Sentiment, features: string[]): Draft {
  const [good, bad] = features as [string, string];
  const praise = fill(pick(random, MIXED_PRAISE[sentiment]), { feature: good });
  const complaint = fill(pick(random, MIXED_COMPLAINT[sentiment]), { feature: bad });
  // The sentence that matters less comes first about half the time, so order alone gives nothing away.
  const body = random() < 0.5 ? [praise, complaint] : [complaint, praise];
  return {
    sentences: [...body, pick(random, MIXED_VERDICTS[sentiment])],
    features: [good, bad],
    praised: [good],
    criticized: [bad],
    title: pick(random, KIND_TITLES.mixed?.[sentiment] ?? TITLES[sentiment]),
  };
}

/** Negation, sarcasm, comparison, understatement, implicit: one sentence per feature in the kind's voice. */
function voicedDraft(random: Random, kind: keyof typeof FEATURE_SENTENCES, product: string, sentiment: Sentiment, features: string[]): Draft {
  const templates = shuffled(random, FEATURE_SENTENCES[kind][sentiment]);
  const opinions = features.map((feature, position) => fill(itemAt(templates, position % templates.length), { feature }));
  const openers = KIND_OPENERS[kind]?.[sentiment] ?? [];
  const closers = KIND_CLOSERS[kind]?.[sentiment] ?? [];
  const withOpener = openers.length > 0 && random() < 0.5;
  const withCloser = closers.length > 0 && (random() < 0.6 || features.length === 1);
  return {
    sentences: [
      ...(withOpener ? [fill(pick(random, openers), { product })] : []),
      ...opinions,
      ...(withCloser ? [pick(random, closers)] : []),
    ],
    features,
    praised: sentiment === "positive" ? features : [],
    criticized: sentiment === "negative" ? features : [],
    title: pick(random, KIND_TITLES[kind]?.[sentiment] ?? TITLES[sentiment]),
  };
}

function makeReview(random: Random, index: number): DemoReview {
  const category = pick(random, Object.keys(CATALOG) as Category[]);
  const { shared, products } = CATALOG[category];
  const product = pick(random, Object.keys(products));
  const lexicon = [...new Set([...shared, ...(products[product] ?? [])])];
  const rating = pickRating(random);
  const sentiment = sentimentOfStars(rating);
  const kind = pickKind(random, sentiment);
  const featureDraw = random();
  const count = kind === "mixed" ? 2 : featureDraw < 0.3 ? 1 : featureDraw < 0.75 ? 2 : 3;
  const features = shuffled(random, lexicon).slice(0, count);

  let draft: Draft;
  const tags: DemoTag[] = [];
  if (kind === "plain") draft = plainDraft(random, product, sentiment, features);
  else if (kind === "mixed") {
    draft = mixedDraft(random, sentiment, features);
    tags.push("mixed");
  } else if (kind === "ambiguous") {
    draft = { sentences: [fill(pick(random, AMBIGUOUS_TEXTS), { product })], features: [], praised: [], criticized: [], title: pick(random, AMBIGUOUS_TITLES) };
    tags.push("ambiguous");
  } else {
    draft = voicedDraft(random, kind, product, sentiment, features);
    tags.push(kind);
  }

  let text = draft.sentences.join(" ");
  if (random() < 0.15) {
    const typed = withTypos(random, text, draft.features);
    if (typed.changed) {
      text = typed.text;
      tags.push("typo");
    }
  }
  if (random() < 0.1) {
    const details = shuffled(random, LONG_DETAILS).slice(0, 8 + Math.floor(random() * 4));
    const [first, ...rest] = text.split(/(?<=\.)\s+/);
    text = [first, ...details.slice(0, 4), ...rest, ...details.slice(4)].join(" ");
    tags.push("long");
  }

  return {
    id: `demo-${String(index + 1).padStart(4, "0")}`,
    category,
    product,
    rating,
    sentiment,
    score: pick(random, SCORES[rating]),
    features: draft.features,
    praised: draft.praised,
    criticized: draft.criticized,
    tags,
    title: capitalize(fill(draft.title, { product })),
    text,
  };
}

function generateReviews(count: number, random: Random): DemoReview[] {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`review count must be a non-negative integer, got ${count}`);
  return Array.from({ length: count }, (_, index) => makeReview(random, index));
}

export function makeDemoReviews(count: number, seed: number): DemoReview[] {
  return generateReviews(count, createRandom(seed));
}

/** A demo review as a review and its labels (source "generator"), the input of augment.ts and of `data demo`. */
export function demoEntry(demo: DemoReview): { review: Review; labels: ReviewLabels } {
  const source = "generator" as const;
  const review: Review = {
    id: demo.id,
    text: demo.text,
    title: demo.title,
    rating: demo.rating,
    category: demo.category,
    product_title: demo.product,
    ...(demo.tags.length > 0 ? { tags: demo.tags } : {}),
    source: { file: "builtin:demo", line: Number(demo.id.replace(/\D/g, "")), unit: "item" },
  };
  const tone = { positive: ["good", "yes"], neutral: ["mixed", "mixed"], negative: ["poor", "no"] } as const;
  const [quality, recommendation] = tone[demo.sentiment];
  return {
    review,
    labels: {
      sentiment: { label: demo.sentiment, score: demo.score, source },
      rating: { stars: demo.rating, source },
      features: { items: demo.features, praised: demo.praised, criticized: demo.criticized, source },
      quality: { label: quality, evidence: null, source },
      recommendation: { label: recommendation, reason: demo.title, source },
      summary: { text: demo.title, source },
    },
  };
}

/**
 * Chat tasks per demo review in builtin:demo training. The analysis example states every field at
 * once, so it replaces repetition: three of the six chat tasks (in turn from the review id, so each
 * task gets half of the reviews) plus the analysis. With the demo preset's 40 reviews that is 160
 * examples of about 10% fewer characters in all than the five chat tasks per review it had before
 * (measured on seeds 42 and 7), so the demo trains no longer than it did.
 */
export const DEMO_CHAT_TASKS_PER_REVIEW = 3;
export const DEMO_EXAMPLES_PER_REVIEW = DEMO_CHAT_TASKS_PER_REVIEW + 1;

/** The chat tasks a demo review is trained on: DEMO_CHAT_TASKS_PER_REVIEW consecutive tasks, from an offset set by its id. */
export function demoChatTasks(reviewId: string): ReviewTask[] {
  const offset = hashText(`tasks:${reviewId}`) % REVIEW_TASKS.length;
  return Array.from({ length: DEMO_CHAT_TASKS_PER_REVIEW }, (_, index) => itemAt(REVIEW_TASKS, (offset + index) % REVIEW_TASKS.length));
}

/** builtin:demo: each review's chat examples and its analysis example, through augment.ts like any dataset. */
export function makeDemoExamples(reviewCount: number, seed: number): ReviewExample[] {
  return makeDemoReviews(reviewCount, seed).flatMap((demo) => {
    const { review, labels } = demoEntry(demo);
    return [...reviewExamples(review, labels, { tasks: demoChatTasks(demo.id) }), analysisExample(review, labels)];
  });
}

/** Held-out-phrasing questions about `count` reviews from another stream, for side-by-side demos and benchmarks. */
export function demoPrompts(seed: number, count = 3): string[] {
  return demoPromptTasks(seed, count).map((item) => item.prompt);
}

/** demoPrompts with each question's task, for checks that compare the labels two answers state (export's drift). */
export function demoPromptTasks(seed: number, count = 3): Array<{ prompt: string; task: ReviewTask }> {
  // A separate seed stream keeps demo reviews out of the training reviews for the same seed.
  const reviews = generateReviews(count, createRandom(hashText(`demo-prompts:${seed}`)));
  return reviews.map((demo, index) => {
    const task = itemAt(DEMO_PROMPT_TASK_ORDER, index % DEMO_PROMPT_TASK_ORDER.length);
    const { review, labels } = demoEntry(demo);
    const [example] = reviewExamples(review, labels, { heldOutPhrasings: true, tasks: [task] });
    return { prompt: example!.messages[0]!.content, task };
  });
}
