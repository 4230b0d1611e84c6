import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { ANALYSIS_JUMPS, ANALYSIS_SCORES, QUALITY_LABELS, RECOMMENDATION_LABELS, REVIEW_ANALYSIS_JSON_SCHEMA, ReviewAnalysisSchema, forcedContinuation, formatAnalysis, parseAnalysis, reviewAnalysisJsonSchema, reviewSpans, type ReviewAnalysis } from "./analysis.js";
import { SENTIMENT_CLASSES } from "./vocabulary.js";

const example: ReviewAnalysis = {
  stars: 2,
  sentiment: "negative",
  score: -0.5,
  quality: "poor",
  recommendation: "no",
  aspects: [{ term: "strap", polarity: "negative" }],
  summary: "The strap broke after a week.",
};

describe("ReviewAnalysis", () => {
  it("is written as compact JSON with the keys in the schema's order, and read back", () => {
    const text = formatAnalysis({ ...example, summary: example.summary, score: -0.5000001 });
    assert.equal(text, '{"stars":2,"sentiment":"negative","score":-0.5,"quality":"poor","recommendation":"no","aspects":[{"term":"strap","polarity":"negative"}],"summary":"The strap broke after a week."}');
    assert.deepEqual(Object.keys(JSON.parse(text)), REVIEW_ANALYSIS_JSON_SCHEMA.required);
    assert.deepEqual(parseAnalysis(text), { ok: true, analysis: example });
  });

  it("names what is wrong with an answer that is not an analysis", () => {
    assert.match((parseAnalysis("Sentiment: positive") as { error: string }).error, /^not JSON/);
    assert.equal((parseAnalysis(JSON.stringify({ ...example, stars: 6 })) as { error: string }).error.split(":")[0], "stars");
    assert.equal(parseAnalysis(JSON.stringify({ ...example, extra: 1 })).ok, false);
  });

  it("keeps an aspect term the answer repeats once, as first written", () => {
    const repeated = { ...example, aspects: [{ term: "lid", polarity: "positive" }, { term: "strap", polarity: "negative" }, { term: "Lid", polarity: "negative" }, { term: "lid", polarity: "positive" }] };
    const parsed = parseAnalysis(JSON.stringify(repeated));
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.analysis.aspects, [{ term: "lid", polarity: "positive" }, { term: "strap", polarity: "negative" }]);
  });

  it("admits through the JSON Schema only values the zod schema accepts", () => {
    const schema = REVIEW_ANALYSIS_JSON_SCHEMA.properties;
    assert.equal(ANALYSIS_SCORES.length, 21);
    assert.equal(JSON.stringify(ANALYSIS_SCORES.slice(8, 13)), "[-0.2,-0.1,0,0.1,0.2]");
    for (const stars of schema.stars.enum)
      for (const score of schema.score.enum)
        assert.ok(ReviewAnalysisSchema.safeParse({ ...example, stars, score }).success, `${stars} ${score}`);
    const longest = { term: "t".repeat(schema.aspects.items.properties.term.maxLength), polarity: "neutral" };
    const full = { ...example, aspects: Array(schema.aspects.maxItems).fill(longest), summary: "s".repeat(schema.summary.maxLength) };
    assert.ok(ReviewAnalysisSchema.safeParse(full).success);
    assert.equal(ReviewAnalysisSchema.safeParse({ ...full, aspects: [...full.aspects, longest] }).success, false);
  });
});

describe("a review's aspect terms", () => {
  it("are its phrases of up to four words that punctuation does not break, as written and in lower case", () => {
    const spans = reviewSpans('The Battery life, sadly, is short; the 17-inch screen (AT&T model) is "great"... C++ works.');
    for (const phrase of ["The Battery life", "the battery life", "Battery life", "battery", "sadly", "is short", "the 17-inch screen", "17-inch", "AT&T model", "AT&T", "great", "C++ works", "C++"])
      assert.ok(spans.includes(phrase), phrase);
    for (const phrase of ["life, sadly", "life sadly", "sadly is", "short the", "screen AT&T", "(AT&T", "model)", '"great"', "great...", "is short the 17-inch", "works."])
      assert.ok(!spans.includes(phrase), phrase);
    assert.ok(spans.every((span) => span.length <= REVIEW_ANALYSIS_JSON_SCHEMA.properties.aspects.items.properties.term.maxLength && span.split(" ").length <= 4));
    assert.deepEqual(reviewSpans(' ... "" \\ '), []);
  });

  it("are the only terms a review's analysis schema admits; everything else is the shared schema", () => {
    const schema = reviewAnalysisJsonSchema("Great keyboard.") as typeof REVIEW_ANALYSIS_JSON_SCHEMA & { properties: { aspects: { items: { properties: { term: { enum: string[] } } } } } };
    assert.deepEqual(new Set(schema.properties.aspects.items.properties.term.enum), new Set(["Great", "great", "Great keyboard", "great keyboard", "keyboard"]));
    assert.deepEqual({ ...schema.properties, aspects: undefined }, { ...REVIEW_ANALYSIS_JSON_SCHEMA.properties, aspects: undefined });
    assert.deepEqual(schema.required, REVIEW_ANALYSIS_JSON_SCHEMA.required);
    // No phrase at all: no aspects.
    assert.equal((reviewAnalysisJsonSchema("!!!").properties as { aspects: { maxItems: number } }).aspects.maxItems, 0);
  });
});

