// The analysis evaluation against values computed by hand: every field of every system, the
// unparseable answer counted as wrong, the majority floor, the gold read from a built dataset.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { formatAnalysis, type EvalReport, type ReviewAnalysis } from "@reviewtune/contracts";
import { buildDataset } from "../data/builder/build-dataset.js";
import { compareReports } from "./compare.js";
import { comparisonLines } from "./report-markdown.js";
import { analysisReport, loadAnalysisItems, ruleBasedAnalyses, scoreAnalyses, type AnalysisItem, type AnalysisRun } from "./analysis-eval.js";

const close = (actual: number | null | undefined, expected: number, message?: string) => {
  assert.ok(actual !== null && actual !== undefined, message ?? "expected a number");
  assert.ok(Math.abs(actual - expected) < 1e-9, `${message ?? ""} expected ${expected}, got ${actual}`);
};

const item = (id: string, stars: number, sentiment: "negative" | "neutral" | "positive", aspects: string[]): AnalysisItem => ({
  id: `${id}:analysis`,
  group: id,
  messages: [{ role: "user", content: `review ${id}` }],
  gold: { sentiment, stars, quality: sentiment === "negative" ? "poor" : "good", recommendation: sentiment === "positive" ? "yes" : "no", aspects },
  sources: { sentiment: "rating", stars: "rating", quality: "analyzer", recommendation: "analyzer", aspects: "annotation" },
  review: { text: `text ${id}` },
});

const analysis = (stars: 1 | 2 | 3 | 4 | 5, sentiment: ReviewAnalysis["sentiment"], terms: string[]): ReviewAnalysis => ({
  stars,
  sentiment,
  score: 0,
  quality: sentiment === "negative" ? "poor" : "good",
  recommendation: sentiment === "positive" ? "yes" : "no",
  aspects: terms.map((term) => ({ term, polarity: "neutral" })),
  summary: "s",
});

