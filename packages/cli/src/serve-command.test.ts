// `reviewtune serve` as a process, the way an operator stops it: Ctrl-C (SIGINT) while a crashed
// engine is being restarted must exit, leaving no engine behind. Reproduction of issue 16 item 6:
// kill -9 the engine, wait for the new one, SIGINT serve; the port closed, a second engine started
// and the process never exited (the restart marked the closing backend ready).
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { before, describe, it } from "node:test";
import { requireEngineEnvironment } from "@reviewtune/core";

const bin = fileURLToPath(new URL("../bin/reviewtune.js", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "reviewtune-serve-cli-"));
const model = join(work, "tiny-model");
const adapter = join(work, "adapter");

before(() => {
  const { python, engineSource } = requireEngineEnvironment();
  const code = `from reviewtune_engine.testing import make_tiny_model, make_tiny_adapter\nmake_tiny_model(${JSON.stringify(model)})\nmake_tiny_adapter(${JSON.stringify(model)}, ${JSON.stringify(adapter)}, seed=1)`;
  const made = spawnSync(python, ["-c", code], { encoding: "utf8", env: { ...process.env, PYTHONPATH: engineSource } });
  assert.equal(made.status, 0, made.stderr);
});

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

const children = (pid: number): number[] =>
  execFileSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" })
    .split("\n")
    .map((line) => Number(line.trim()))
    .filter((child) => child > 0);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 120_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

const text = async (url: string) => {
  try {
    const response = await fetch(url);
    return { status: response.status, body: await response.text() };
  } catch {
    return { status: 0, body: "" };
  }
};

describe("reviewtune serve", () => {
  it("a port it cannot listen on: exit 3 at once, before the model loads, with the fix", async () => {
    const taken = createServer();
    const port = await new Promise<number>((resolve) => taken.listen(0, "127.0.0.1", () => resolve((taken.address() as { port: number }).port)));
    try {
      const run = (...args: string[]) => spawnSync(process.execPath, [bin, "serve", "--model", model, "--no-references", ...args], { cwd: work, encoding: "utf8", timeout: 60_000, env: { ...process.env, NO_COLOR: "1" } });
      const busy = run("--port", String(port));
      assert.equal(busy.status, 3, `serve on a taken port did not exit 3 (it hung until the test's limit when the engine had started):\n${busy.stderr}`);
      assert.match(busy.stderr, new RegExp(`127\\.0\\.0\\.1:${port} is in use`));
      assert.match(busy.stderr, /hint: pass another --port/);
      assert.doesNotMatch(busy.stderr, /starting the torch backend/, "refused before the model loads");
      const outOfRange = run("--port", "99999");
      assert.equal(outOfRange.status, 3, outOfRange.stderr);
      assert.match(outOfRange.stderr, /--port must be 0\.\.65535, got "99999"/);
    } finally {
      taken.close();
    }
  });

  it("Ctrl-C while the engine restarts (adapters being re-loaded) exits and leaves no engine running", async () => {
    const port = await freePort();
    // One adapter, as `serve --run` has: Ctrl-C while it is re-loaded is the last step of the restart.
    const child = spawn(process.execPath, [bin, "serve", "--model", model, "--port", String(port), "--no-references", "--adapter", `tuned=${adapter}`], { cwd: work, env: { ...process.env, NO_COLOR: "1" } });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const engines = new Set<number>();
    try {
      const base = `http://127.0.0.1:${port}`;
      await until("serve to be ready", async () => ((await text(`${base}/ready`)).status === 200 ? true : undefined));
      const first = children(child.pid!)[0]!;
      engines.add(first);
      process.kill(first, "SIGKILL");
      // The restart listeners run in order: the restart counter first, then the adapters are re-loaded.
      // Counted but not ready yet: the adapters are being loaded into the new engine now.
      // The window is the tiny adapter's re-load (tens of milliseconds): both endpoints at once, 2 ms apart.
      await until(
        "the restart to reach the adapters",
        async () => {
          const [metrics, ready] = await Promise.all([text(`${base}/metrics`), text(`${base}/ready`)]);
          return /^reviewtune_engine_restarts_total 1$/m.test(metrics.body) && ready.status === 503 ? true : undefined;
        },
        120_000,
        2,
      );
      for (const pid of children(child.pid!)) engines.add(pid);
      child.kill("SIGINT");
      const code = await Promise.race([exited, new Promise<string>((resolve) => setTimeout(() => resolve("still running"), 30_000))]);
      assert.equal(code, 0, `serve did not exit within 30 s after SIGINT:\n${stderr}`);
      assert.doesNotMatch(stderr, /the engine exited \(code 0\); restarting it/, "the closing engine's exit was taken for a crash");
      for (const pid of engines) assert.ok(!alive(pid), `engine ${pid} is still running:\n${stderr}`);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      for (const pid of engines) if (alive(pid)) process.kill(pid, "SIGKILL");
    }
  });
});
