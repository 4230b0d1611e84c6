import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { benchPrompts, formatServeBench, parseBenchTarget, nearestRankPercentile, type ServeBenchResult } from "./serve-bench.js";

describe("bench serve helpers", () => {
  it("targets are labelled URLs on this machine only", () => {
    assert.deepEqual(parseBenchTarget("torch=http://127.0.0.1:8000"), { label: "torch", url: "http://127.0.0.1:8000" });
    assert.deepEqual(parseBenchTarget("http://localhost:9000/v1"), { label: "localhost:9000", url: "http://localhost:9000" });
    assert.throws(() => parseBenchTarget("http://example.com:8000"), /only targets this machine/);
    assert.throws(() => parseBenchTarget("x=not a url"), /is not a URL/);
  });

  it("percentiles by nearest rank; review-length prompts", () => {
    const values = Array.from({ length: 100 }, (_, index) => index + 1);
    assert.equal(nearestRankPercentile(values, 0.5), 50);
    assert.equal(nearestRankPercentile(values, 0.95), 95);
    assert.equal(nearestRankPercentile(values, 0.99), 99);
    assert.ok(Number.isNaN(nearestRankPercentile([], 0.5)));
    const prompts = benchPrompts(12);
    assert.equal(prompts.length, 12);
    assert.ok(prompts.every((prompt) => prompt.includes("Review:") && prompt.length > 80));
  });

  it("the table compares every target with the first one, in queries and in tokens", () => {
    const result = (label: string, queriesPerMinute: number, tokensPerSecond: number): ServeBenchResult => ({
      label, model: "m", sent: 10, completed: 10, errors: 0, errorSamples: [], fallbacks: label === "llamacpp" ? 2 : 0, complete: label === "llamacpp" ? 9 : null, wallSeconds: 60,
      latency: { p50: 1, p95: 2, p99: 3, mean: 1.2 }, queriesPerMinute, tokensPerSecond, meanCompletionTokens: 20, costPer1000: 0.01,
    });
    const table = formatServeBench([result("torch", 40, 10), result("llamacpp", 150, 50)], 0.1);
    assert.match(table, /\| llamacpp \| m \| 10\/10 \| 0 \| 1\.00 \| 2\.00 \| 3\.00 \| 150\.0 \|/);
    assert.match(table, /llamacpp: 9\/10 answers are complete analyses \(parse as a ReviewAnalysis\): 9\.0 analyses\/min/);
    assert.doesNotMatch(table, /torch: .*complete analyses/);
    assert.match(table, /llamacpp vs torch: 3\.75x the queries\/min, 5\.00x the tokens\/s/);
    assert.match(table, /llamacpp: 2 answers were base-model fallbacks/);
  });
});
