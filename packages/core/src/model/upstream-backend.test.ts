// How the front asks an upstream for an analysis's stars and sentiment: which completions it sends,
// in which order, and what it decides from them. The upstream here is a small HTTP server that
// answers each completion from a script, because the requests that matter depend on what a model
// has learnt (a trained adapter's confident readings), and the only models a test can load are
// untrained; serve-upstream.test.ts runs the whole front against a real second server.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, describe, it } from "node:test";
import { ANALYSIS_ORDINALS } from "@reviewtune/contracts";
import { FIRST_READING_MASS, UpstreamBackend } from "./upstream-backend.js";

interface Completion {
  prompt: string;
  max_tokens: number;
  logprobs?: number;
  response_format?: { json_schema: { schema: { properties: Record<string, { enum?: unknown[] }> } } };
}

const SCHEMA = {
  type: "object",
  properties: { stars: { type: "integer", minimum: 1, maximum: 5 }, sentiment: { enum: ["negative", "neutral", "positive"] }, summary: { type: "string" } },
  required: ["stars", "sentiment", "summary"],
};

/** Log-probabilities of the next token after a prompt that ends with a key, from `weights` (token -> probability). */
type Script = { readings: Array<[suffix: string, weights: Record<string, number>]>; greedy: (stars: number | undefined, sentiment: string | undefined) => string; logprobs: boolean };

/** The keys a completion's schema fixes (an enum of one value). */
const enums = (completion: Completion) =>
  Object.fromEntries(Object.entries(completion.response_format?.json_schema.schema.properties ?? {}).filter(([, value]) => value.enum?.length === 1).map(([key, value]) => [key, value.enum!])) as Record<string, unknown[]>;

let server: Server;
let url = "";
let script: Script;
let seen: Completion[] = [];

