// DNS rebinding and cross-site calls, over real HTTP (node's client sets Host and Origin as a browser
// tricked by a rebinding page or another site would send them) against a real listening server.
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import type { GenerationBackend } from "@reviewtune/core";
import { createServer, type ReviewtuneServer } from "../server.js";
import { hostnameOf } from "./host-check.js";

/** No model: the check runs before any route, and /health answers without one. */
const idleBackend = { name: "torch", state: "starting", onRestart: () => undefined, whenReady: () => new Promise(() => undefined) } as unknown as GenerationBackend;

let server: ReviewtuneServer;
let port = 0;

function send(method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: "127.0.0.1", port, method, path, headers: { ...(body ? { "content-type": "application/json" } : {}), ...headers } }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (text += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text }));
    });
    outgoing.on("error", reject);
    outgoing.end(body);
  });
}

before(async () => {
  server = createServer({ backend: idleBackend, baseId: "tiny", allowedHosts: ["reviews.internal"], allowedOrigins: ["http://dashboard.internal:3000"] });
  await server.app.listen({ host: "127.0.0.1", port: 0 });
  port = (server.app.server.address() as { port: number }).port;
});

after(async () => {
  await server.app.close();
});

describe("Host and Origin checks", () => {
  it("a rebinding page's Host is refused with 403 on every route, before anything runs", async () => {
    for (const [method, path, body] of [
      ["GET", "/health", undefined],
      ["GET", "/v1/models", undefined],
      ["POST", "/v1/chat/completions", JSON.stringify({ model: "tiny", messages: [{ role: "user", content: "hi" }] })],
      ["POST", "/admin/adapters", JSON.stringify({ name: "x", run: "y" })],
    ] as const) {
      const answer = await send(method, path, { host: `evil.example:${port}`, origin: `http://evil.example:${port}` }, body);
      assert.equal(answer.status, 403, `${method} ${path}: ${answer.body}`);
      const error = JSON.parse(answer.body).error;
      assert.equal(error.code, "host_not_allowed");
      assert.match(error.message, /Host "evil\.example:\d+".*DNS rebinding.*--allow-host evil\.example/);
    }
  });

  it("another site's Origin is refused even with a local Host", async () => {
    const answer = await send("POST", "/v1/chat/completions", { host: `127.0.0.1:${port}`, origin: "http://evil.example" }, "{}");
    assert.equal(answer.status, 403);
    assert.equal(JSON.parse(answer.body).error.code, "origin_not_allowed");
    // The API server names the flag that lets a browser page read its answers: CORS.
    assert.match(JSON.parse(answer.body).error.message, /start the server with --cors-origin http:\/\/evil\.example to let that page call it/);
    // Another port of this machine is another origin too (a page served by some other local server).
    assert.equal((await send("GET", "/health", { host: `127.0.0.1:${port}`, origin: "http://127.0.0.1:1" })).status, 403);
    assert.equal((await send("GET", "/health", { host: `localhost:${port}`, origin: "null" })).status, 403);
  });

  it("loopback names, the server's own origin and the allowed names pass", async () => {
    const passing: Array<Record<string, string>> = [
      { host: `127.0.0.1:${port}` },
      { host: `localhost:${port}`, origin: `http://localhost:${port}` },
      { host: `[::1]:${port}` },
      { host: `app.localhost:${port}` },
      { host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}` },
      { host: `REVIEWS.internal:${port}` },
      { host: `127.0.0.1:${port}`, origin: "http://dashboard.internal:3000" },
    ];
    for (const headers of passing) {
      const answer = await send("GET", "/health", headers);
      assert.notEqual(answer.status, 403, `${JSON.stringify(headers)}: ${answer.body}`);
    }
  });

  it("reads the host part of Host headers", () => {
    assert.equal(hostnameOf("[::1]:8000"), "[::1]");
    assert.equal(hostnameOf("Example.COM:80"), "example.com");
    assert.equal(hostnameOf("localhost"), "localhost");
  });
});
