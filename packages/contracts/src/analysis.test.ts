import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { ANALYSIS_SCORES, REVIEW_ANALYSIS_JSON_SCHEMA, ReviewAnalysisSchema, formatAnalysis, parseAnalysis, type ReviewAnalysis } from "./analysis.js";

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
