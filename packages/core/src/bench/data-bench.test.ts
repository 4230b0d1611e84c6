import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { benchData, formatDataBench } from "./data-bench.js";

describe("bench data", () => {
  it("builds a generated file and says how busy the main and label threads were", async () => {
    const pooled = await benchData({ rows: 400, workers: 1 });
    assert.equal(pooled.card.reviews, 400);
    assert.equal(pooled.card.examples, 400 * 7);
    assert.ok(pooled.labelBusy !== undefined && pooled.labelBusy > 0 && pooled.labelBusy <= 1, `label thread busy ${pooled.labelBusy}`);
    assert.ok(pooled.mainBusy > 0 && pooled.mainBusy <= 1, `main thread busy ${pooled.mainBusy}`);
    assert.match(formatDataBench(pooled), /threads {4}main \d+% busy, label \d+% busy/);
    assert.ok(pooled.mainThreadShare !== undefined && pooled.mainThreadShare >= 0 && pooled.mainThreadShare <= 1);
    assert.match(formatDataBench(pooled), /the main thread labeled \d+% of the reviews itself/);

    const main = await benchData({ rows: 200, workers: 0 });
    assert.equal(main.labelBusy, undefined);
    assert.doesNotMatch(formatDataBench(main), /labeled \d+%/);
    assert.match(formatDataBench(main), /threads {4}main \d+% busy \(/);
  });
});
