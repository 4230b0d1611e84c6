// Every route and error in process (fastify inject), over the real engine on a tiny random Llama:
// completions (JSON and SSE), models, health/ready/metrics, validation, auth, CORS, body limits, the
// bounded queue, timeouts, adapter fallback, run-time adapter loading, and an engine killed mid-request.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createServer, type ReviewtuneServer } from "./server.js";
import { TorchBackend } from "@reviewtune/core";
import { makeTinyFixtures, type TinyFixtures } from "./testing/tiny-models.js";

let fixtures: TinyFixtures;
let backend: TorchBackend;
let server: ReviewtuneServer;
let restarts = 0;

const chat = (model: string, extra: Record<string, unknown> = {}) => ({
  model,
  messages: [{ role: "user", content: "Is this blender any good?" }],
  max_tokens: 4,
  ...extra,
});

/** The `data:` payloads of an SSE body, [DONE] included as a string. */
function sseEvents(payload: string): unknown[] {
  return payload
    .split("\n\n")
    .filter((block) => block.startsWith("data: "))
    .map((block) => block.slice(6))
    .map((data) => (data === "[DONE]" ? data : JSON.parse(data)));
}

async function metric(app: ReviewtuneServer["app"], line: RegExp): Promise<number> {
  const text = (await app.inject({ method: "GET", url: "/metrics" })).payload;
  const found = text.split("\n").find((entry) => line.test(entry));
  return found ? Number(found.split(" ").at(-1)) : 0;
}

/** A dataset folder of three training examples (the shape `data build` writes) for `references: true`. */
function referenceDataset(folder: string): string {
  const dataset = join(folder, "refs-dataset");
  mkdirSync(dataset, { recursive: true });
  const example = (group: string, task: string, question: string, answer: string) =>
    JSON.stringify({ group, task, messages: [{ role: "user", content: question }, { role: "assistant", content: answer }] });
  writeFileSync(
    join(dataset, "train.jsonl"),
    [
      example("r1", "sentiment", "What is the sentiment of this review? The kettle boils fast but the lid cracked.", "Sentiment: mixed."),
      example("r2", "rating", "How many stars does this review imply? The blender is loud and broke in a week.", "Rating: 1/5 stars."),
      example("r3", "sentiment", "What is the sentiment of this review? These running shoes are light and comfortable.", "Sentiment: positive."),
    ].join("\n") + "\n",
  );
  return dataset;
}

before(async () => {
  fixtures = makeTinyFixtures();
  backend = new TorchBackend({ model: { source: fixtures.model, allow_pickle: false }, onEngineRestart: () => (restarts += 1) });
  server = createServer({
    backend,
    baseId: "tiny",
    adapters: [
      { name: "good", dir: fixtures.adapters.good },
      { name: "corrupt", dir: fixtures.adapters.corrupt },
      { name: "untrained", dir: fixtures.adapters.untrained },
      { name: "missing", dir: `${fixtures.work}/no-such-adapter` },
      // The same weights, served as a run trained with grounded prompts.
      { name: "grounded", dir: fixtures.adapters.good },
    ],
    runsDir: fixtures.runsDir,
    references: { dataset: referenceDataset(fixtures.work) },
    grounded: [{ adapter: "grounded", dataset: referenceDataset(fixtures.work) }],
    classifiers: [{ name: "sentiment-run", choice: { model: { source: fixtures.model, allow_pickle: false }, adapter: fixtures.classifier } }],
    maxTokensLimit: 64,
    bodyLimitBytes: 4096,
  });
  const said: string[] = [];
  await server.prepare({ say: (line) => said.push(line) });
  // The first start embeds the references and says how far it got (the last batch always).
  assert.equal(said.at(-1), "training references: 3 of 3 new examples embedded");
});

after(async () => {
  await server?.close();
});

