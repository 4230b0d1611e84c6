// Every metric against values computed by hand, with the edge cases: empty gold, one class only,
// ties, and unparseable answers counting as wrong.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { calibration, classificationMetrics, featureCounts, featureMetrics, majorityFloor, normalizeFeature, oneVsRestAuc, ratingMetrics, rocAuc } from "./metrics.js";
import { parseAnswer } from "./parse-answer.js";
import { completeness, domainSpecificity } from "./response-quality.js";
import { computeSlices, type SliceInput } from "./slices.js";
import { bootstrap, mcnemarExact, meanEstimate } from "./statistics.js";
import { compareCorrectness } from "./compare.js";
import { EvalTargetsSchema } from "@reviewtune/contracts";

const close = (actual: number | null, expected: number, message?: string) => {
  assert.ok(actual !== null, message ?? "expected a number, got null");
  assert.ok(Math.abs(actual - expected) < 1e-9, `${message ?? ""} expected ${expected}, got ${actual}`);
};
const LABELS = ["negative", "neutral", "positive"];

describe("classification metrics", () => {
  it("accuracy, macro and per-class figures, confusion matrix; an unparseable answer (null) is wrong", () => {
    const gold = ["positive", "positive", "negative", "neutral", "negative"];
    const predicted = ["positive", "negative", "negative", null, "negative"];
    const metrics = classificationMetrics(gold, predicted, LABELS, { samples: 200 });
    close(metrics.accuracy.value, 3 / 5);
    close(metrics.per_class.positive!.precision.value, 1);
    close(metrics.per_class.positive!.recall.value, 0.5);
    close(metrics.per_class.positive!.f1.value, 2 / 3);
    close(metrics.per_class.negative!.precision.value, 2 / 3);
    close(metrics.per_class.negative!.f1.value, 0.8);
    close(metrics.per_class.neutral!.precision.value, 0, "never predicted: precision 0");
    close(metrics.macro_precision.value, (1 + 2 / 3 + 0) / 3);
    close(metrics.macro_recall.value, (0.5 + 1 + 0) / 3);
    close(metrics.macro_f1.value, (2 / 3 + 0.8 + 0) / 3);
    assert.deepEqual(metrics.confusion.labels, [...LABELS, "(unparseable)"]);
    assert.deepEqual(metrics.confusion.matrix, [
      [2, 0, 0, 0],
      [0, 0, 0, 1],
      [1, 0, 1, 0],
    ]);
    assert.equal(metrics.unparseable, 1);
    assert.ok(metrics.accuracy.low! <= 0.6 && metrics.accuracy.high! >= 0.6);
  });

  it("one class only: macro figures over the classes present in the gold labels", () => {
    const metrics = classificationMetrics(["positive", "positive", "positive"], ["positive", "negative", "positive"], LABELS, { samples: 100 });
    close(metrics.accuracy.value, 2 / 3);
    close(metrics.macro_precision.value, 1);
    close(metrics.macro_recall.value, 2 / 3);
    close(metrics.macro_f1.value, 0.8);
    close(metrics.per_class.negative!.precision.value, 0);
    assert.equal(metrics.per_class.negative!.recall.value, null, "no gold negatives: recall undefined");
    assert.equal(metrics.per_class.neutral!.precision.value, null, "neither gold nor predicted");
  });

  it("empty gold: nothing to measure, no made-up zero", () => {
    const metrics = classificationMetrics([], [], LABELS);
    assert.deepEqual(metrics.accuracy, { value: null, low: null, high: null, n: 0 });
    assert.equal(metrics.macro_f1.value, null);
  });
});

describe("rating metrics", () => {
  it("MAE, RMSE, exact, within one; unparseable = the largest error for its gold value and never right", () => {
    const metrics = ratingMetrics([5, 1, 3, 4], [4, 1, null, 2], { samples: 100 });
    close(metrics.mae.value, (1 + 0 + 2 + 2) / 4);
    close(metrics.rmse.value, Math.sqrt((1 + 0 + 4 + 4) / 4));
    close(metrics.exact.value, 1 / 4);
    close(metrics.within_one.value, 2 / 4);
    assert.equal(metrics.unparseable, 1);
  });
});

