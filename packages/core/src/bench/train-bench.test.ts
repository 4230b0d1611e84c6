import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TrainResult } from "@reviewtune/contracts";
import { formatBench, medianRound, type BenchVariant } from "./train-bench.js";

const GIB = 2 ** 30;
const result = (tokensPerSecond: number, peakGib: number, loss: number): TrainResult =>
  ({ tokens_per_second: tokensPerSecond, seconds_per_step: 1000 / tokensPerSecond, peak_memory_bytes: peakGib * GIB, final_eval_loss: loss, train_tokens: 1000, precision: "bf16" }) as TrainResult;
const variant = (key: BenchVariant["key"], name: string, rounds: TrainResult[]): BenchVariant =>
  ({ key, name, packing: "padding_free", logits: key === "everywhere" ? "all" : "labelled", activationCheckpointing: false, ranWith: "tcmalloc", result: medianRound(rounds), rounds }) as BenchVariant;

describe("bench train's figures over rounds", () => {
  it("a recipe's row is its median round, the slower of the middle two for an even count", () => {
    assert.equal(medianRound([result(300, 3, 1), result(200, 3, 1), result(250, 3, 1)]).tokens_per_second, 250);
    assert.equal(medianRound([result(300, 3, 1), result(200, 3, 1), result(250, 3, 1), result(400, 3, 1)]).tokens_per_second, 250);
    assert.equal(medianRound([result(123, 3, 1)]).tokens_per_second, 123);
  });

  it("a ratio is the median of the rounds' own ratios, not the ratio of the medians", () => {
    // Round 2 ran on a slow machine for both: the paired ratios are 1.20, 1.25, 1.10.
    const ours = variant("ours", "reviewtune", [result(360, 3.5, 0.9172), result(250, 3.5, 0.9172), result(330, 3.5, 0.9172)]);
    const everywhere = variant("everywhere", "logits everywhere", [result(300, 4.1, 0.9184), result(200, 4.1, 0.9184), result(300, 4.1, 0.9184)]);
    const text = formatBench([ours, everywhere]);
    assert.match(text, /\| reviewtune +\| bf16 +\| tcmalloc +\| 330\.0 +\| 360\.0, 250\.0, 330\.0 +\|/);
    assert.match(text, /tokens\/s \(median\) \| tokens\/s by round/);
    assert.match(text, /3 rounds, each recipe once a round/);
    assert.match(text, /vs logits everywhere: 1\.20x \(by round: 1\.20, 1\.25, 1\.10\) tokens\/s, peak memory 3\.50 vs 4\.10 GiB; eval loss difference 1\.20e-3/);
    assert.doesNotMatch(text, /vs naive/, "a recipe not run is not compared");
  });

  it("one round prints the table as before, without the rounds column", () => {
    const text = formatBench([variant("ours", "reviewtune", [result(267.3, 3.47, 0.9172)]), variant("checkpointed", "checkpointed", [result(177.9, 1.97, 0.9172)])]);
    assert.doesNotMatch(text, /by round|rounds/);
    assert.match(text, /activation checkpointing .*: peak memory 1\.97 vs 3\.47 GiB, for 0\.67x the tokens\/s/);
  });
});
