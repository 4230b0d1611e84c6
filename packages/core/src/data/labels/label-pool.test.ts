import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LabelPool } from "./label-pool.js";
import { analyzeReview } from "./analyzer.js";

const reviews = Array.from({ length: 256 }, (_, index) => ({ text: `Review ${index}: the battery is great but the strap broke after a week.` }));

describe("LabelPool", () => {
  it("labels a batch in order, the same labels as this thread's analyzer", async () => {
    const pool = new LabelPool(1);
    try {
      assert.deepEqual(await pool.label(reviews.slice(0, 8)), reviews.slice(0, 8).map((review) => analyzeReview(review)));
    } finally {
      await pool.close();
    }
  });

  it("counts a batch as pending until its thread has finished it, without waiting for this thread's event loop", async () => {
    const pool = new LabelPool(1);
    try {
      const labeled = [pool.label(reviews.slice(0, 16)), pool.label(reviews.slice(16, 32))];
      assert.equal(pool.pending(), 2);
      // Blocked here, this thread reads no answer; the thread's own count still comes down (the
      // build reads it to decide whether to label a batch itself).
      const sleeper = new Int32Array(new SharedArrayBuffer(4));
      const deadline = Date.now() + 60_000;
      while (pool.pending() > 0 && Date.now() < deadline) Atomics.wait(sleeper, 0, 0, 10);
      assert.equal(pool.pending(), 0);
      assert.deepEqual((await Promise.all(labeled)).flat(), reviews.slice(0, 32).map((review) => analyzeReview(review)));
    } finally {
      await pool.close();
    }
  });

  it("closes with batches in flight (a build stopped by Ctrl-C) without an unhandled 'error' from a late answer", async () => {
    const errors: unknown[] = [];
    const onError = (error: unknown) => errors.push(error);
    process.on("uncaughtException", onError);
    try {
      const pool = new LabelPool(1);
      // Warm the thread (wink loads on its first batch), then leave several batches in flight and close.
      await pool.label(reviews.slice(0, 1));
      const pending = [0, 1, 2, 3].map((batch) => pool.label(reviews.slice(batch * 64, (batch + 1) * 64)).then(() => "done", () => "failed"));
      await pool.close();
      assert.deepEqual(await Promise.all(pending), ["done", "done", "done", "done"]);
      await new Promise((resolve) => setTimeout(resolve, 200)); // any late answer has arrived by now
      assert.deepEqual(errors, []);
    } finally {
      process.off("uncaughtException", onError);
    }
  });
});
