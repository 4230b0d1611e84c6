// Serving under hostile conditions, over real HTTP and the real engine on a tiny random Llama (its
// context is 2,048 tokens): prompts past the context or --max-prompt-tokens refused before anything is
// computed, clients that leave counted as such in the metrics, and /ready (not /health) saying not
// ready through an engine restart and a drain.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { TorchBackend, type GenerationRequest } from "@reviewtune/core";
import { createServer, type ReviewtuneServer } from "./server.js";
import { makeTinyFixtures, type TinyFixtures } from "./testing/tiny-models.js";

let fixtures: TinyFixtures;
let backend: TorchBackend;
let server: ReviewtuneServer;
let url: string;

const post = (path: string, body: unknown, signal?: AbortSignal) =>
  fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), ...(signal ? { signal } : {}) });

const chat = (content: string, extra: Record<string, unknown> = {}) => ({ model: "tiny", messages: [{ role: "user", content }], max_tokens: 4, ...extra });

/** The value of the first /metrics line that starts with `prefix` (0 when absent). */
async function metric(prefix: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((entry) => entry.startsWith(prefix));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Replaces backend.generate for one test: `wrap` gets the real one. */
async function withGenerate<T>(wrap: (real: TorchBackend["generate"]) => TorchBackend["generate"], body: () => Promise<T>): Promise<T> {
  const real = backend.generate.bind(backend);
  backend.generate = wrap(real);
  try {
    return await body();
  } finally {
    backend.generate = real;
  }
}

const aborted = (signal: AbortSignal) => new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })));

before(async () => {
  fixtures = makeTinyFixtures();
  backend = new TorchBackend({ model: { source: fixtures.model, allow_pickle: false } });
  server = createServer({ backend, baseId: "tiny", maxTokensLimit: 4096 }); // above the context: the context check is what refuses
  await server.prepare();
  url = await server.app.listen({ host: "127.0.0.1", port: 0 });
});

after(async () => {
  await server?.close();
});