describe("feature metrics", () => {
  it("normalizes case, articles, plurals and synonyms", () => {
    assert.equal(normalizeFeature("The Batteries"), "battery life");
    assert.equal(normalizeFeature("screens"), "screen");
    assert.equal(normalizeFeature("Sound"), "sound quality");
    assert.equal(normalizeFeature("battery life"), "battery life");
    assert.deepEqual(featureCounts(["Battery life", "battery life"], ["battery"]), { matched: 1, predicted: 1, gold: 1 });
  });

  it("micro precision / recall / F1 over items", () => {
    const metrics = featureMetrics([["battery life", "Screen"], []], [["the batteries", "screens", "price"], ["design"]], { samples: 100 });
    close(metrics.precision.value, 2 / 4);
    close(metrics.recall.value, 2 / 2);
    close(metrics.f1.value, 2 / 3);
  });

  it("empty gold and empty predictions give null ratios, not 0 or 1; unparseable predicts nothing", () => {
    const empty = featureMetrics([[]], [[]]);
    assert.equal(empty.precision.value, null);
    assert.equal(empty.recall.value, null);
    assert.equal(empty.f1.value, null);
    const extra = featureMetrics([[]], [["fit"]]);
    close(extra.precision.value, 0);
    assert.equal(extra.recall.value, null);
    const unparseable = featureMetrics([["fit"]], [null]);
    close(unparseable.recall.value, 0);
    close(unparseable.f1.value, 0, "nothing named against gold features scores 0, not n/a");
    close(extra.f1.value, 0);
    assert.equal(unparseable.unparseable, 1);
  });
});

describe("AUC and calibration", () => {
  it("rocAuc: the scikit-learn example, ties at half credit, undefined with one outcome", () => {
    close(rocAuc([0.1, 0.4, 0.35, 0.8], [false, false, true, true]), 0.75);
    close(rocAuc([0.2, 0.5, 0.5, 0.9], [false, true, false, true]), 3.5 / 4);
    close(rocAuc([0.5, 0.5, 0.5, 0.5], [true, false, true, false]), 0.5);
    assert.equal(rocAuc([0.1, 0.2], [true, true]), null);
  });

  it("one-vs-rest macro AUC skips classes without both outcomes", () => {
    const gold = ["positive", "negative", "positive", "negative"];
    const probabilities = [
      { positive: 0.9, negative: 0.05, neutral: 0.05 },
      { positive: 0.2, negative: 0.7, neutral: 0.1 },
      { positive: 0.6, negative: 0.3, neutral: 0.1 },
      { positive: 0.7, negative: 0.2, neutral: 0.1 },
    ];
    const auc = oneVsRestAuc(gold, probabilities, LABELS, { samples: 100 });
    close(auc.per_class.positive!, 0.75);
    close(auc.per_class.negative!, 0.75);
    assert.equal(auc.per_class.neutral, null);
    close(auc.macro.value, 0.75);
  });

  it("calibration bins and expected calibration error", () => {
    const result = calibration(["positive", "negative"], [{ positive: 0.95, negative: 0.05 }, { positive: 0.65, negative: 0.35 }]);
    assert.equal(result.bins[9]!.count, 1);
    assert.equal(result.bins[6]!.accuracy, 0);
    close(result.ece, (Math.abs(1 - 0.95) + Math.abs(0 - 0.65)) / 2);
  });
});

describe("statistics", () => {
  it("the bootstrap is seeded, brackets the value, and a constant has a zero-width interval", () => {
    const values = [1, 0, 1, 1, 0, 1, 0, 1, 1, 1];
    assert.deepEqual(meanEstimate(values, { seed: 3 }), meanEstimate(values, { seed: 3 }));
    const estimate = meanEstimate(values);
    close(estimate.value, 0.7);
    assert.ok(estimate.low! < 0.7 && estimate.high! > 0.7 && estimate.low! >= 0 && estimate.high! <= 1);
    const constant = bootstrap(5, () => 0.4);
    assert.deepEqual([constant.low, constant.high], [0.4, 0.4]);
  });

  it("exact McNemar p-values", () => {
    close(mcnemarExact(0, 5), 2 / 32);
    close(mcnemarExact(1, 1), 1);
    close(mcnemarExact(0, 0), 1);
    close(mcnemarExact(2, 8), (2 * (1 + 10 + 45)) / 1024);
  });

  it("paired comparison lists the flipped items", () => {
    const item = (id: string, a: boolean, b: boolean) => ({ id, task: "sentiment", gold: "positive", a: { correct: a, answer: `a${id}` }, b: { correct: b, answer: `b${id}` } });
    const comparison = compareCorrectness({ a: "tuned", b: "base", metric: "accuracy", items: [item("1", true, false), item("2", true, true), item("3", false, true), item("4", true, false)] });
    close(comparison.difference.value, (1 + 0 - 1 + 1) / 4);
    assert.deepEqual([comparison.only_a, comparison.only_b], [2, 1]);
    assert.deepEqual(comparison.wrong_to_right.map((flip) => flip.id), ["1", "4"]);
    assert.deepEqual(comparison.right_to_wrong.map((flip) => flip.tuned), ["a3"]);
  });
});

