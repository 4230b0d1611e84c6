// End to end as a user runs it: a real server listening on loopback, the official `openai` npm client,
// the real engine on a tiny random Llama. Streaming, errors, a fallback seen through response headers,
// and a client that goes away mid-stream cancelling its generation.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { benchServe } from "@reviewtune/core";
import { TorchBackend } from "@reviewtune/core";
import { createServer, type ReviewtuneServer } from "./server.js";
import { makeTinyFixtures, type TinyFixtures } from "./testing/tiny-models.js";

let fixtures: TinyFixtures;
let server: ReviewtuneServer;
let client: OpenAI;
const messages = [{ role: "user" as const, content: "Should I buy this blender?" }];

before(async () => {
  fixtures = makeTinyFixtures();
  server = createServer({
    backend: new TorchBackend({ model: { source: fixtures.model, allow_pickle: false } }),
    baseId: "tiny",
    adapters: [
      { name: "good", dir: fixtures.adapters.good },
      { name: "corrupt", dir: fixtures.adapters.corrupt },
    ],
    apiKey: "test-key",
    maxTokensLimit: 400,
  });
  await server.prepare();
  const address = await server.app.listen({ host: "127.0.0.1", port: 0 });
  client = new OpenAI({ baseURL: `${address}/v1`, apiKey: "test-key", maxRetries: 0 });
});

after(async () => {
  await server?.close();
});