describe("serve: prompts that do not fit are refused before they are computed", () => {
  it("the issue's ~300 KB prompt gets 400 context_length_exceeded at once, and nothing is generated", async () => {
    const promptTokensBefore = await metric('reviewtune_tokens_total{model="tiny",kind="prompt"}');
    let generated = 0;
    const started = Date.now();
    const response = await withGenerate(
      (real) => (request) => {
        generated += 1;
        return real(request);
      },
      () => post("/v1/chat/completions", chat("great product. ".repeat(20_000), { max_tokens: 8 })),
    );
    const body = (await response.json()) as { error: { code: string; type: string; param: string; message: string } };
    assert.equal(response.status, 400, JSON.stringify(body));
    assert.equal(body.error.code, "context_length_exceeded");
    assert.equal(body.error.type, "invalid_request_error");
    assert.equal(body.error.param, "messages");
    assert.match(body.error.message, /maximum context length is 2048 tokens/);
    assert.equal(generated, 0, "the backend never generated");
    assert.equal(await metric('reviewtune_tokens_total{model="tiny",kind="prompt"}'), promptTokensBefore);
    assert.ok(Date.now() - started < 30_000, `answered in ${Date.now() - started} ms`);
    const next = await post("/v1/chat/completions", chat("Is this blender any good?"));
    assert.equal(next.status, 200, "the server answers the next request");
  });

  it("a short prompt whose max_tokens would run past the context is refused, naming max_tokens", async () => {
    const response = await post("/v1/chat/completions", chat("Is this blender any good?", { max_tokens: 2046 }));
    const body = (await response.json()) as { error: { code: string; message: string } };
    assert.equal(response.status, 400);
    assert.equal(body.error.code, "context_length_exceeded");
    assert.match(body.error.message, /2046 in the completion.*max_tokens/);
    assert.equal((await post("/v1/chat/completions", chat("Is this blender any good?", { max_tokens: 8 }))).status, 200);
  });

  it("--max-prompt-tokens refuses longer prompts, naming the prompt that is too long", async () => {
    const limited = createServer({ backend, baseId: "tiny", maxPromptTokens: 30 });
    try {
      const short = await limited.app.inject({ method: "POST", url: "/v1/completions", payload: { model: "tiny", prompt: ["Good.", "Fine."], max_tokens: 2 } });
      assert.equal(short.statusCode, 200, short.payload);
      const long = await limited.app.inject({ method: "POST", url: "/v1/completions", payload: { model: "tiny", prompt: ["Good.", "great product. ".repeat(40)], max_tokens: 2 } });
      assert.equal(long.statusCode, 400);
      assert.equal(long.json().error.code, "context_length_exceeded");
      assert.equal(long.json().error.param, "prompt");
      assert.match(long.json().error.message, /prompt\[1\] has \d+ tokens, over this server's limit of 30 prompt tokens \(serve --max-prompt-tokens\)/);
      const chatLong = await limited.app.inject({ method: "POST", url: "/v1/chat/completions", payload: chat("great product. ".repeat(40)) });
      assert.equal(chatLong.json().error.param, "messages");
    } finally {
      await limited.app.close();
    }
  });
});

describe("serve: metrics count a client that leaves as gone, not as answered", () => {
  /** Requests to chat completions that ended with `status`, as /metrics counts them. */
  const requests = (status: string) => metric(`reviewtune_http_request_duration_seconds_count{route="/v1/chat/completions",status="${status}"}`);

  it("a client that gives up before the answer is counted under status 499", async () => {
    const gone = await requests("499");
    const answered = await requests("200");
    const client = new AbortController();
    // The answer is held until the server has seen the client leave: the race is the test's, not the machine's.
    await withGenerate(
      (real) => async (request: GenerationRequest) => {
        const result = await real(request);
        setTimeout(() => client.abort(), 50);
        await aborted(request.signal);
        return result;
      },
      async () => {
        await assert.rejects(post("/v1/chat/completions", chat("Is this blender any good?"), client.signal), { name: "AbortError" });
        await until("the request to be counted", async () => ((await requests("499")) > gone ? true : undefined), 10_000);
      },
    );
    assert.equal(await requests("499"), gone + 1);
    assert.equal(await requests("200"), answered, "not counted as answered");
  });

  it("a stream the client leaves midway is counted under 499 too (its 200 header was already sent)", async () => {
    const gone = await requests("499");
    const answered = await requests("200");
    const client = new AbortController();
    await withGenerate(
      (real) => async (request: GenerationRequest) => {
        const result = await real(request);
        await aborted(request.signal); // the stream stays open until the client leaves
        return result;
      },
      async () => {
        const response = await post("/v1/chat/completions", chat("Is this blender any good?", { stream: true, max_tokens: 8 }), client.signal);
        assert.equal(response.status, 200);
        await response.body!.getReader().read(); // the first chunk arrived
        client.abort();
        await until("the stream to be counted", async () => ((await requests("499")) > gone ? true : undefined), 10_000);
      },
    );
    assert.equal(await requests("200"), answered);
  });
});

describe("serve: /health is liveness, /ready says whether requests can be answered", () => {
  const ready = async () => {
    const response = await fetch(`${url}/ready`);
    return { status: response.status, body: (await response.json()) as { status: string } };
  };

  it("while the engine restarts /ready is 503 (restarting) and /health stays 200; then ready again", async () => {
    assert.equal((await ready()).status, 200);
    backend.killEngine();
    const during = await until("/ready to say restarting", async () => {
      const answer = await ready();
      return answer.status === 503 ? answer : undefined;
    });
    assert.equal(during.body.status, "restarting");
    assert.equal((await fetch(`${url}/health`)).status, 200);
    await until("the engine to be back", async () => ((await ready()).status === 200 ? true : undefined));
    assert.equal((await post("/v1/chat/completions", chat("Is this blender any good?"))).status, 200);
  });

  // Last: it closes the server.
  it("while draining (Ctrl-C with a request in flight) /ready is 503 (draining), /health 200, and the request finishes", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const inFlight = new Promise<void>((resolve) => (started = resolve));
    backend.generate = ((real) => async (request: GenerationRequest) => {
      started();
      await held;
      return real(request);
    })(backend.generate.bind(backend));
    const answer = post("/v1/chat/completions", chat("Is this blender any good?"));
    await inFlight;
    const closing = server.close();
    const during = await ready();
    assert.equal(during.status, 503);
    assert.equal(during.body.status, "draining");
    assert.equal((await fetch(`${url}/health`)).status, 200);
    release();
    assert.equal((await answer).status, 200);
    await closing;
  });
});
