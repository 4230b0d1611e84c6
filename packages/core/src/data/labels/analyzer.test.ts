import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import type winkNLP from "wink-nlp";
import { makeDemoReviews } from "../demo-reviews.js";
import { ASPECT_PATTERNS, NEUTRAL_BAND, TEXT_BIAS, analyzeReview, calibratedScore, displayedScore, aspectSpans, createWinkInstance, labelFromScore, starsFromScore, winkModel } from "./analyzer.js";

describe("analyzeReview (rule-based)", () => {
  it("takes sentiment and stars from the rating when there is one, and says so", () => {
    const labels = analyzeReview({ text: "It arrived on time.", rating: 2 });
    assert.deepEqual(labels.sentiment, { label: "negative", score: -0.5, source: "rating" });
    assert.deepEqual(labels.rating, { stars: 2, source: "rating" });
    assert.equal(analyzeReview({ text: "Fine.", rating: 3 }).sentiment.label, "neutral");
    assert.equal(analyzeReview({ text: "Fine.", rating: 5 }).sentiment.score, 1);
  });

  it("reads sentiment from the text when there is no rating", () => {
    const bad = analyzeReview({ text: "Terrible. It broke after two days and the customer service was awful." });
    assert.equal(bad.sentiment.label, "negative");
    assert.equal(bad.sentiment.source, "analyzer");
    assert.ok(bad.rating.stars <= 2);
    const good = analyzeReview({ text: "I love this blender, it is excellent and works perfectly." });
    assert.equal(good.sentiment.label, "positive");
    assert.ok(good.rating.stars >= 4);
  });

  it("finds features (category phrases, lemmatized nouns) and which are praised or criticized", () => {
    const labels = analyzeReview({
      text: "The battery life is amazing. The straps broke and the charger is useless.",
      category: "Electronics",
    });
    assert.ok(labels.features.items.includes("battery life"), labels.features.items.join(", "));
    assert.ok(labels.features.items.includes("strap"), labels.features.items.join(", "));
    assert.ok(!labels.features.items.includes("battery"), "the lexicon phrase replaces its head noun");
    assert.ok(labels.features.praised.includes("battery life"));
    assert.ok(labels.features.criticized.includes("charger"));
  });

  it("judges quality from quality sentences, with the sentence as evidence", () => {
    const labels = analyzeReview({ text: "Nice color. Sadly it is flimsy and broke within a week.", rating: 3 });
    assert.equal(labels.quality.label, "poor");
    assert.match(labels.quality.evidence ?? "", /flimsy/);
    const none = analyzeReview({ text: "Arrived quickly, does the job.", rating: 5 });
    assert.deepEqual([none.quality.label, none.quality.evidence], ["good", null]);
  });

  it("recommends from explicit cues first, then from sentiment", () => {
    assert.equal(analyzeReview({ text: "Looks nice but I returned it.", rating: 3 }).recommendation.label, "no");
    const yes = analyzeReview({ text: "Great value. Highly recommend it to anyone.", rating: 4 });
    assert.deepEqual([yes.recommendation.label, yes.recommendation.reason], ["yes", "Highly recommend it to anyone."]);
    assert.equal(analyzeReview({ text: "It works.", rating: 3 }).recommendation.label, "mixed");
  });

  it("summarizes with the most opinionated sentence", () => {
    const labels = analyzeReview({ text: "I bought it in May. The sound is absolutely terrible. It came in a box." });
    assert.equal(labels.summary.text, "The sound is absolutely terrible.");
  });

  it("maps text scores onto labels and stars at documented boundaries", () => {
    assert.equal(labelFromScore(NEUTRAL_BAND), "neutral");
    assert.equal(labelFromScore(NEUTRAL_BAND + 0.01), "positive");
    assert.equal(labelFromScore(-NEUTRAL_BAND - 0.01), "negative");
    assert.deepEqual([-1, -0.6, -0.3, 0, 0.3, 0.6, 1].map(starsFromScore), [1, 1, 2, 3, 4, 5, 5]);
  });

  it("prints a text score that agrees with its label (none inside the neutral band unless neutral)", () => {
    // No sentiment words: wink scores 0, the calibration -TEXT_BIAS (-0.125), which one decimal
    // printed as -0.1 beside the label negative.
    assert.equal(calibratedScore(0, "It has a 15 inch screen."), -TEXT_BIAS);
    assert.deepEqual([displayedScore(-0.125), displayedScore(0.12), displayedScore(0.1), displayedScore(-0.46)], [-0.2, 0.2, 0.1, -0.5]);
    const texts = ["It has a 15 inch screen.", "I bought it in May.", "The screen is bright.", "Works great, love it.", "It stopped working after a week."];
    for (const text of texts) {
      const { sentiment } = analyzeReview({ text });
      assert.equal(labelFromScore(sentiment.score), sentiment.label, `${text}: ${sentiment.label} with score ${sentiment.score}`);
    }
  });
});

describe("createWinkInstance", () => {
  it("makes as many fresh instances as a long build needs, with the same tags and aspects", () => {
    // A build replaces its instance every REVIEWS_PER_WINK_INSTANCE reviews; wink's model module
    // grew its custom-entity model on every load and failed at the 21st.
    const text = "The battery life is great but the cheap plastic handle broke.";
    const first = createWinkInstance();
    const tags = first.readDoc(text).tokens().out(first.its.pos);
    let last = first;
    for (let count = 2; count <= 30; count++) last = createWinkInstance();
    assert.deepEqual(last.readDoc(text).tokens().out(last.its.pos), tags);
    assert.deepEqual(aspectSpans(tags), [[1, 4], [7, 8]]); // battery life is great; cheap plastic
  });
});

describe("aspectSpans", () => {
  it("finds where wink's custom-entity pass finds the aspect patterns, on reviews and on edge cases", () => {
    // The reference: wink matching the same patterns itself, as the analyzer had it learn them
    // before aspectSpans replaced its custom-entity pass.
    const require = createRequire(import.meta.url);
    const reference = (require("wink-nlp") as typeof winkNLP)(winkModel(), ["sbd", "negation", "sentiment", "pos", "cer"]);
    const patterns = ASPECT_PATTERNS.map((pattern) => pattern.map((tag) => `[${tag}]`).join(" "));
    reference.learnCustomEntities([
      { name: "aspect", patterns: patterns.filter((pattern) => pattern.startsWith("[ADJ]")) },
      { name: "aspect", patterns: patterns.filter((pattern) => pattern.includes("[AUX]")) },
      { name: "aspect", patterns: ["[NOUN] [VERB]"] },
    ]);
    assert.equal(patterns.length, 9);
    const texts = [
      ...makeDemoReviews(1500, 5).map((review) => review.text),
      // prefixes of longer patterns, back to back, across sentences and line breaks
      "Great sound quality. The battery life is very good and the sound quality is not bad",
      "cheap plastic handle broke, the strap strap is really flimsy",
      "Nice big screen\nsharp display\n\nthe fit is\ngood",
      "The screen is great\nThe case cracked. Cheap",
      "",
      "battery",
    ];
    let found = 0;
    for (const text of texts) {
      const doc = reference.readDoc(text);
      const expected = doc.customEntities().out(reference.its.span);
      assert.deepEqual(aspectSpans(doc.tokens().out(reference.its.pos)), expected, text);
      found += expected.length;
    }
    assert.ok(found > 1500, `only ${found} aspect spans in the test texts`);
  });
});
