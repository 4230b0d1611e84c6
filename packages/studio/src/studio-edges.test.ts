// Smaller studio edges of issue 16: a 500's hint points at a log line that really exists (with the
// same id), and file paths the static server refuses (encoded slashes, NUL) are plain 404s.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it, mock } from "node:test";
import Fastify from "fastify";
import type { GenerationBackend } from "@reviewtune/core";
import { studioErrorHandler } from "./http/studio-error.js";
import { createStudio, type Studio } from "./studio.js";

const idleBackend = { name: "torch", state: "starting", onRestart: () => undefined, whenReady: () => new Promise(() => undefined), close: async () => undefined } as unknown as GenerationBackend;
let studio: Studio;

before(async () => {
  const work = mkdtempSync(join(tmpdir(), "reviewtune-studio-edges-"));
  studio = await createStudio({ runsDir: join(work, "runs"), dataDirs: [join(work, "data")], model: "tiny", backend: idleBackend, references: null });
});

after(async () => {
  await studio?.close();
});

describe("studio edges", () => {
  it("an unexpected error: the 500's hint names an id the terminal shows with the details", async () => {
    const app = Fastify({ logger: false }); // as the studio runs without --verbose: no request log
    app.setErrorHandler(studioErrorHandler);
    app.get("/boom", async () => {
      throw new TypeError("cannot read properties of undefined (reading 'steps')");
    });
    const logged = mock.method(console, "error", () => undefined);
    try {
      const response = await app.inject({ method: "GET", url: "/boom?x=1" });
      assert.equal(response.statusCode, 500);
      const { error } = response.json() as { error: { message: string; hint: string } };
      const id = /internal error ([0-9a-f]{8})/.exec(error.message)?.[1];
      assert.ok(id, error.message);
      assert.match(error.hint, new RegExp(`error ${id}`));
      const lines = logged.mock.calls.map((call) => String(call.arguments[0]));
      assert.ok(lines.some((line) => line.includes(`error ${id}`) && line.includes("GET /boom") && line.includes("reading 'steps'")), lines.join("\n"));
    } finally {
      logged.mock.restore();
      await app.close();
    }
  });

  it("encoded-slash and other refused file paths are 404, real files are served", async () => {
    for (const url of ["/studio/ui/..%2f..%2fpackage.json", "/studio/ui/%2e%2e%2fmain.js", "/studio/static/..%2f..%2fpackage.json", "/studio/ui/%00"]) {
      const response = await studio.app.inject({ method: "GET", url });
      assert.equal(response.statusCode, 404, `${url}: ${response.payload}`);
      assert.equal(response.json().error.code, "not_found");
    }
    assert.equal((await studio.app.inject({ method: "GET", url: "/studio/ui/main.js" })).statusCode, 200);
  });
});