before(async () => {
  server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      const reply = (value: unknown) => response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(value));
      if (request.url === "/v1/models") return reply({ data: [{ id: "base" }] });
      if (request.url === "/props") return reply({ chat_template: "{% for message in messages %}{{ message.content }}{% endfor %}" });
      if (request.url !== "/v1/completions") return response.writeHead(404).end();
      const completion = JSON.parse(body) as Completion;
      seen.push(completion);
      if (completion.max_tokens === 1) {
        const weights = script.readings.find(([suffix]) => completion.prompt.endsWith(suffix))?.[1] ?? {};
        const top = Object.fromEntries(Object.entries(weights).map(([token, probability]) => [token, Math.log(probability)]));
        return reply({ choices: [{ text: "x", finish_reason: "length", logprobs: script.logprobs ? { tokens: ["x"], token_logprobs: [0], top_logprobs: [top] } : null }] });
      }
      const fixed = enums(completion);
      const text = script.greedy(fixed.stars?.[0] as number | undefined, fixed.sentiment?.[0] as string | undefined);
      return reply({ choices: [{ text, finish_reason: "stop" }], usage: { prompt_tokens: 10, completion_tokens: 12 } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

after(() => server.close());

async function analyze(): Promise<{ text: string; new_tokens: number }> {
  const backend = new UpstreamBackend({ url, baseId: "base", adapterNames: new Map() });
  await backend.start();
  seen = [];
  const result = await backend.generate({ prompts: ["Review: fine.\n"], maxNewTokens: 64, temperature: 0, topP: 1, seed: 0, jsonSchema: SCHEMA, ordinal: ANALYSIS_ORDINALS, signal: new AbortController().signal });
  return result.outputs[0]!;
}

describe("the upstream front's analysis: stars and sentiment from the upstream's log-probabilities", () => {
  it("a model that answers compactly: both read first, then one decoding with the pair fixed (three completions)", async () => {
    script = {
      logprobs: true,
      // The stars' median is 4 (0.06 + 0.6 reach half); greedy alone would write 5.
      readings: [['{"stars":', { "3": 0.06, "4": 0.6, "5": 0.3 }], ['{"stars":4,"sentiment":"', { positive: 0.9, neutral: 0.05 }]],
      greedy: (stars = 5, sentiment = "positive") => `{"stars":${stars},"sentiment":"${sentiment}","summary":"ok"}`,
    };
    const answer = await analyze();
    assert.equal(answer.text, '{"stars":4,"sentiment":"positive","summary":"ok"}');
    assert.deepEqual(seen.map((completion) => completion.max_tokens), [1, 1, 64]);
    assert.ok(seen[0]!.prompt.endsWith('Review: fine.\n{"stars":'), seen[0]!.prompt);
    assert.ok(seen[1]!.prompt.endsWith('{"stars":4,"sentiment":"'), seen[1]!.prompt);
    assert.deepEqual(enums(seen[2]!), { stars: [4], sentiment: ["positive"] });
    assert.equal(answer.new_tokens, 12);
  });

  it(`a model that has not learnt the compact answer (under ${FIRST_READING_MASS} of the reading on the stars): greedy first, read where it wrote the stars, decoded again`, async () => {
    script = {
      logprobs: true,
      readings: [
        ['{"stars":', { " ": 0.5, "1": 0.05 }],
        ['{\n  "stars": ', { "2": 0.1, "3": 0.2, "4": 0.5, "5": 0.2 }],
        ['{\n  "stars": 4,"sentiment":"', { positive: 0.7, negative: 0.1 }],
      ],
      greedy: (stars = 1, sentiment = "negative") => `{\n  "stars": ${stars}, "sentiment": "${sentiment}", "summary": "ok"}`,
    };
    const answer = await analyze();
    assert.equal(answer.text, '{\n  "stars": 4, "sentiment": "positive", "summary": "ok"}');
    assert.deepEqual(seen.map((completion) => completion.max_tokens), [1, 64, 1, 1, 64]);
    assert.deepEqual(enums(seen[1]!), {}, "the greedy answer's schema is the request's");
    assert.ok(seen[2]!.prompt.endsWith('{\n  "stars": '), seen[2]!.prompt);
    assert.deepEqual(enums(seen[4]!), { stars: [4], sentiment: ["positive"] });
    assert.equal(answer.new_tokens, 24, "both decodings count");
  });

  it("a compact greedy answer after an unsure reading: the reading is not asked again", async () => {
    script = {
      logprobs: true,
      readings: [['{"stars":', { "2": 0.1, "3": 0.15, "[": 0.6 }], ['{"stars":3,"sentiment":"', { neutral: 0.3 }]],
      greedy: (stars = 3, sentiment = "neutral") => `{"stars":${stars},"sentiment":"${sentiment}","summary":"ok"}`,
    };
    const answer = await analyze();
    assert.equal(answer.text, '{"stars":3,"sentiment":"neutral","summary":"ok"}');
    assert.deepEqual(seen.map((completion) => completion.max_tokens), [1, 64, 1], "the stars read once; the greedy pair stands, so no second decoding");
  });

  it("an upstream without log-probabilities: the greedy answer, and the next answers are not read at all", async () => {
    script = { logprobs: false, readings: [], greedy: (stars = 2, sentiment = "positive") => `{"stars":${stars},"sentiment":"${sentiment}","summary":"ok"}` };
    const backend = new UpstreamBackend({ url, baseId: "base", adapterNames: new Map() });
    await backend.start();
    const request = { prompts: ["a", "b"], maxNewTokens: 64, temperature: 0, topP: 1, seed: 0, jsonSchema: SCHEMA, ordinal: ANALYSIS_ORDINALS, signal: new AbortController().signal };
    seen = [];
    const first = await backend.generate({ ...request, prompts: ["a"] });
    assert.equal(first.outputs[0]!.text, '{"stars":2,"sentiment":"positive","summary":"ok"}');
    assert.deepEqual(seen.map((completion) => completion.max_tokens), [1, 64]);
    seen = [];
    await backend.generate(request);
    assert.deepEqual(seen.map((completion) => completion.max_tokens), [64, 64]);
  });
});
