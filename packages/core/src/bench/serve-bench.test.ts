import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { benchPrompts, parseBenchTarget, nearestRankPercentile } from "./serve-bench.js";

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
});
