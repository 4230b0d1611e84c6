import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CancelledError, ConfigError, unlessInterrupted } from "./errors.js";

describe("unlessInterrupted", () => {
  const message = "interrupted: nothing written";
  it("passes the work's result and error through when nobody interrupted", async () => {
    const signal = new AbortController().signal;
    assert.equal(await unlessInterrupted(signal, async () => 42, message), 42);
    await assert.rejects(unlessInterrupted(signal, async () => { throw new ConfigError("bad flag"); }, message), ConfigError);
  });
  it("turns a result finished after the interrupt into a CancelledError (a stage that did not check the signal)", async () => {
    const controller = new AbortController();
    const work = async () => {
      controller.abort();
      return "a report of half-made answers";
    };
    await assert.rejects(unlessInterrupted(controller.signal, work, message, "run it again"), (error: unknown) => error instanceof CancelledError && error.message === message && error.hint === "run it again");
  });
  it("turns any error after the interrupt (an AbortError, a dying engine's) into the CancelledError", async () => {
    for (const thrown of [new DOMException("This operation was aborted", "AbortError"), new Error("the engine exited with SIGTERM while requests were pending")]) {
      const controller = new AbortController();
      const work = async () => {
        controller.abort();
        throw thrown;
      };
      await assert.rejects(unlessInterrupted(controller.signal, work, message), (error: unknown) => error instanceof CancelledError && error.message === message);
    }
  });
});
