// The torch backend's supervision over the real engine: closing while a crashed engine is being
// restarted must stop the fresh one too (it used to outlive close() and keep the process running).
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
});
