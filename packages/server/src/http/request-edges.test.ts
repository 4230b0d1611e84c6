// Small things real clients do (issue 16 item 8), on a server whose backend needs no model: a
// lowercase "bearer", a body-less DELETE that still says it is JSON, an adapter named like the
// embedding model, and a backend without an embedding model not listing one.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { GenerationBackend } from "@reviewtune/core";
import { createServer } from "../server.js";

const probe = { adapter: "x", rank: 4, alpha: 8, base_model: null, max_abs_logit_diff: 0.5, mean_abs_logit_diff: 0.1, top1_changed: false, probe_tokens: 8 };

function backend(extra: Partial<GenerationBackend> = {}): GenerationBackend {
  return {
    name: "torch",
    state: "ready",
    onRestart: () => undefined,
    whenReady: async () => undefined,
    start: async () => undefined,
    close: async () => undefined,
    loadAdapter: async (dir: string) => ({ ...probe, adapter: dir }),
    unloadAdapter: async () => undefined,
    ...extra,
  } as unknown as GenerationBackend;
}

describe("request edges", () => {
  it("the Authorization scheme is case-insensitive; a wrong key is still refused", async () => {
    const server = createServer({ backend: backend(), baseId: "tiny", apiKey: "s3cret" });
    const models = (authorization: string) => server.app.inject({ method: "GET", url: "/v1/models", headers: { authorization } });
    assert.equal((await models("bearer s3cret")).statusCode, 200);
    assert.equal((await models("BEARER s3cret")).statusCode, 200);
    assert.equal((await models("Bearer s3cret")).statusCode, 200);
    assert.equal((await models("bearer wrong")).statusCode, 401);
    assert.equal((await models("Basic s3cret")).statusCode, 401);
    assert.equal((await models("s3cret")).statusCode, 401);
    await server.app.close();
  });

  it("DELETE with a JSON content type and no body reaches the route; POST without a body is still a 400", async () => {
    const server = createServer({ backend: backend(), baseId: "tiny", adapters: [{ name: "tuned", dir: "/adapters/tuned" }] });
    await server.prepare();
    const removed = await server.app.inject({ method: "DELETE", url: "/admin/adapters/tuned", headers: { "content-type": "application/json" } });
    assert.equal(removed.statusCode, 200, removed.payload);
    assert.deepEqual(removed.json(), { name: "tuned", unloaded: true });
    const empty = await server.app.inject({ method: "POST", url: "/v1/chat/completions", headers: { "content-type": "application/json" } });
    assert.equal(empty.statusCode, 400);
    await server.app.close();
  });

  it("an adapter cannot take the embedding model's name", async () => {
    const server = createServer({ backend: backend(), baseId: "tiny", runsDir: "/nonexistent" });
    await assert.rejects(server.context.registry.load("all-minilm-l6-v2", "/adapters/x"), /embedding model's name/);
    const ids = ((await server.app.inject({ method: "GET", url: "/v1/models" })).json() as { data: Array<{ id: string }> }).data.map((model) => model.id);
    assert.deepEqual(ids, ["tiny", "all-minilm-l6-v2"]);
    await server.app.close();
  });

  it("a backend without an embedding model (llama.cpp) does not list one", async () => {
    const server = createServer({ backend: backend({ canEmbed: false } as Partial<GenerationBackend>), baseId: "smol" });
    const ids = ((await server.app.inject({ method: "GET", url: "/v1/models" })).json() as { data: Array<{ id: string }> }).data.map((model) => model.id);
    assert.deepEqual(ids, ["smol"]);
    assert.equal((await server.app.inject({ method: "GET", url: "/v1/models/all-minilm-l6-v2" })).statusCode, 404);
    await server.app.close();
  });
});