describe("analysis evaluation", () => {
  const items = [item("a", 5, "positive", ["battery life"]), item("b", 1, "negative", ["strap", "screen"]), item("c", 3, "neutral", []), item("d", 4, "positive", [])];
  const run: AnalysisRun = {
    name: "tuned",
    description: "hand-made",
    // a: right; b: stars off by one, one of two aspects; c: unparseable; d: neutral for positive, stars off by 2, an extra aspect
    analyses: [analysis(5, "positive", ["Battery life"]), analysis(2, "negative", ["strap"]), null, analysis(2, "neutral", ["price"])],
    answers: ["{}", "{}", "Sentiment: neutral", "{}"],
    errors: [null, null, "not JSON", null],
  };

  it("scores every field by hand: sentiment, stars, quality, recommendation, aspects; unparseable counts as wrong", () => {
    const result = scoreAnalyses(items, run, { samples: 200 });
    assert.equal(result.n, 4);
    assert.equal(result.unparseable, 1);
    close(result.sentiment!.accuracy.value, 2 / 4);
    // positive: P 1/1, R 1/2 -> F1 2/3; negative: 1/1, 1/1 -> 1; neutral: predicted once (wrong), gold once (unparseable) -> 0
    close(result.sentiment!.macro_f1.value, (2 / 3 + 1 + 0) / 3);
    close(result.rating!.exact.value, 1 / 4);
    close(result.rating!.within_one.value, 2 / 4);
    assert.equal(result.rating!.unparseable, 1);
    // quality: a good, b poor, c (unparseable) wrong, d predicted good for gold good -> 3/4
    close(result.quality!.accuracy.value, 3 / 4);
    // aspects, micro over items: matched battery life + strap = 2; predicted 1 + 1 + 1 = 3 (c unparseable: nothing); gold 1 + 2 = 3
    close(result.aspects!.precision.value, 2 / 3);
    close(result.aspects!.recall.value, 2 / 3);
  });

  it("scores only the fields a classification head predicts", () => {
    const head: AnalysisRun = { name: "head", description: "rating head", fields: ["stars", "sentiment"], analyses: [{ stars: 5, sentiment: "positive" }, { stars: 1, sentiment: "negative" }, { stars: 4, sentiment: "positive" }, { stars: 4, sentiment: "positive" }] };
    const result = scoreAnalyses(items, head, { samples: 100 });
    close(result.sentiment!.accuracy.value, 3 / 4);
    close(result.rating!.mae.value, (0 + 0 + 1 + 0) / 4);
    assert.equal(result.quality, null);
    assert.equal(result.recommendation, null);
    assert.equal(result.aspects, null);
  });

  it("puts the majority floor, the baselines and the unparseable answers with their reasons into the report", () => {
    const report = analysisReport(items, [run, { name: "base", description: "b", analyses: [null, null, null, null], answers: ["", "", "", ""], errors: ["x", "x", "x", "x"] }], { samples: 100 });
    assert.deepEqual(report.majority.sentiment, { label: "positive", share: 0.5 });
    assert.equal(report.systems.length, 2);
    assert.equal(report.unparseable.length, 5);
    assert.deepEqual(report.unparseable[0], { system: "tuned", id: "c:analysis", answer: "Sentiment: neutral", error: "not JSON" });
    assert.equal(report.comparisons[0]!.metric, "analysis: sentiment accuracy");
    assert.equal(report.comparisons[0]!.only_a, 2);
    assert.deepEqual(report.gold_sources.aspects, ["annotation"]);
    // Every review's gold and each system's analysis, for error analysis.
    assert.deepEqual(report.rows!.map((row) => row.id), items.map((item) => item.id));
    assert.deepEqual(report.rows![0]!.gold, { ...items[0]!.gold });
    assert.deepEqual(report.rows![0]!.predicted, { tuned: run.analyses[0] ?? null, base: null });
    // Printed after the tables with its n, the analysis's pairs before the chat answers'.
    const chat = { ...report.comparisons[0]!, metric: "sentiment accuracy", n: 7 };
    const lines = comparisonLines({ analysis: report, comparisons: [chat] });
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /^tuned vs base, analysis: sentiment accuracy \(n=4\): [-\d.]+ \[[-\d.]+, [-\d.]+\] points, McNemar p=[\d.]+ \(2 only tuned right, 0 only base right\)$/);
    assert.match(lines[1]!, /^tuned vs base, sentiment accuracy of the chat answers \(n=7\): /);
  });

  it("pairs two reports' tuned analyses field by field (eval --compare)", () => {
    const better: AnalysisRun = { ...run, analyses: [analysis(5, "positive", []), analysis(1, "negative", []), analysis(3, "neutral", []), analysis(4, "positive", [])] };
    const report = (id: string, tuned: AnalysisRun) => ({ run: { id }, items: [], analysis: analysisReport(items, [tuned], { samples: 50 }) }) as unknown as EvalReport;
    const comparisons = compareReports(report("first", run), report("second", better), { samples: 50 });
    const sentiment = comparisons.find((comparison) => comparison.metric === "analysis: sentiment accuracy")!;
    // first: a and b right; second: all four right (c was unparseable, d neutral for positive)
    assert.deepEqual([sentiment.n, sentiment.only_a, sentiment.only_b], [4, 0, 2]);
    assert.deepEqual(sentiment.right_to_wrong.map((item) => [item.id, item.tuned, item.base]), [["c:analysis", "(unparseable)", "neutral"], ["d:analysis", "neutral", "positive"]]);
    const stars = comparisons.find((comparison) => comparison.metric === "analysis: stars exact")!;
    assert.deepEqual([stars.only_a, stars.only_b], [0, 3]);
    // A review whose gold differs between the two reports (a rebuilt split) is not paired.
    const relabelled = report("third", better);
    relabelled.analysis!.rows![0]!.gold = { ...relabelled.analysis!.rows![0]!.gold, sentiment: "negative" };
    const paired = compareReports(report("first", run), relabelled, { samples: 50 }).find((comparison) => comparison.metric === "analysis: sentiment accuracy")!;
    assert.equal(paired.n, 3);
  });

  it("reads the gold of a built dataset from its reviews (stars where the author gave them), and the analyzer sees no stars", async () => {
    const directory = mkdtempSync(join(tmpdir(), "analysis-eval-"));
    try {
      const rows = ["text,rating"];
      for (let index = 0; index < 40; index++) rows.push(`"Review ${index}: the strap ${index % 2 ? "broke after a week, terrible" : "is great and the battery lasts"}.",${index % 2 ? 1 : 5}`);
      writeFileSync(join(directory, "reviews.csv"), `${rows.join("\n")}\n`);
      await buildDataset({ inputs: [join(directory, "reviews.csv")], out: join(directory, "dataset"), test: 0.25 });
      const { items: loaded, training } = loadAnalysisItems(join(directory, "dataset"));
      assert.ok(loaded.length >= 5, `test reviews: ${loaded.length}`);
      assert.ok(training.length > 0);
      for (const entry of loaded) {
        assert.equal(entry.sources.stars, "rating");
        assert.equal(entry.gold.stars, entry.review.text.includes("broke") ? 1 : 5);
        assert.equal(entry.gold.sentiment, entry.gold.stars === 1 ? "negative" : "positive");
        assert.match(entry.messages.at(-1)!.content, /^Analyze this product review as JSON/);
      }
      const ruleBased = ruleBasedAnalyses(loaded);
      assert.equal(ruleBased.length, loaded.length);
      assert.ok(ruleBased.every((value) => value !== null && formatAnalysis(value).startsWith('{"stars":')));
      assert.equal(loadAnalysisItems(join(directory, "dataset"), { limit: 2 }).items.length, 2);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