describe("serve: routes", () => {
  it("health, ready and the model list with each adapter's state", async () => {
    assert.deepEqual((await server.app.inject({ method: "GET", url: "/health" })).json(), { status: "ok" });
    assert.equal((await server.app.inject({ method: "GET", url: "/ready" })).statusCode, 200);
    const models = (await server.app.inject({ method: "GET", url: "/v1/models" })).json() as { data: Array<{ id: string; reviewtune: { status: string; error: { code: string } | null; max_abs_logit_diff: number | null } }> };
    const byId = Object.fromEntries(models.data.map((model) => [model.id, model.reviewtune]));
    assert.deepEqual(Object.keys(byId), ["tiny", "all-minilm-l6-v2", "good", "corrupt", "untrained", "missing", "grounded"]);
    assert.equal(byId.good!.status, "loaded");
    assert.ok(byId.good!.max_abs_logit_diff! > 1e-3, "the probe saw the adapter change the logits");
    assert.equal(byId.corrupt!.error!.code, "corrupt_weights");
    assert.equal(byId.untrained!.error!.code, "adapter_no_effect");
    assert.equal(byId.missing!.error!.code, "adapter_not_found");
    assert.doesNotMatch(JSON.stringify(models), new RegExp(fixtures.work), "server paths never reach clients");
    assert.equal((await server.app.inject({ method: "GET", url: "/v1/models/good" })).statusCode, 200);
    assert.equal((await server.app.inject({ method: "GET", url: "/v1/models/nope" })).statusCode, 404);
  });

  it("chat completion: OpenAI shape, usage, who answered; base and adapter answer differently", async () => {
    const tuned = await server.app.inject({ method: "POST", url: "/v1/chat/completions", payload: chat("good", { max_tokens: 6 }) });
    assert.equal(tuned.statusCode, 200, tuned.payload);
    assert.equal(tuned.headers["x-reviewtune-model"], "good");
    assert.equal(tuned.headers["x-reviewtune-fallback"], undefined);
    const body = tuned.json();
    assert.equal(body.object, "chat.completion");
    assert.equal(body.choices[0].message.role, "assistant");
    assert.equal(body.usage.completion_tokens, 6);
    assert.ok(body.usage.prompt_tokens > 5);
    assert.deepEqual(body.reviewtune, { backend: "torch", adapter: "good", fallback: null });
    const base = (await server.app.inject({ method: "POST", url: "/v1/chat/completions", payload: chat("base", { max_tokens: 6 }) })).json();
    assert.notEqual(base.choices[0].message.content, body.choices[0].message.content);
    const again = (await server.app.inject({ method: "POST", url: "/v1/chat/completions", payload: chat("tiny", { max_tokens: 6 }) })).json();
    assert.equal(again.choices[0].message.content, base.choices[0].message.content, "greedy by default: the same answer twice");
  });

  it("chat streaming: role chunk, token chunks that add up to the answer, finish, usage, [DONE]", async () => {
    const whole = (await server.app.inject({ method: "POST", url: "/v1/chat/completions", payload: chat("good", { max_tokens: 5 }) })).json();
    const streamed = await server.app.inject({ method: "POST", url: "/v1/chat/completions", payload: chat("good", { max_tokens: 5, stream: true, stream_options: { include_usage: true } }) });
    assert.equal(streamed.statusCode, 200);
    assert.match(String(streamed.headers["content-type"]), /text\/event-stream/);
    const events = sseEvents(streamed.payload) as any[];
    assert.equal(events.at(-1), "[DONE]");
    assert.deepEqual(events[0].choices[0].delta, { role: "assistant", content: "" });
    const text = events.flatMap((event) => (typeof event === "string" ? [] : event.choices.map((choice: any) => choice.delta.content ?? ""))).join("");
    assert.equal(text, whole.choices[0].message.content);
    assert.equal(events.at(-3).choices[0].finish_reason, "length");
    assert.equal(events.at(-2).usage.completion_tokens, 5);
  });

  it("text completions: one prompt or several, streamed or not", async () => {
    const response = await server.app.inject({ method: "POST", url: "/v1/completions", payload: { model: "tiny", prompt: ["The blender", "The jar"], max_tokens: 3 } });
    assert.equal(response.statusCode, 200, response.payload);
    const body = response.json();
    assert.equal(body.object, "text_completion");
    assert.deepEqual(body.choices.map((choice: any) => choice.index), [0, 1]);
    assert.equal(body.usage.completion_tokens, 6);
    const streamed = await server.app.inject({ method: "POST", url: "/v1/completions", payload: { model: "tiny", prompt: "The blender", max_tokens: 3, stream: true } });
    const events = sseEvents(streamed.payload) as any[];
    assert.equal(events.at(-1), "[DONE]");
    const single = (await server.app.inject({ method: "POST", url: "/v1/completions", payload: { model: "tiny", prompt: "The blender", max_tokens: 3 } })).json();
    assert.equal(events.slice(0, -1).map((event) => event.choices[0]?.text ?? "").join(""), single.choices[0].text);
  });
});