describe("answers", () => {
  it("reads the contract strictly and other phrasings tolerantly; an unreadable answer counts wrong", () => {
    assert.deepEqual(parseAnswer("sentiment", "Sentiment: positive (0.8). Rating: 5/5 stars. The reviewer praises the fit."), { strict: true, sentiment: "positive", stars: 5 });
    const loose = parseAnswer("sentiment", "The sentiment of this review is Negative, about 2 out of 5 stars.");
    assert.equal(loose.strict, false);
    assert.equal(loose.sentiment, "negative");
    assert.equal(loose.stars, 2);
    assert.deepEqual(parseAnswer("features", "Features:\n- Battery life\n- Screen").features, ["Battery life", "Screen"]);
    assert.deepEqual(parseAnswer("features", "Features: none.").features, []);
    const garbage = parseAnswer("sentiment", "I am a helpful assistant.");
    assert.equal(garbage.sentiment, undefined);
    const metrics = classificationMetrics(["positive"], [garbage.sentiment ?? null], LABELS);
    close(metrics.accuracy.value, 0);
    assert.equal(metrics.unparseable, 1);
  });
});

describe("response quality", () => {
  it("completeness counts the task's required elements", () => {
    assert.equal(completeness("sentiment", "Sentiment: positive (0.8). Rating: 5/5 stars. The reviewer praises the fit."), 1);
    assert.equal(completeness("sentiment", "It is positive."), 1 / 4);
    assert.equal(completeness("rating", ""), 0);
  });

  it("domain specificity is the share of content words that are domain or product terms", () => {
    // content words: review(domain) positive(domain) blender(product) great(no) -> 3/4
    assert.equal(domainSpecificity("This review is positive: the blender is great", ["blender"]), 3 / 4);
    assert.equal(domainSpecificity("", []), 0);
  });
});

describe("slices", () => {
  const targets = EvalTargetsSchema.parse({ min_slice: 3 });
  const input = (category: string, gold: string, correct: boolean, tokens = 20, tags: string[] = [], baselineCorrect = false): SliceInput => ({ category, gold, correct, tokens, tags, baselineCorrect });

  it("judges categories by relative drop, classes by points, and marks small slices too small", () => {
    const inputs = [
      input("home", "positive", true), input("home", "negative", true), input("home", "positive", true), input("home", "negative", true),
      input("toy", "positive", true), input("toy", "negative", false), input("toy", "positive", true), input("toy", "negative", true),
      input("auto", "positive", true),
    ];
    const { slices, checks } = computeSlices(inputs, targets, { samples: 50 });
    const category = checks.find((check) => check.dimension === "category")!;
    close(category.value, 0.25); // home 100%, toy 75%
    assert.equal(category.status, "fail");
    assert.match(category.detail, /too small to judge: auto \(1\)/);
    const classes = checks.find((check) => check.dimension === "sentiment_class")!;
    close(classes.value, (5 / 5 - 3 / 4) * 100);
    assert.equal(checks.find((check) => check.dimension === "length")!.status, "too_small", "one bucket only");
    assert.equal(slices.filter((entry) => entry.dimension === "category").length, 3);
  });

  it("edge-case tags pass only above the random baseline and with enough items", () => {
    const sarcasm = [input("home", "negative", true, 20, ["sarcasm"], false), input("home", "negative", true, 20, ["sarcasm"], true), input("home", "negative", false, 20, ["sarcasm"], false)];
    const { checks } = computeSlices([...sarcasm, input("home", "positive", true, 20, ["mixed"])], targets, { samples: 50 });
    const check = checks.find((entry) => entry.dimension === "tag:sarcasm")!;
    assert.equal(check.status, "pass");
    close(check.value, 2 / 3);
    close(check.target, 1 / 3);
    assert.equal(checks.find((entry) => entry.dimension === "tag:mixed")!.status, "too_small");
  });
});

describe("majorityFloor", () => {
  it("is the share of the most frequent gold label: what always answering it scores", () => {
    const gold = [...Array(8).fill("positive"), "negative", "neutral"];
    assert.deepEqual(majorityFloor(gold), { label: "positive", share: 0.8 });
    // The floor equals the accuracy of a model that collapsed onto that label.
    const collapsed = classificationMetrics(gold, gold.map(() => "positive"), ["negative", "neutral", "positive"], { samples: 10 });
    close(collapsed.accuracy.value, majorityFloor(gold)!.share);
    assert.deepEqual(majorityFloor([5, 4, 5, 1]), { label: 5, share: 0.5 });
  });

  it("breaks ties by the label that sorts first, and is null without gold", () => {
    assert.deepEqual(majorityFloor(["positive", "negative", "negative", "positive"]), { label: "negative", share: 0.5 });
    assert.equal(majorityFloor([]), null);
  });
});
