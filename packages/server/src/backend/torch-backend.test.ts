// The torch backend's supervision over the real engine: closing while a crashed engine is being
// restarted must stop the fresh one too (it used to outlive close() and keep the process running),
// whether the restart is still starting the engine or already re-loading adapters into it.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";
import { TorchBackend } from "@reviewtune/core";
import { makeTinyFixtures } from "../testing/tiny-models.js";

/** Process ids of this process's children (Linux `ps`), the `ps` asking left out. */
function children(): number[] {
  const out = execFileSync("ps", ["-o", "pid=,comm=", "--ppid", String(process.pid)], { encoding: "utf8" });
  return out
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .filter(([pid, command]) => pid && command !== "ps")
    .map(([pid]) => Number(pid));
}

describe("torch backend", () => {
  it("close() during a restart stops the engine the restart was starting", async () => {
    const fixtures = makeTinyFixtures();
    const backend = new TorchBackend({ model: { source: fixtures.model, allow_pickle: false } });
    await backend.start();
    const first = backend.pid!;
    assert.ok(children().includes(first));
    backend.killEngine();
    await new Promise((resolve) => setTimeout(resolve, 200)); // the exit is seen; the restart has begun
    assert.equal(backend.state, "restarting");
    await backend.close();
    const left = children().filter((pid) => pid !== first);
    assert.deepEqual(left, [], `engine processes left after close(): ${left.join(", ")}`);
  });

  it("`threads` bounds the engine's torch threads (serve/studio --threads), also after a restart", async () => {
    const fixtures = makeTinyFixtures();
    const backend = new TorchBackend({ model: { source: fixtures.model, allow_pickle: false }, threads: 1 });
    try {
      await backend.start();
      assert.equal(backend.threads, 1);
      backend.killEngine();
      await new Promise((resolve) => setTimeout(resolve, 200));
      await backend.whenReady();
      assert.equal(backend.threads, 1);
    } finally {
      await backend.close();
    }
  });

  it("close() while the restart re-loads adapters (Ctrl-C during a restart) stops for good: no second restart", async () => {
    const fixtures = makeTinyFixtures();
    const backend = new TorchBackend({ model: { source: fixtures.model, allow_pickle: false } });
    await backend.start();
    let closing: Promise<void> | undefined;
    // As serve's adapter registry does after a restart; the close comes while the engine is answering
    // load_adapter, so the engine's graceful exit follows that answer (the race a user hit with Ctrl-C).
    backend.onRestart(async () => {
      const loading = backend.loadAdapter(fixtures.adapters.good);
      closing ??= backend.close();
      await loading.catch(() => undefined);
    });
    const first = backend.pid!;
    backend.killEngine();
    await new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + 120_000;
      const poll = () => (closing ? resolve() : Date.now() > deadline ? reject(new Error("the restart never reached its listeners")) : setTimeout(poll, 50));
      poll();
    });
    await closing;
    assert.equal(backend.state, "closed", "a finished restart must not mark a closed backend ready");
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // a second restart would spawn by now
    const left = children().filter((pid) => pid !== first);
    assert.deepEqual(left, [], `engine processes left after close(): ${left.join(", ")}`);
  });
});
