import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RunRecord } from "@reviewtune/core";
import { runStatusLine } from "./lib/run-summary.js";

// The fields the line reads; the rest of a run record does not enter it.
const record = (result: Record<string, unknown>) => ({ id: "20261202-131404-demo", status: "completed", result: { global_step: 21, max_steps: 24, resumed_from_step: null, ...result } }) as unknown as RunRecord;
const budget = { seconds: 180, measured_seconds_per_step: 6, planned_steps: 24, eval_every_steps: 8, eval_examples: 64 };

describe("runStatusLine", () => {
  it("says why a run with a time budget ended before its planned steps", () => {
    assert.equal(
      runStatusLine(record({ time_budget: { ...budget, stopped_by_budget: false, replanned_steps: 21 } })),
      "run 20261202-131404-demo: completed at step 21/24, the time budget's plan of 24 steps cut to 21 at the run's own pace",
    );
    assert.equal(runStatusLine(record({ global_step: 19, time_budget: { ...budget, stopped_by_budget: true, replanned_steps: null } })), "run 20261202-131404-demo: completed at step 19/24, stopped by the time budget (180 s)");
  });
  it("is the bare step count without a budget, and names a resume", () => {
    assert.equal(runStatusLine(record({ global_step: 24 })), "run 20261202-131404-demo: completed at step 24/24");
    assert.equal(runStatusLine(record({ global_step: 24, resumed_from_step: 10 })), "run 20261202-131404-demo: completed at step 24/24 (resumed from step 10)");
  });
});
