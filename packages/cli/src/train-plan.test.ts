// `train --dry-run` says how many validation examples each evaluation scores and what that costs,
// so a short run is not surprised by a final evaluation longer than its training.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";

const bin = fileURLToPath(new URL("../bin/reviewtune.js", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "reviewtune-plan-"));
const plan = (...set: string[]) => {
  const result = spawnSync(process.execPath, [bin, "train", "--preset", "demo", "--dry-run", "--runs-dir", join(work, "runs"), ...set.flatMap((value) => ["--set", value])], { encoding: "utf8", cwd: work });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout;
};

describe("train plan: the evaluation's size and cost", () => {
  it("a 60-step run scores a seeded sample of 256, about 18% of its training time; evaluation.max_examples sets it", () => {
    assert.match(plan("training.max_steps=60"), /on at most 256 validation examples \(a seeded sample; evaluation.max_examples\), each evaluation about 18% of the training time/);
    // 6,000 steps x 8 examples: a quarter of the 48,000 examples trained on.
    assert.match(plan("training.max_steps=6000"), /on at most 12000 validation examples .*about 8% of the training time/);
    assert.match(plan("training.max_steps=60", "evaluation.max_examples=100"), /on at most 100 validation examples .*about 7% of the training time/);
  });
});

describe("train plan: the mix line by the dataset's kind", () => {
  const dryRun = (folder: string) => spawnSync(process.execPath, [bin, "train", "--preset", "demo", "--data", folder, "--dry-run", "--runs-dir", join(work, "runs")], { encoding: "utf8", cwd: work });
  it("a folder of ready-made examples (questions) has nothing to mix or balance; a review folder says its mix and balance", () => {
    const questions = join(work, "qa");
    assert.equal(spawnSync(process.execPath, [bin, "data", "demo", "--kind", "qa", "--products", "10", "--out", questions], { encoding: "utf8", cwd: work }).status, 0);
    const planned = dryRun(questions);
    assert.equal(planned.status, 0, planned.stderr);
    assert.match(planned.stdout, /mix {10}every example as it is \(ready-made examples: no review tasks to mix, no sentiment to balance\)/);
    const reviews = join(work, "reviews");
    assert.equal(spawnSync(process.execPath, [bin, "data", "demo", "--reviews", "10", "--out", reviews], { encoding: "utf8", cwd: work }).status, 0);
    assert.match(dryRun(reviews).stdout, /mix {10}every analysis example \+ every chat example \(datasets with analysis examples\); balance sentiment \(at most x3\)/);
  });
});

describe("train plan: schedule and checkpoints", () => {
  it("warns of a warmup as long as the run, says where checkpoints are saved and prints a time budget exactly", () => {
    assert.match(plan("training.max_steps=3"), /warning {6}warmup 4 steps >= the run's 3: the learning rate never reaches 0\.001 \(--set training\.warmup_steps=0\)/);
    assert.doesNotMatch(plan("training.max_steps=60"), /warning/);
    assert.match(plan("training.max_steps=60"), /checkpoints {2}every 10 steps and at evaluations, keep 2/);
    assert.match(plan("training.max_steps=60", "evaluation.strategy=no"), /checkpoints {2}every 10 steps, keep 2/);
    assert.match(plan("training.time_budget_seconds=90"), /time budget 1m30s/);
    assert.match(plan("training.time_budget_seconds=119.7"), /time budget 2m \(/);
  });
});
