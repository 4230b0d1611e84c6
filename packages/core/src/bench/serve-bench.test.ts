import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { describe, it } from "node:test";
import { benchPrompts, benchServe, formatServeBench, parseBenchTarget, nearestRankPercentile, type ServeBenchResult } from "./serve-bench.js";

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

  it("the table compares every target with the first one, in queries and in tokens", () => {
    const result = (label: string, queriesPerMinute: number, tokensPerSecond: number): ServeBenchResult => ({
      label, model: "m", sent: 10, completed: 10, errors: 0, errorSamples: [], fallbacks: label === "llamacpp" ? 2 : 0, complete: label === "llamacpp" ? 9 : null, wallSeconds: 60,
      latency: { p50: 1, p95: 2, p99: 3, mean: 1.2 }, queriesPerMinute, tokensPerSecond, meanCompletionTokens: 20, costPer1000: 0.01, busy: label === "llamacpp" ? 1 : 0,
      peakMemoryBytes: label === "llamacpp" ? { server: 512 * 1024 ** 2 } : { server: 200 * 1024 ** 2, engine: 1000 * 1024 ** 2 },
    });
    const table = formatServeBench([result("torch", 40, 10), result("llamacpp", 150, 50)], 0.1);
    assert.match(table, /\| llamacpp \| m \| 10\/10 \| 0 \| 1\.00 \| 2\.00 \| 3\.00 \| 150\.0 \|/);
    assert.match(table, /llamacpp: 9\/10 answers are complete analyses \(parse as a ReviewAnalysis\): 9\.0 analyses\/min/);
    assert.doesNotMatch(table, /torch: .*complete analyses/);
    assert.match(table, /llamacpp vs torch: 3\.75x the queries\/min, 5\.00x the tokens\/s/);
    assert.match(table, /llamacpp: 2 answers were base-model fallbacks/);
    assert.match(table, /llamacpp: measured beside 1 busy-loop process \(--busy\)/);
    assert.doesNotMatch(table, /torch: measured beside/);
    assert.match(table, /llamacpp: peak resident memory 512 MB \(server process\)/);
    assert.match(table, /torch: peak resident memory 200 MB \(server process\) \+ 1000 MB \(engine process\) = 1200 MB/);
  });

  it("--busy runs that many busy-loop processes while requests are measured (not during the warm-up), and stops them", async () => {
    const busyChildren = () =>
      execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(process.pid)], { encoding: "utf8" })
        .split("\n")
        .filter((line) => line.includes("for (;;) {}"))
        .map((line) => Number(line.trim().split(/\s+/)[0]));
    const seen: number[] = [];
    // A stand-in OpenAI server in this process: it notes how many busy loops run while it answers.
    const server = createServer((request, response) => {
      response.setHeader("content-type", "application/json");
      if (request.url === "/v1/models") return response.end(JSON.stringify({ data: [{ id: "base" }] }));
      if (request.url === "/metrics") return response.writeHead(404).end(); // not a reviewtune server: no memory figure
      seen.push(busyChildren().length);
      response.end(JSON.stringify({ choices: [{ message: { content: "ok" } }], usage: { completion_tokens: 1 } }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as { port: number };
      const [result] = await benchServe({ targets: [{ label: "fake", url: `http://127.0.0.1:${port}` }], concurrency: 1, requests: 3, maxTokens: 4, timeLimitSeconds: 30, dollarsPerHour: 0, busy: 2 });
      assert.equal(result!.busy, 2);
      assert.equal(result!.completed, 3);
      assert.equal(result!.peakMemoryBytes, null);
      assert.deepEqual(seen, [0, 2, 2, 2], "none during the warm-up, two during each measured request");
      assert.deepEqual(busyChildren(), [], "stopped after the measurement");
    } finally {
      server.close();
    }
  });
});
