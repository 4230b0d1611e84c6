import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { exactMatch, keywordRecall, lcsLength, normalizeAnswer, rougeL, rougeTokens, textMetrics, tokenF1, yesNo } from "./text-metrics.js";

const close = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: ${actual} != ${expected}`);

describe("ROUGE-L", () => {
  it("matches Google's rouge-score on known pairs (values computed with rouge_score 0.1.2, rougeL, no stemmer)", () => {
    // [reference, prediction, precision, recall, F1]
    const cases: Array<[string, string, number, number, number]> = [
      ["the cat sat on the mat", "the cat is on the mat", 5 / 6, 5 / 6, 5 / 6],
      // cotton round neck t shirt in navy blue (8) vs a navy blue cotton t shirt with a round neck (10): LCS "cotton t shirt"
      ["Cotton round-neck T-shirt in navy blue", "A navy blue cotton T-shirt with a round neck", 0.3, 0.375, 1 / 3],
      ["police killed the gunman", "the gunman police killed", 0.5, 0.5, 0.5],
      ["", "anything", 0, 0, 0],
      ["Yes, it fits a 10-inch pan.", "yes it fits 10 inch pans", 5 / 6, 5 / 7, 10 / 13],
    ];
    for (const [reference, prediction, precision, recall, f1] of cases) {
      const score = rougeL(prediction, reference);
      close(score.precision, precision, `${prediction} precision`);
      close(score.recall, recall, `${prediction} recall`);
      close(score.f1, f1, `${prediction} F1`);
    }
  });

  it("tokenizes as rouge-score does and finds the longest common subsequence", () => {
    assert.deepEqual(rougeTokens("Navy-Blue COTTON t-shirt, 100% (size M)!"), ["navy", "blue", "cotton", "t", "shirt", "100", "size", "m"]);
    assert.equal(lcsLength(["a", "b", "c", "b", "d", "a", "b"], ["b", "d", "c", "a", "b", "a"]), 4);
    assert.equal(lcsLength([], ["a"]), 0);
  });
});

describe("SQuAD exact match and token F1", () => {
  it("normalizes case, punctuation, articles and spaces", () => {
    assert.equal(normalizeAnswer("  The  Battery, lasts AN hour!  "), "battery lasts hour");
    assert.equal(exactMatch("The battery.", "battery"), 1);
    assert.equal(exactMatch("battery life", "battery"), 0);
  });

  it("scores the bag of tokens: hand-computed values", () => {
    // "it fits 10 inch pans" vs "yes it fits 10inch pan": common it, fits -> P 2/5, R 2/5
    close(tokenF1("it fits 10 inch pans", "yes it fits 10-inch pan"), 0.4, "partial");
    // repeated tokens count once each: "good good good" vs "good": P 1/3, R 1 -> F1 0.5
    close(tokenF1("good good good", "good"), 0.5, "repeats");
    assert.equal(tokenF1("", ""), 1);
    assert.equal(tokenF1("the", "a"), 1, "articles only: both empty after normalization");
    assert.equal(tokenF1("something", ""), 0);
    assert.equal(tokenF1("red", "blue"), 0);
  });
});

describe("keyword recall and yes/no", () => {
  it("counts whole keyword phrases in the answer", () => {
    assert.equal(keywordRecall("The battery life is great and it fits well.", ["battery life", "fit", "price"]), 1 / 3);
    assert.equal(keywordRecall("anything", []), null);
    assert.equal(keywordRecall("It is a non-stick pan", ["nonstick"]), 1, "punctuation inside a word is removed on both sides");
  });

  it("reads the first word of an answer", () => {
    assert.deepEqual(["Yes, it does.", "No - too small", "Nope", "It depends", "", "Not really"].map(yesNo), ["yes", "no", "no", undefined, undefined, "no"]);
  });

  it("gathers every metric with intervals and leaves out what has no gold", () => {
    const metrics = textMetrics([
      { prediction: "Yes, it fits.", reference: "Yes it fits", keywords: ["fits"] },
      { prediction: "No.", reference: "Yes, with an adapter." },
      { prediction: "A blue cotton shirt", reference: "A navy blue cotton shirt" },
    ], { samples: 200 });
    assert.equal(metrics.n, 3);
    close(metrics.exact_match.value!, 1 / 3, "exact match");
    assert.equal(metrics.keyword_recall?.value, 1);
    assert.equal(metrics.keyword_recall?.n, 1);
    assert.equal(metrics.yes_no_accuracy?.value, 0.5);
    assert.equal(metrics.yes_no_accuracy?.n, 2);
    assert.ok(metrics.rouge_l.low! <= metrics.rouge_l.value! && metrics.rouge_l.value! <= metrics.rouge_l.high!);
    assert.equal(textMetrics([{ prediction: "x", reference: "Maybe" }]).yes_no_accuracy, null);
    assert.equal(metrics.unsupported_attributes, null, "no titles: no attribute check");
    assert.equal(metrics.invented_attributes, null);
  });

  it("counts answers naming an attribute the title lacks (unsupported) and those the reference lacks too (invented)", () => {
    const title = "Title: Roadster Men Blue Denim Jacket";
    const metrics = textMetrics([
      // grey: not in the title, but the reference says it (a true detail): unsupported, not invented.
      { title, prediction: "Blue denim jacket with grey lining", reference: "Blue denim jacket, has a grey lining" },
      // red: in neither.
      { title, prediction: "Red denim jacket", reference: "Blue denim jacket, has a grey lining" },
      { title, prediction: "Blue jacket for men", reference: "Blue denim jacket" },
      { title, prediction: "A jacket", reference: "Blue denim jacket" },
    ], { samples: 200 });
    assert.equal(metrics.unsupported_attributes?.value, 0.5);
    assert.equal(metrics.invented_attributes?.value, 0.25);
    assert.equal(metrics.invented_attributes?.n, 4);
  });
});
