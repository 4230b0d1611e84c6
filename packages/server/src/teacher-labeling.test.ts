// `data build --teacher` against reviewtune's own server: the real openai client in core's Teacher,
// a real server on loopback, the real engine on a tiny random Llama. A random model cannot answer in
// JSON, so this checks the plumbing and the fallback: every review is asked, every unusable answer
// keeps the analyzer's labels, and the card says so. (parseTeacherAnswer's tests cover good answers.)
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ConfigError, Teacher, buildDataset } from "@reviewtune/core";
import { TorchBackend } from "@reviewtune/core";
import { createServer, type ReviewtuneServer } from "./server.js";
import { makeTinyFixtures, type TinyFixtures } from "./testing/tiny-models.js";

let fixtures: TinyFixtures;
let server: ReviewtuneServer;
let url: string;
let work: string;

before(async () => {
  fixtures = makeTinyFixtures();
  server = createServer({ backend: new TorchBackend({ model: { source: fixtures.model, allow_pickle: false } }), baseId: "tiny" });
  await server.prepare();
  url = `${await server.app.listen({ host: "127.0.0.1", port: 0 })}/v1`;
  work = mkdtempSync(join(tmpdir(), "reviewtune-teacher-"));
});

after(async () => {
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

describe("data build --teacher against reviewtune serve", () => {
  it("asks the teacher about every review and keeps the analyzer's labels where its answers are unusable", async () => {
    const input = join(work, "reviews.csv");
    const texts = ["The lid cracked after a week.", "Great kettle, boils fast and looks nice.", "It is a kettle.", "Handle got hot, returned it.", "Sturdy, quiet, worth the money."];
    writeFileSync(input, `text,category\n${texts.map((text) => `"${text}",kitchen`).join("\n")}\n`);
    const teacher = new Teacher({ url, concurrency: 2, maxTokens: 24 });
    assert.equal(await teacher.connect(), "tiny", "the endpoint's first model is picked");
    const card = await buildDataset({ inputs: [input], out: join(work, "dataset"), teacher });
    assert.ok(card.teacher);
    assert.equal(card.teacher.asked, texts.length);
    assert.equal(card.teacher.used + card.teacher.unusable + card.teacher.failed, texts.length);
    assert.equal(card.teacher.failed, 0, "every request reached the server and was answered");
    assert.equal(card.teacher.model, "tiny");
    const sources = card.label_sources.sentiment ?? {};
    assert.equal((sources.teacher ?? 0) + (sources.analyzer ?? 0), texts.length);
    assert.match(readFileSync(join(work, "dataset", "card.md"), "utf8"), /Teacher: tiny at http:\/\/127\.0\.0\.1:\d+\/v1: 5 reviews asked/);
    const served = (await server.app.inject({ method: "GET", url: "/metrics" })).payload;
    assert.match(served, /reviewtune_tokens_total\{model="tiny",kind="completion"\} [1-9]/);
  });

  it("stops before reading any review when the teacher cannot be reached, or lacks the model", async () => {
    await assert.rejects(new Teacher({ url: "http://127.0.0.1:9/v1", timeoutMs: 2000 }).connect(), (error: unknown) => ConfigError.isInstance(error) && /--teacher: cannot reach/.test((error as Error).message));
    await assert.rejects(new Teacher({ url, model: "gpt-9" }).connect(), /has no model "gpt-9"[\s\S]*/);
  });
});