describe("serve: embeddings", () => {
  it("the embedded MiniLM: 384 normalized dimensions, similar reviews closer than different ones", async () => {
    const texts = ["This blender is great, it crushes ice.", "A great blender that crushes ice easily.", "The battery died after two hours."];
    const response = await server.app.inject({ method: "POST", url: "/v1/embeddings", payload: { model: "all-minilm-l6-v2", input: texts } });
    assert.equal(response.statusCode, 200, response.payload);
    const body = response.json() as { data: Array<{ index: number; embedding: number[] }>; usage: { prompt_tokens: number } };
    const vectors = body.data.map((entry) => entry.embedding);
    assert.deepEqual(vectors.map((vector) => vector.length), [384, 384, 384]);
    const dot = (a: number[], b: number[]) => a.reduce((sum, value, index) => sum + value * b[index]!, 0);
    for (const vector of vectors) assert.ok(Math.abs(dot(vector, vector) - 1) < 1e-4);
    assert.ok(dot(vectors[0]!, vectors[1]!) > dot(vectors[0]!, vectors[2]!) + 0.2);
    assert.ok(body.usage.prompt_tokens > 10);
    const base64 = (await server.app.inject({ method: "POST", url: "/v1/embeddings", payload: { model: "all-minilm-l6-v2", input: texts[0], encoding_format: "base64" } })).json();
    // Buffer.from may hand out a slice of a shared pool: copy exactly its bytes before viewing them as float32.
    const bytes = Buffer.from(base64.data[0].embedding, "base64");
    const decoded = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    assert.equal(decoded.length, 384);
    // The same text alone as floats: equal to float32 precision (in a batch, padding may move the last digits).
    const alone = (await server.app.inject({ method: "POST", url: "/v1/embeddings", payload: { model: "all-minilm-l6-v2", input: texts[0] } })).json();
    assert.ok(decoded.every((value, index) => Math.abs(value - alone.data[0].embedding[index]) < 1e-6));
    assert.ok(Math.abs(decoded[0]! - vectors[0]![0]!) < 1e-4);
    const wrong = await server.app.inject({ method: "POST", url: "/v1/embeddings", payload: { model: "text-embedding-3-small", input: "x" } });
    assert.equal(wrong.statusCode, 404);
    const dimensions = await server.app.inject({ method: "POST", url: "/v1/embeddings", payload: { model: "all-minilm-l6-v2", input: "x", dimensions: 64 } });
    assert.equal(dimensions.statusCode, 400);
  });
});

describe("serve: errors are OpenAI-shaped and say what to fix", () => {
  const post = (payload: unknown, headers: Record<string, string> = {}) => server.app.inject({ method: "POST", url: "/v1/chat/completions", payload: payload as any, headers });

  it("validation: unknown fields, bad values, unknown model, max_tokens over the limit", async () => {
    const unknown = await post({ ...chat("tiny"), best_of: 2 });
    assert.equal(unknown.statusCode, 400);
    assert.equal(unknown.json().error.type, "invalid_request_error");
    assert.match(unknown.json().error.message, /Unrecognized key: "best_of"/);
    const badTemperature = await post(chat("tiny", { temperature: 7 }));
    assert.equal(badTemperature.statusCode, 400);
    assert.equal(badTemperature.json().error.param, "temperature");
    const noMessages = await post({ model: "tiny", messages: [] });
    assert.equal(noMessages.json().error.param, "messages");
    const model = await post(chat("gpt-4"));
    assert.equal(model.statusCode, 404);
    assert.equal(model.json().error.code, "model_not_found");
    assert.match(model.json().error.message, /tiny, good/);
    const tooMany = await post(chat("tiny", { max_tokens: 65 }));
    assert.equal(tooMany.statusCode, 400);
    assert.equal(tooMany.json().error.code, "max_tokens_too_large");
    const n = await post(chat("tiny", { n: 2 }));
    assert.equal(n.json().error.param, "n");
    const tools = await post(chat("tiny", { tools: [{ type: "function", function: { name: "lookup", parameters: { type: "object" } } }] }));
    assert.equal(tools.statusCode, 400);
    assert.equal(tools.json().error.param, "tools");
    assert.match(tools.json().error.message, /function calling \(tools\) is not supported by this server: ask for JSON with response_format json_schema/);
    assert.equal((await post(chat("tiny", { tools: [], tool_choice: "none", max_tokens: 1 }))).statusCode, 200, "what clients send by default asks for nothing");
  });

  it("no request can name a file path", async () => {
    const path = await post(chat(fixtures.adapters.good));
    assert.equal(path.statusCode, 404, "a path is not a model name");
    const admin = await server.app.inject({ method: "POST", url: "/admin/adapters", payload: { name: "x", run: "../runs" } });
    assert.equal(admin.statusCode, 400);
    assert.equal(admin.json().error.param, "run");
  });

  it("bad JSON 400, wrong content type 415, body over the limit 413, unknown route 404", async () => {
    const json = await post("{not json", { "content-type": "application/json" });
    assert.equal(json.statusCode, 400);
    assert.ok(json.json().error.message);
    const type = await post("hello", { "content-type": "text/plain" });
    assert.equal(type.statusCode, 415);
    assert.equal(type.json().error.code, "unsupported_media_type");
    assert.match(type.json().error.message, /send the body as JSON with the header content-type: application\/json/);
    const big = await post(chat("tiny", { messages: [{ role: "user", content: "x".repeat(5000) }] }));
    assert.equal(big.statusCode, 413);
    assert.equal(big.json().error.code, "body_too_large");
    const route = await server.app.inject({ method: "GET", url: "/v1/embeddings/nope" });
    assert.equal(route.statusCode, 404);
    assert.equal(route.json().error.code, "not_found");
  });
});

