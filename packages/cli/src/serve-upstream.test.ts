// `reviewtune serve --upstream URL` in front of a real second server started by the test: another
// `reviewtune serve` process (Debian ships no llama.cpp server package) on the embedded SmolLM2 GGUF
// with a converted adapter, behind an API key. The front answers, streams, falls back and counts as
// the in-process backends do: the same greedy answers as the upstream itself, the adapter probed
// through the upstream, an adapter the upstream lacks answered by the base and marked.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { sentimentOfStars } from "@reviewtune/contracts";
import { requireEngineEnvironment } from "@reviewtune/core";

const bin = fileURLToPath(new URL("../bin/reviewtune.js", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "reviewtune-upstream-"));
const adapter = join(work, "tuned");
const unknown = join(work, "unknown-upstream");
const dataset = join(work, "demo-dataset"); // the front's training references (embedded here: the upstream has no embedding model) // a folder of its own: with --upstream the folder identifies the adapter
const UPSTREAM_KEY = "upstream-secret";
const FRONT_KEY = "front-secret";
const processes: ChildProcess[] = [];
let upstream = "";
let front = "";

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

/** `reviewtune serve ...` as a child; resolves with its base URL once /ready answers 200. */
async function serve(args: string[]): Promise<string> {
  const port = await freePort();
  const child = spawn(process.execPath, [bin, "serve", "--port", String(port), ...(args.includes("--references") ? [] : ["--no-references"]), ...args], { cwd: work, env: { ...process.env, NO_COLOR: "1" } });
  processes.push(child);
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`serve ${args.join(" ")} exited (${child.exitCode}):\n${stderr}`);
    const ready = await fetch(`${base}/ready`).then((response) => response.status === 200, () => false);
    if (ready) return base;
    if (Date.now() > deadline) throw new Error(`serve ${args.join(" ")} was not ready in 180 s:\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function post(base: string, path: string, body: unknown, key: string): Promise<{ status: number; json: any }> {
  const response = await fetch(`${base}${path}`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
  return { status: response.status, json: await response.json() };
}

const question = (model: string, extra: Record<string, unknown> = {}) => ({
  model,
  messages: [{ role: "user", content: 'Based on this review, is this product worth buying?\n\nReview: "Stopped working after a week. Waste of money."' }],
  max_tokens: 16,
  temperature: 0,
  ...extra,
});

before(async () => {
  const { python, engineSource } = requireEngineEnvironment();
  const code = [
    "from reviewtune_engine.models import resolve",
    "from reviewtune_engine.testing import make_tiny_adapter",
    `make_tiny_adapter(resolve("smollm2-135m-instruct").path, ${JSON.stringify(adapter)}, seed=3, rank=8, weight_std=0.3, target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])`,
  ].join("\n");
  const made = spawnSync(python, ["-c", code], { encoding: "utf8", env: { ...process.env, PYTHONPATH: engineSource } });
  assert.equal(made.status, 0, made.stderr);
  cpSync(adapter, unknown, { recursive: true });
  const demo = spawnSync(process.execPath, [bin, "data", "demo", "--out", dataset, "--reviews", "12"], { cwd: work, encoding: "utf8" });
  assert.equal(demo.status, 0, demo.stderr);
  upstream = await serve(["--backend", "llamacpp", "--adapter", `tuned=${adapter}`, "--api-key", UPSTREAM_KEY, "--parallel", "2"]);
  front = await serve(["--upstream", upstream, "--upstream-key", UPSTREAM_KEY, "--adapter", `tuned=${adapter}`, "--adapter", `ghost=${unknown}`, "--api-key", FRONT_KEY, "--references", dataset]);
});

after(() => {
  for (const child of processes) child.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
});

describe("reviewtune serve --upstream (a real second server)", () => {
  it("lists the upstream's adapter probed through it, and one the upstream lacks as a marked fallback", async () => {
    const models = (await (await fetch(`${front}/v1/models`, { headers: { authorization: `Bearer ${FRONT_KEY}` } })).json()) as { data: Array<{ id: string; reviewtune: { status: string; error: { code: string } | null; max_abs_logit_diff: number | null } }> };
    const byId = Object.fromEntries(models.data.map((model) => [model.id, model.reviewtune]));
    assert.equal(byId["smollm2-135m-instruct"]!.status, "loaded");
    assert.equal(byId.tuned!.status, "loaded");
    assert.ok(byId.tuned!.max_abs_logit_diff! > 1e-3, "the probe saw the adapter change the next token's probabilities upstream");
    assert.equal(byId.ghost!.status, "fallback");
    assert.equal(byId.ghost!.error!.code, "adapter_not_upstream");
    const refused = await fetch(`${front}/v1/models`);
    assert.equal(refused.status, 401, "the front's own key guards it");
  });

  it("answers as the upstream does, streamed or not, and marks who answered", async () => {
    for (const model of ["tuned", "smollm2-135m-instruct"]) {
      const direct = await post(upstream, "/v1/chat/completions", question(model), UPSTREAM_KEY);
      const through = await post(front, "/v1/chat/completions", question(model), FRONT_KEY);
      assert.equal(through.status, 200, JSON.stringify(through.json));
      assert.equal(through.json.choices[0].message.content, direct.json.choices[0].message.content, model);
      assert.equal(through.json.choices[0].finish_reason, direct.json.choices[0].finish_reason);
      assert.deepEqual(through.json.usage, direct.json.usage);
      assert.deepEqual(through.json.reviewtune, { backend: "upstream", adapter: model === "tuned" ? "tuned" : null, fallback: null });
    }
    const tunedText = (await post(upstream, "/v1/chat/completions", question("tuned"), UPSTREAM_KEY)).json.choices[0].message.content as string;
    const baseText = (await post(upstream, "/v1/chat/completions", question("smollm2-135m-instruct"), UPSTREAM_KEY)).json.choices[0].message.content as string;
    assert.notEqual(tunedText, baseText, "the adapter changes the greedy answer (so the front really asked for it)");

    const stream = await fetch(`${front}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${FRONT_KEY}` }, body: JSON.stringify(question("tuned", { stream: true })) });
    assert.equal(stream.status, 200);
    const events = (await stream.text())
      .split("\n")
      .filter((line) => line.startsWith("data: ") && line !== "data: [DONE]")
      .map((line) => JSON.parse(line.slice(6)));
    assert.ok(events.length > 3, "streamed in pieces");
    assert.equal(events.map((event) => event.choices[0]?.delta?.content ?? "").join(""), tunedText);

    // Training references: embedded on the front (the engine's all-MiniLM-L6-v2), the answer from the upstream.
    const referenced = await post(front, "/v1/chat/completions", question("tuned", { references: { k: 2 } }), FRONT_KEY);
    assert.equal(referenced.status, 200, JSON.stringify(referenced.json));
    assert.equal(referenced.json.choices[0].message.content, tunedText);
    assert.equal(referenced.json.reviewtune.references.length, 2);
    assert.ok(referenced.json.reviewtune.references[0].similarity > 0 && referenced.json.reviewtune.references[0].answer.length > 0);

    const ghost = await post(front, "/v1/chat/completions", question("ghost"), FRONT_KEY);
    assert.equal(ghost.json.choices[0].message.content, baseText, "an adapter the upstream lacks is answered by the base");
    assert.equal(ghost.json.reviewtune.fallback.code, "adapter_not_upstream");
  });

  it("holds JSON answers to a schema, analyzes reviews, refuses what the upstream's context cannot hold, and counts", async () => {
    const schema = { type: "object", properties: { verdict: { enum: ["buy", "skip"] } }, required: ["verdict"], additionalProperties: false };
    const json = await post(front, "/v1/completions", { model: "tuned", prompt: "Verdict as JSON: ", max_tokens: 24, temperature: 0, response_format: { type: "json_schema", json_schema: { name: "verdict", schema } } }, FRONT_KEY);
    assert.equal(json.status, 200, JSON.stringify(json.json));
    assert.ok(["buy", "skip"].includes(JSON.parse(json.json.choices[0].text).verdict), json.json.choices[0].text);

    const analysis = await post(front, "/v1/analyze", { model: "tuned", reviews: [{ text: "The battery died after two days. Awful." }] }, FRONT_KEY);
    assert.equal(analysis.status, 200, JSON.stringify(analysis.json));
    assert.ok([1, 2, 3, 4, 5].includes(analysis.json.data[0].analysis.stars), JSON.stringify(analysis.json.data[0]));
    assert.equal(analysis.json.data[0].analysis.sentiment, sentimentOfStars(analysis.json.data[0].analysis.stars), JSON.stringify(analysis.json.data[0]));

    const long = await post(front, "/v1/chat/completions", question("tuned", { messages: [{ role: "user", content: "word ".repeat(1500) }] }), FRONT_KEY);
    assert.equal(long.status, 400);
    assert.equal(long.json.error.code, "context_length_exceeded");

    const metrics = await (await fetch(`${front}/metrics`, { headers: { authorization: `Bearer ${FRONT_KEY}` } })).text();
    assert.match(metrics, /reviewtune_fallback_responses_total\{adapter="ghost",reason="adapter_not_upstream"\} 1/);
  });

  it("analyze --upstream: every review of a file answered there, in order; one its context cannot hold is an error line", () => {
    const input = join(work, "reviews.csv");
    const reviews = ["Great blender, crushes ice in seconds.", "Stopped working after a week.", "Fine for the price.", "The battery died after two days. Awful.", "great ".repeat(900), "Sturdy and quiet, would buy again."];
    writeFileSync(input, `text\n${reviews.map((text) => `"${text.trim()}"`).join("\n")}\n`);
    const out = join(work, "analyses.jsonl");
    const run = spawnSync(process.execPath, [bin, "analyze", "--input", input, "--out", out, "--upstream", upstream, "--upstream-key", UPSTREAM_KEY, "--concurrency", "3"], { cwd: work, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /answering on the upstream backend/);
    const lines = readFileSync(out, "utf8").trim().split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(lines.map((line) => line.line), [2, 3, 4, 5, 6, 7]);
    assert.match(lines[4].error, /too long for the model's context/);
    for (const line of [...lines.slice(0, 4), lines[5]]) assert.ok([1, 2, 3, 4, 5].includes(line.analysis?.stars), JSON.stringify(line));
    // The stars and the sentiment decided together from the upstream's log-probabilities, as in
    // process (decision 0018): the band rule holds for every answer (greedy alone broke it here).
    for (const line of [...lines.slice(0, 4), lines[5]]) assert.equal(line.analysis.sentiment, sentimentOfStars(line.analysis.stars), JSON.stringify(line.analysis));
  });

  it("without --adapter, a model the upstream lists is a 404 that says how to serve it here", async () => {
    const bare = await serve(["--upstream", upstream, "--upstream-key", UPSTREAM_KEY]);
    const answer = await post(bare, "/v1/chat/completions", question("tuned"), "");
    assert.equal(answer.status, 404);
    assert.match(answer.json.error.message, /the upstream lists "tuned": start this server with --adapter tuned=<its adapter folder> \(or --run/);
    const other = await post(bare, "/v1/chat/completions", question("nowhere"), "");
    assert.doesNotMatch(other.json.error.message, /upstream lists/, "a name the upstream lacks gets no such advice");
  });

  it("says so when the upstream is gone: a 502 naming it", async () => {
    const [upstreamProcess] = processes;
    upstreamProcess!.kill("SIGKILL");
    await new Promise((resolve) => upstreamProcess!.once("exit", resolve));
    const answer = await post(front, "/v1/chat/completions", question("tuned"), FRONT_KEY);
    assert.equal(answer.status, 502);
    assert.equal(answer.json.error.code, "upstream_unavailable");
    assert.match(answer.json.error.message, /did not answer/);
  });
});
