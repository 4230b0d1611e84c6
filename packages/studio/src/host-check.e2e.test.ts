// DNS rebinding and cross-site calls in a real headless Chromium (Debian's, driven by playwright-core):
// a page served from another port of this machine trying to drive the studio's API, and a rebinding
// page (Chromium's host resolver maps evil.test to 127.0.0.1, as a rebinding DNS server would) loading
// the studio under its own name. Both must be refused before any route runs: the server records every
// status it answered, since a no-cors request's answer is invisible to the page.
import assert from "node:assert/strict";
import { createServer as createHttpServer, type Server } from "node:http";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import type { GenerationBackend } from "@reviewtune/core";
import { createStudio, type Studio } from "./studio.js";

const CHROMIUM = process.env.REVIEWTUNE_CHROMIUM ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--host-resolver-rules=MAP evil.test 127.0.0.1"];

/** No model: the check runs before any route, and the studio's pages need none. */
const idleBackend = { name: "torch", state: "starting", onRestart: () => undefined, whenReady: () => new Promise(() => undefined), close: async () => undefined } as unknown as GenerationBackend;

let studio: Studio;
let port = 0;
let attacker: Server;
let attackerPort = 0;
let browser: Browser;
const answered: Array<{ method: string; url: string; status: number }> = [];

before(async () => {
  const work = mkdtempSync(join(tmpdir(), "reviewtune-host-check-"));
  studio = await createStudio({ runsDir: join(work, "runs"), dataDirs: [join(work, "data")], model: "tiny", backend: idleBackend, references: null });
  studio.app.addHook("onResponse", async (request, reply) => void answered.push({ method: request.method, url: request.url, status: reply.statusCode }));
  await studio.app.listen({ host: "127.0.0.1", port: 0 });
  port = (studio.app.server.address() as { port: number }).port;
  // Another site on this machine: its page fires the requests a malicious page would.
  attacker = createHttpServer((_request, response) => {
    response.writeHead(200, { "content-type": "text/html" });
    response.end(`<!doctype html><script>
      const api = "http://127.0.0.1:${port}";
      const train = { model: "smollm2-135m-instruct", dataset: "demo" };
      window.attack = Promise.allSettled([
        fetch(api + "/studio/api/train", { method: "POST", mode: "no-cors", headers: { "content-type": "text/plain" }, body: JSON.stringify(train) }),
        // A cors-mode GET carries Origin (a no-cors GET does not, and its answer stays opaque to the page).
        fetch(api + "/studio/api/status"),
      ]).then(() => "done");
    </script>`);
  });
  await new Promise<void>((resolve) => attacker.listen(0, "127.0.0.1", resolve));
  attackerPort = (attacker.address() as { port: number }).port;
  const { chromium } = await import("playwright-core");
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  attacker?.close();
  await studio?.close();
});

describe("the studio refuses other web pages", () => {
  it("a page from another port reaches no studio route", async () => {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${attackerPort}/`);
    assert.equal(await page.evaluate(() => (window as unknown as { attack: Promise<string> }).attack), "done");
    const hits = answered.filter((entry) => entry.url.startsWith("/studio/api/"));
    assert.deepEqual(hits.map((entry) => `${entry.method} ${entry.url} ${entry.status}`).sort(), ["GET /studio/api/status 403", "POST /studio/api/train 403"]);
    await page.close();
  });

  it("a rebinding name gets 403 for the page and its API calls; the real address works", async () => {
    const page = await browser.newPage();
    const rebound = await page.goto(`http://evil.test:${port}/`);
    assert.equal(rebound!.status(), 403);
    assert.match(await page.content(), /DNS rebinding/);
    const status = await page.evaluate(async () => (await fetch("/studio/api/status")).status);
    assert.equal(status, 403);
    const own = await page.goto(`http://127.0.0.1:${port}/`);
    assert.equal(own!.status(), 200);
    assert.equal(await page.evaluate(async () => (await fetch("/studio/api/status")).status), 200, "the studio's own page still reaches its API");
    await page.close();
  });
});