describe("ANALYSIS_JUMPS", () => {
  const rules = ANALYSIS_JUMPS.map((rule) => ({ after: new RegExp(rule.after), text: rule.text }));
  const kind = (char: string) => (/\p{L}/u.test(char) ? "letter" : /\p{N}/u.test(char) ? "digit" : /\s/.test(char) ? "space" : "other");
  const analyses: ReviewAnalysis[] = [];
  for (const [index, score] of ANALYSIS_SCORES.entries())
    analyses.push({
      stars: (1 + (index % 5)) as ReviewAnalysis["stars"],
      sentiment: SENTIMENT_CLASSES[index % 3]!,
      score,
      quality: QUALITY_LABELS[index % 3]!,
      recommendation: RECOMMENDATION_LABELS[(index + 1) % 3]!,
      aspects: Array.from({ length: index % 4 }, (_, at) => ({ term: ['battery life', 'the "sales" team', "lid", 'a \\ b'][at]!, polarity: SENTIMENT_CLASSES[(index + at) % 3]! })),
      summary: index % 2 ? "Works, mostly." : 'Says "fine", then returns it.',
    });

  it("only ever continue a compact analysis with what it says next, cut where the tokenizer cuts", () => {
    let forced = 0;
    let total = 0;
    for (const analysis of analyses) {
      const text = formatAnalysis(analysis);
      total += text.length;
      for (let at = 0; at < text.length; ) {
        const next = forcedContinuation(rules, text.slice(0, at));
        if (!next) {
          at += 1;
          continue;
        }
        assert.equal(text.slice(at, at + next.length), next, `after ${JSON.stringify(text.slice(0, at))}`);
        assert.notEqual(kind(text[at - 1]!), kind(next[0]!), `a cut inside a pre-token before ${JSON.stringify(next)}`);
        const following = text[at + next.length];
        if (following !== undefined) assert.notEqual(kind(next.at(-1)!), kind(following), `a cut inside a pre-token after ${JSON.stringify(next)}`);
        forced += next.length;
        at += next.length;
      }
    }
    // The keys and most of their quotes: about half of an analysis without long summaries.
    assert.ok(forced / total > 0.4, `${forced} of ${total} characters forced`);
  });

  it("continue after a token that holds the start of the next key", () => {
    assert.equal(forcedContinuation(rules, '{"stars":4'), ',"sentiment":"');
    assert.equal(forcedContinuation(rules, '{"stars":4,"'), 'sentiment":"');
    assert.equal(forcedContinuation(rules, '{"stars":4,"sentiment":"neutral","'), "score");
    assert.equal(forcedContinuation(rules, '{"stars":4,"sentiment":"neutral","score":0'), "", "0 may go on as 0.5");
    assert.equal(forcedContinuation(rules, '{"stars":4,"sentiment":"neutral","score":0,"'), 'quality":"');
    assert.equal(forcedContinuation(rules, '{"stars":4,"sentiment":"neutral","score":0.3,"quality":"good","recommendation":"yes","aspects":[{"term":"lid'), "");
  });
});

describe("the engine's copy of REVIEW_ANALYSIS_JSON_SCHEMA", () => {
  it("equals the contract (engine/tests/fixtures/review-analysis.schema.json: Python cannot import this module)", () => {
    const file = new URL("../../../engine/tests/fixtures/review-analysis.schema.json", import.meta.url);
    const copy: unknown = JSON.parse(readFileSync(file, "utf8"));
    assert.deepEqual(
      copy,
      REVIEW_ANALYSIS_JSON_SCHEMA,
      `${file.pathname} has drifted: regenerate it with node -e 'import("./packages/contracts/dist/analysis.js").then(m=>console.log(JSON.stringify(m.REVIEW_ANALYSIS_JSON_SCHEMA, null, 2)))' > engine/tests/fixtures/review-analysis.schema.json`,
    );
  });
});