describe("the official openai client against reviewtune serve", () => {
  it("lists the base model and the adapters", async () => {
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    assert.deepEqual(ids, ["tiny", "all-minilm-l6-v2", "good", "corrupt"]);
  });

  it("chat completion, then the same answer streamed", async () => {
    const completion = await client.chat.completions.create({ model: "good", messages, max_tokens: 8 });
    assert.equal(completion.choices[0]!.finish_reason, "length");
    assert.equal(completion.usage!.completion_tokens, 8);
    const stream = await client.chat.completions.create({ model: "good", messages, max_tokens: 8, stream: true, stream_options: { include_usage: true } });
    let text = "";
    let usage;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      usage = chunk.usage ?? usage;
    }
    assert.equal(text, completion.choices[0]!.message.content);
    assert.equal(usage!.completion_tokens, 8);
  });

  it("embeddings (the client asks for base64 and decodes it)", async () => {
    const result = await client.embeddings.create({ model: "all-minilm-l6-v2", input: ["Sturdy jar.", "Loud motor."] });
    assert.deepEqual(result.data.map((entry) => entry.embedding.length), [384, 384]);
    const norm = Math.hypot(...result.data[0]!.embedding);
    assert.ok(Math.abs(norm - 1) < 1e-4);
  });

  it("text completion", async () => {
    const completion = await client.completions.create({ model: "tiny", prompt: "The blender is", max_tokens: 4 });
    assert.equal(completion.object, "text_completion");
    assert.equal(completion.usage!.completion_tokens, 4);
  });

  it("a corrupt adapter: a normal answer, marked as fallback in the headers", async () => {
    const { data, response } = await client.chat.completions.create({ model: "corrupt", messages, max_tokens: 4 }).withResponse();
    assert.equal(response.headers.get("x-reviewtune-fallback"), "corrupt_weights");
    assert.equal((data as unknown as { reviewtune: { fallback: { code: string } } }).reviewtune.fallback.code, "corrupt_weights");
  });

  it("errors arrive as the client's typed errors", async () => {
    await assert.rejects(client.chat.completions.create({ model: "gpt-4o", messages }), (error: unknown) => {
      assert.ok(error instanceof OpenAI.NotFoundError);
      assert.equal(error.code, "model_not_found");
      return true;
    });
    await assert.rejects(client.chat.completions.create({ model: "tiny", messages, max_tokens: 9999 }), OpenAI.BadRequestError);
    const stranger = new OpenAI({ baseURL: client.baseURL, apiKey: "wrong", maxRetries: 0 });
    await assert.rejects(stranger.models.list(), OpenAI.AuthenticationError);
  });

  it("the bookkeeping fields and null/0/false values of the sampling options are accepted", async () => {
    const plain = await client.chat.completions.create({ model: "tiny", messages, max_tokens: 6 });
    const completion = await client.chat.completions.create({
      model: "tiny",
      messages,
      max_tokens: 6,
      user: "user-1",
      store: false,
      metadata: { team: "reviews" },
      stop: null,
      presence_penalty: 0,
      frequency_penalty: 0,
      logprobs: false,
      top_logprobs: null,
      logit_bias: {},
      seed: 7,
    });
    assert.equal(completion.choices[0]!.message.content, plain.choices[0]!.message.content, "greedy: the same answer");
    assert.equal(completion.choices[0]!.logprobs, null);
    const zeros = await client.chat.completions.create({ model: "tiny", messages, max_tokens: 6, top_logprobs: 0, logit_bias: null, stop: [], n: 1, user: null as unknown as string, metadata: null });
    assert.equal(zeros.choices[0]!.message.content, plain.choices[0]!.message.content);
    const text = await client.completions.create({ model: "tiny", prompt: "The blender is", max_tokens: 2, logprobs: null, stop: null, presence_penalty: 0, frequency_penalty: 0, logit_bias: {}, user: "u", seed: 0 });
    assert.equal(text.choices[0]!.logprobs, null);
  });

  it("stop ends the answer before the stop string, streamed or not", async () => {
    const free = (await client.chat.completions.create({ model: "tiny", messages, max_tokens: 24 })).choices[0]!.message.content!;
    const stop = free.slice(4, 6);
    const stopped = await client.chat.completions.create({ model: "tiny", messages, max_tokens: 24, stop: [stop, "never-seen"] });
    assert.equal(stopped.choices[0]!.message.content, free.slice(0, free.indexOf(stop)));
    assert.equal(stopped.choices[0]!.finish_reason, "stop");
    const stream = await client.chat.completions.create({ model: "tiny", messages, max_tokens: 24, stop, stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    assert.equal(text, stopped.choices[0]!.message.content);
    const completion = await client.completions.create({ model: "tiny", prompt: "The blender is", max_tokens: 24 });
    const textStop = completion.choices[0]!.text.slice(3, 5);
    const stoppedText = await client.completions.create({ model: "tiny", prompt: "The blender is", max_tokens: 24, stop: textStop });
    assert.equal(stoppedText.choices[0]!.text, completion.choices[0]!.text.slice(0, completion.choices[0]!.text.indexOf(textStop)));
    await assert.rejects(client.chat.completions.create({ model: "tiny", messages, stop: ["a", "b", "c", "d", "e"] }), OpenAI.BadRequestError);
  });

  it("the penalties change a greedy answer; the same seed repeats a sampled one", async () => {
    const plain = await client.chat.completions.create({ model: "tiny", messages, max_tokens: 40 });
    const penalized = await client.chat.completions.create({ model: "tiny", messages, max_tokens: 40, presence_penalty: 2, frequency_penalty: 2 });
    assert.notEqual(penalized.choices[0]!.message.content, plain.choices[0]!.message.content);
    const sampled = (seed: number) => client.chat.completions.create({ model: "tiny", messages, max_tokens: 12, temperature: 1, seed }).then((answer) => answer.choices[0]!.message.content);
    assert.equal(await sampled(11), await sampled(11));
    assert.notEqual(await sampled(11), await sampled(12));
  });

  it("logprobs and top_logprobs, in the chat and the legacy completions shapes", async () => {
    const completion = await client.chat.completions.create({ model: "tiny", messages, max_tokens: 5, logprobs: true, top_logprobs: 2 });
    const content = completion.choices[0]!.logprobs!.content!;
    assert.equal(content.length, 5);
    for (const entry of content) {
      assert.ok(entry.logprob <= 0);
      assert.equal(entry.top_logprobs.length, 2);
      assert.ok(Math.abs(entry.top_logprobs[0]!.logprob - entry.logprob) < 1e-4, "greedy: the chosen token is the likeliest");
    }
    const stream = await client.chat.completions.create({ model: "tiny", messages, max_tokens: 5, logprobs: true, stream: true });
    const streamed = [];
    for await (const chunk of stream) streamed.push(...(chunk.choices[0]?.logprobs?.content ?? []));
    assert.deepEqual(streamed.map((entry) => entry.token), content.map((entry) => entry.token));
    const text = await client.completions.create({ model: "tiny", prompt: "The blender is", max_tokens: 3, logprobs: 2 });
    assert.equal(text.choices[0]!.logprobs!.token_logprobs!.length, 3);
    assert.equal(Object.keys(text.choices[0]!.logprobs!.top_logprobs![0]!).length, 2);
    await assert.rejects(client.chat.completions.create({ model: "tiny", messages, top_logprobs: 2 }), (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === "top_logprobs");
    await assert.rejects(client.chat.completions.create({ model: "tiny", messages, logit_bias: { "50256": -100 } }), (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === "logit_bias");
  });

  it("a lone surrogate in a message is a 400 naming the field, not the engine's 500", async () => {
    const broken = [{ role: "user" as const, content: "great \ud800 blender" }];
    await assert.rejects(client.chat.completions.create({ model: "tiny", messages: broken, max_tokens: 4 }), (error: unknown) => {
      assert.ok(error instanceof OpenAI.BadRequestError, String(error));
      assert.equal(error.param, "messages.0.content");
      assert.match(error.message, /lone UTF-16 surrogate/);
      return true;
    });
    await assert.rejects(client.completions.create({ model: "tiny", prompt: ["fine", "x\udc00"], max_tokens: 4 }), (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === "prompt.1");
    await assert.rejects(client.embeddings.create({ model: "all-minilm-l6-v2", input: "\ud83d" }), OpenAI.BadRequestError);
    // A whole pair is a character like any other.
    const emoji = await client.chat.completions.create({ model: "tiny", messages: [{ role: "user", content: "great \ud83d\ude00 blender" }], max_tokens: 2 });
    assert.equal(emoji.choices[0]!.finish_reason, "length");
  });

  it("bench serve measures it (a few requests)", async () => {
    const [result] = await benchServe({
      targets: [{ label: "torch", url: client.baseURL.replace(/\/v1$/, "") }],
      concurrency: 2,
      requests: 4,
      maxTokens: 4,
      timeLimitSeconds: 60,
      apiKey: "test-key",
      dollarsPerHour: 0.1,
    });
    assert.equal(result!.model, "good", "the first loaded adapter by default");
    assert.equal(result!.completed, 4);
    assert.equal(result!.errors, 0);
    assert.ok(result!.latency.p50 > 0 && result!.latency.p99 >= result!.latency.p50);
    assert.equal(result!.meanCompletionTokens, 4);
    const memory = result!.peakMemoryBytes!;
    assert.ok(memory.server > 0 && memory.engine! > 50 * 1024 ** 2, `the server's and the torch engine's peaks: ${JSON.stringify(memory)}`);
  });

  it("a client that disconnects mid-stream cancels its generation", async () => {
    const full = await client.chat.completions.create({ model: "tiny", messages, max_tokens: 300 });
    assert.equal(full.usage!.completion_tokens, 300, "without a disconnect this prompt runs to 300 tokens");
    const stream = await client.chat.completions.create({ model: "base", messages, max_tokens: 300, stream: true });
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) break; // leaving the loop aborts the HTTP request
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    await server.context.queue.onIdle();
    const metrics = await server.context.metrics.registry.getSingleMetricAsString("reviewtune_tokens_total");
    const generated = Number(/reviewtune_tokens_total\{model="base",kind="completion"\} (\d+)/.exec(metrics)?.[1]);
    assert.ok(generated > 0 && generated < 300, `the engine stopped early (${generated} of 300 tokens)`);
  });
});
