import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { analyzeReview } from "./analyzer.js";
import { mergeTeacherLabels, orderedMap, parseTeacherAnswer } from "./teacher.js";

describe("teacher labels", () => {
  it("finds the JSON object in an answer with fences and chatter, and keeps only valid fields", () => {
    const answer = parseTeacherAnswer(
      'Sure! Here are the labels:\n```json\n{"sentiment": "negative", "score": -0.7, "stars": 7, "features": ["Strap", "battery life"],' +
        ' "criticized": ["strap"], "quality": "awful", "recommendation": "no", "reason": "The strap broke.", "summary": "Broke fast."}\n```\nHope it helps {:',
    );
    assert.deepEqual(answer, {
      sentiment: "negative",
      score: -0.7,
      features: ["Strap", "battery life"],
      criticized: ["strap"],
      recommendation: "no",
      reason: "The strap broke.",
      summary: "Broke fast.",
    }); // stars 7 and quality "awful" are out of range: dropped, not fatal
  });

  it("returns nothing for answers without a usable object", () => {
    for (const text of ["", "positive", "{not json}", '{"unrelated": 1}', "[1, 2]", '{"sentiment": "great"}']) {
      assert.equal(parseTeacherAnswer(text), undefined, text);
    }
  });

  it("lays the teacher's fields over the analyzer's, marks them, and never overrides a star rating", () => {
    const review = { text: "The strap broke after a week. The screen is bright though.", category: "electronics" };
    const base = analyzeReview(review);
    const merged = mergeTeacherLabels(base, { sentiment: "negative", score: -0.62, stars: 2, features: [" Strap ", "screen", "strap"], praised: ["screen", "price"], criticized: ["STRAP"], summary: "Strap broke." });
    assert.deepEqual(merged.sentiment, { label: "negative", score: -0.6, source: "teacher" });
    assert.deepEqual(merged.rating, { stars: 2, source: "teacher" });
    assert.deepEqual(merged.features, { items: ["strap", "screen"], praised: ["screen"], criticized: ["strap"], source: "teacher" });
    assert.deepEqual(merged.summary, { text: "Strap broke.", source: "teacher" });
    assert.deepEqual(merged.quality, base.quality, "fields the teacher left out keep the analyzer's label and source");
    assert.equal(merged.recommendation.source, base.recommendation.source, "a recommendation without a reason is not used");

    const rated = analyzeReview({ ...review, rating: 4 });
    const kept = mergeTeacherLabels(rated, { sentiment: "negative", stars: 1 });
    assert.deepEqual([kept.sentiment, kept.rating], [rated.sentiment, rated.rating]);
  });

  it("maps with bounded concurrency and keeps the input order", async () => {
    let inFlight = 0;
    let most = 0;
    async function* numbers() {
      for (let index = 0; index < 20; index += 1) yield index;
    }
    const results: number[] = [];
    for await (const value of orderedMap(numbers(), 3, async (index) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, (index * 7) % 5));
      inFlight -= 1;
      return index * 10;
    })) {
      results.push(value);
    }
    assert.deepEqual(results, Array.from({ length: 20 }, (_, index) => index * 10));
    assert.equal(most, 3);
  });
});