describe("serve: adapters", () => {
  it("a corrupt adapter: answered by the base, marked in a header and the body, counted", async () => {
    const before = await metric(server.app, /^reviewtune_fallback_responses_total\{adapter="corrupt",reason="corrupt_weights"\}/);
    const response = await server.app.inject({ method: "POST", url: "/v1/chat/completions", payload: chat("corrupt", { max_tokens: 6 }) });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers["x-reviewtune-fallback"], "corrupt_weights");
    assert.equal(response.headers["x-reviewtune-model"], "base");
    const body = response.json();
    assert.equal(body.reviewtune.adapter, null);
    assert.equal(body.reviewtune.fallback.code, "corrupt_weights");
    const base = (await server.app.inject({ method: "POST", url: "/v1/chat/completions", payload: chat("tiny", { max_tokens: 6 }) })).json();
    assert.equal(body.choices[0].message.content, base.choices[0].message.content, "the fallback answer is the base model's");
    assert.equal(await metric(server.app, /^reviewtune_fallback_responses_total\{adapter="corrupt",reason="corrupt_weights"\}/), before + 1);
    assert.equal(await metric(server.app, /^reviewtune_adapter_load_failures_total\{adapter="corrupt",reason="corrupt_weights"\}/), 1);
    const streamed = await server.app.inject({ method: "POST", url: "/v1/chat/completions", payload: chat("corrupt", { stream: true }) });
    assert.equal(streamed.headers["x-reviewtune-fallback"], "corrupt_weights");
    assert.equal((sseEvents(streamed.payload)[0] as any).reviewtune.fallback.code, "corrupt_weights");
  });

  it("loads a run's adapter by id at run time and unloads it", async () => {
    const loaded = await server.app.inject({ method: "POST", url: "/admin/adapters", payload: { name: "second", run: fixtures.runId } });
    assert.equal(loaded.statusCode, 201, loaded.payload);
    assert.equal(loaded.json().status, "loaded");
    const answer = await server.app.inject({ method: "POST", url: "/v1/chat/completions", payload: chat("second") });
    assert.equal(answer.json().reviewtune.adapter, "second");
    const missing = await server.app.inject({ method: "POST", url: "/admin/adapters", payload: { name: "third", run: "no-such-run" } });
    assert.equal(missing.statusCode, 404);
    assert.equal((await server.app.inject({ method: "DELETE", url: "/admin/adapters/second" })).statusCode, 200);
    assert.equal((await server.app.inject({ method: "POST", url: "/v1/chat/completions", payload: chat("second") })).statusCode, 404);
    assert.equal((await server.app.inject({ method: "DELETE", url: "/admin/adapters/second" })).statusCode, 404);
  });

  it("a run trained with grounded prompts, loaded by id, is asked with its dataset's nearest example; its folder gone is a 400", async () => {
    const record = JSON.parse(readFileSync(join(fixtures.runsDir, fixtures.runId, "run.json"), "utf8"));
    const copy = (id: string, train: string) => {
      mkdirSync(join(fixtures.runsDir, id), { recursive: true });
      writeFileSync(join(fixtures.runsDir, id, "run.json"), JSON.stringify({ ...record, id, config: { ...record.config, data: { ...record.config.data, train, grounding: "nearest" } } }));
    };
    copy("grounded-run", referenceDataset(fixtures.work));
    copy("grounded-gone", join(fixtures.work, "no-such-dataset"));
    const loaded = await server.app.inject({ method: "POST", url: "/admin/adapters", payload: { name: "later", run: "grounded-run" } });
    assert.equal(loaded.statusCode, 201, loaded.payload);
    const answer = await server.app.inject({ method: "POST", url: "/v1/chat/completions", payload: { model: "later", messages: [{ role: "user", content: "What is the sentiment? The kettle boils fast, but its lid cracked." }], max_tokens: 2 } });
    assert.equal(answer.json().reviewtune.grounding.review, "r1");
    const gone = await server.app.inject({ method: "POST", url: "/admin/adapters", payload: { name: "gone", run: "grounded-gone" } });
    assert.equal(gone.statusCode, 400);
    assert.equal(gone.json().error.code, "grounding_data_missing");
    assert.equal((await server.app.inject({ method: "DELETE", url: "/admin/adapters/later" })).statusCode, 200);
  });
});

describe("serve: robustness and security", () => {
  it("a full queue answers 429 with Retry-After", async () => {
    const small = createServer({ backend, baseId: "tiny", queueCapacity: 1 });
    const requests = [0, 1, 2].map(() => small.app.inject({ method: "POST", url: "/v1/chat/completions", payload: chat("tiny", { max_tokens: 8 }) }));
    const statuses = (await Promise.all(requests)).map((response) => response.statusCode);
    assert.deepEqual(statuses, [200, 200, 429]);
    const refused = await requests[2]!;
    assert.ok(Number(refused.headers["retry-after"]) >= 1);
    assert.equal(refused.json().error.code, "queue_full");
    await small.app.close();
  });

  it("a request over its time limit is cancelled and answered 504; the next one is fine", async () => {
    const quick = createServer({ backend, baseId: "tiny", requestTimeoutMs: 1, maxTokensLimit: 500 });
    const slow = await quick.app.inject({ method: "POST", url: "/v1/chat/completions", payload: chat("tiny", { max_tokens: 400 }) });
    assert.equal(slow.statusCode, 504);
    assert.equal(slow.json().error.code, "request_timeout");
    await quick.context.queue.onIdle();
    const next = await server.app.inject({ method: "POST", url: "/v1/chat/completions", payload: chat("tiny") });
    assert.equal(next.statusCode, 200);
    await quick.app.close();
  });

  it("an API key is required when set (but not for /health), CORS is off unless configured", async () => {
    const locked = createServer({ backend, baseId: "tiny", apiKey: "s3cret", corsOrigins: ["http://studio.local"] });
    assert.equal((await locked.app.inject({ method: "GET", url: "/v1/models" })).statusCode, 401);
    assert.equal((await locked.app.inject({ method: "GET", url: "/v1/models", headers: { authorization: "Bearer wrong!" } })).json().error.code, "invalid_api_key");
    assert.equal((await locked.app.inject({ method: "GET", url: "/v1/models", headers: { authorization: "Bearer s3cret" } })).statusCode, 200);
    assert.equal((await locked.app.inject({ method: "GET", url: "/health" })).statusCode, 200);
    const allowed = await locked.app.inject({ method: "GET", url: "/health", headers: { origin: "http://studio.local" } });
    assert.equal(allowed.headers["access-control-allow-origin"], "http://studio.local");
    const other = await locked.app.inject({ method: "GET", url: "/health", headers: { origin: "http://evil.example" } });
    assert.equal(other.headers["access-control-allow-origin"], undefined);
    // A preflight is answered before the API key is asked for (browsers send none with it), and only
    // for an allowed origin: another page's gets the 403 its request would get, naming the flag.
    // The headers asked for are OpenAI's JavaScript client's (openai 6): it sends them with every request.
    const sdkHeaders = "authorization,content-type,x-stainless-arch,x-stainless-lang,x-stainless-os,x-stainless-package-version,x-stainless-retry-count,x-stainless-runtime,x-stainless-runtime-version,x-stainless-timeout";
    const preflight = (origin: string) =>
      locked.app.inject({ method: "OPTIONS", url: "/v1/chat/completions", headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": sdkHeaders } });
    const allowedPreflight = await preflight("http://studio.local");
    assert.equal(allowedPreflight.statusCode, 204);
    assert.equal(allowedPreflight.headers["access-control-allow-origin"], "http://studio.local");
    const allowedHeaders = String(allowedPreflight.headers["access-control-allow-headers"]).split(/,\s*/);
    for (const header of sdkHeaders.split(",")) assert.ok(allowedHeaders.includes(header), `${header} is not allowed: ${allowedHeaders.join(", ")}`);
    const otherPreflight = await preflight("http://evil.example");
    assert.equal(otherPreflight.statusCode, 403);
    assert.match(otherPreflight.json().error.message, /--cors-origin http:\/\/evil\.example/);
    const open = await server.app.inject({ method: "GET", url: "/health", headers: { origin: "http://studio.local" } });
    assert.equal(open.headers["access-control-allow-origin"], undefined);
    await locked.app.close();
  });

  it("killing the engine mid-request: 503 for that request, the engine restarts, the next request succeeds", async () => {
    const oldPid = backend.pid;
    // The engine is killed when it has produced its first token, so the request is surely in flight
    // (a fixed delay raced the tiny model, which can finish 64 tokens within it on a fast machine).
    const generate = backend.generate.bind(backend);
    backend.generate = (request) =>
      generate({
        ...request,
        onToken: (index, text) => {
          request.onToken?.(index, text);
          backend.killEngine();
        },
      });
    let failed;
    try {
      failed = await server.app.inject({ method: "POST", url: "/v1/chat/completions", payload: chat("good", { max_tokens: 64 }) });
    } finally {
      backend.generate = generate;
    }
    assert.equal(failed.statusCode, 503);
    assert.equal(failed.json().error.code, "engine_restarting");
    assert.ok(failed.headers["retry-after"]);
    const next = await server.app.inject({ method: "POST", url: "/v1/chat/completions", payload: chat("good") });
    assert.equal(next.statusCode, 200, next.payload);
    assert.equal(next.json().reviewtune.adapter, "good", "adapters are loaded again after the restart");
    assert.notEqual(backend.pid, oldPid);
    assert.equal(restarts, 1);
    assert.equal(await metric(server.app, /^reviewtune_engine_restarts_total /), 1);
    assert.equal((await server.app.inject({ method: "GET", url: "/ready" })).statusCode, 200);
  });
});

describe("POST /v1/classify", () => {
  it("answers a label and a probability per class for each input, in order", async () => {
    const input = ["Loved it, works perfectly.", "Broke on day two.", "It is a kettle."];
    const response = await server.app.inject({ method: "POST", url: "/v1/classify", payload: { model: "sentiment-run", input } });
    assert.equal(response.statusCode, 200, response.payload);
    const body = response.json();
    assert.deepEqual(body.labels, ["negative", "neutral", "positive"]);
    assert.deepEqual(body.data.map((entry: { index: number }) => entry.index), [0, 1, 2]);
    for (const entry of body.data) {
      const probabilities = Object.values(entry.probabilities) as number[];
      assert.ok(Math.abs(probabilities.reduce((sum, value) => sum + value, 0) - 1) < 1e-4);
      assert.equal(entry.label, body.labels[probabilities.indexOf(Math.max(...probabilities))]);
    }
    const single = await server.app.inject({ method: "POST", url: "/v1/classify", payload: { model: "sentiment-run", input: input[1] } });
    const alone = single.json().data[0];
    assert.equal(alone.label, body.data[1].label, "one text alone gets the same answer as in a batch");
    for (const [label, probability] of Object.entries(alone.probabilities)) assert.ok(Math.abs((probability as number) - body.data[1].probabilities[label]) < 1e-4);
  });

  it("names the classifiers it has for an unknown model, and validates the body", async () => {
    const unknown = await server.app.inject({ method: "POST", url: "/v1/classify", payload: { model: "tiny", input: "x" } });
    assert.equal(unknown.statusCode, 404);
    assert.match(unknown.json().error.message, /this server has: sentiment-run/);
    const bad = await server.app.inject({ method: "POST", url: "/v1/classify", payload: { model: "sentiment-run", input: [] } });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.param, "input");
  });
});

describe("training references (references: true)", () => {
  const question = "How many stars does this review imply? The blender is loud and broke in a week.";
  const ask = (references: unknown, extra: Record<string, unknown> = {}) =>
    server.app.inject({ method: "POST", url: "/v1/chat/completions", payload: { ...chat("good"), messages: [{ role: "user", content: question }], references, ...extra } });

  it("answers with the most similar training examples, the same question first", async () => {
    const response = await ask(true);
    assert.equal(response.statusCode, 200, response.payload);
    const references = response.json().reviewtune.references as Array<{ similarity: number; task: string; review: string; prompt: string; answer: string }>;
    assert.equal(references.length, 3, "k defaults to 3");
    assert.equal(references[0]!.review, "r2");
    assert.equal(references[0]!.answer, "Rating: 1/5 stars.");
    assert.ok(references[0]!.similarity > 0.99, `the same text is nearly identical (${references[0]!.similarity})`);
    assert.ok(references[1]!.similarity <= references[0]!.similarity && references[2]!.similarity <= references[1]!.similarity, "best first");
    const without = await server.app.inject({ method: "POST", url: "/v1/chat/completions", payload: chat("good") });
    assert.equal(without.json().reviewtune.references, undefined, "only when asked");
  });

  it("k and task narrow them; a stream carries them in its first chunk", async () => {
    const narrowed = (await ask({ k: 1, task: "sentiment" })).json().reviewtune.references;
    assert.equal(narrowed.length, 1);
    assert.equal(narrowed[0].task, "sentiment");
    const streamed = await ask({ k: 2 }, { stream: true });
    assert.equal(streamed.statusCode, 200);
    const first = sseEvents(streamed.payload)[0] as { reviewtune: { references: Array<{ review: string }> } };
    assert.deepEqual(first.reviewtune.references.map((reference) => reference.review).slice(0, 1), ["r2"]);
    assert.equal(first.reviewtune.references.length, 2);
  });

  it("an adapter trained with grounded prompts is asked with the question's nearest training example; others are not", async () => {
    const messages = [{ role: "user", content: "How many stars? The blender is loud and it broke within a week." }];
    const grounded = await server.app.inject({ method: "POST", url: "/v1/chat/completions", payload: { model: "grounded", messages, max_tokens: 4 } });
    assert.equal(grounded.statusCode, 200, grounded.payload);
    const neighbour = grounded.json().reviewtune.grounding as { review: string; answer: string; similarity: number };
    assert.equal(neighbour.review, "r2");
    assert.equal(neighbour.answer, "Rating: 1/5 stars.");
    const plain = await server.app.inject({ method: "POST", url: "/v1/chat/completions", payload: { model: "good", messages, max_tokens: 4 } });
    assert.equal(plain.json().reviewtune.grounding, undefined);
    // The same weights read the neighbour's question and answer too: a longer prompt.
    assert.ok(grounded.json().usage.prompt_tokens > plain.json().usage.prompt_tokens + 15, `${grounded.json().usage.prompt_tokens} vs ${plain.json().usage.prompt_tokens}`);
    const streamed = await server.app.inject({ method: "POST", url: "/v1/chat/completions", payload: { model: "grounded", messages, max_tokens: 2, stream: true } });
    assert.equal((sseEvents(streamed.payload)[0] as { reviewtune: { grounding: { review: string } } }).reviewtune.grounding.review, "r2");
  });

  it("a server without a reference dataset says how to start one; bad options are 400s naming the field", async () => {
    const plain = createServer({ backend, baseId: "tiny" });
    const refused = await plain.app.inject({ method: "POST", url: "/v1/chat/completions", payload: { ...chat("tiny"), references: true } });
    assert.equal(refused.statusCode, 400);
    assert.equal(refused.json().error.code, "references_unavailable");
    assert.match(refused.json().error.message, /--references/);
    await plain.app.close();
    // One that cannot have them (the llama.cpp backend) says why instead of how to start it.
    const llama = createServer({ backend, baseId: "tiny", referencesUnavailable: "the llama.cpp backend does not serve them" });
    const why = await llama.app.inject({ method: "POST", url: "/v1/chat/completions", payload: { ...chat("tiny"), references: true } });
    assert.equal(why.json().error.message, "this server has no training references: the llama.cpp backend does not serve them");
    await llama.app.close();
    const bad = await ask({ k: 0 });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.param, "references.k");
  });
});
