// `reviewtune studio` as a user starts it: it prints its URL, serves the UI and the status even
// without the engine (the status says what to do), stops on Ctrl-C, and refuses a non-loopback host.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import type { StudioStatus } from "@reviewtune/contracts";

const bin = fileURLToPath(new URL("../bin/reviewtune.js", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "reviewtune-studio-cli-"));
const CHROMIUM = process.env.REVIEWTUNE_CHROMIUM ?? "/usr/bin/chromium";
const artifacts = process.env.REVIEWTUNE_ARTIFACTS ?? fileURLToPath(new URL("../../studio/test-artifacts/", import.meta.url));

describe("reviewtune studio", () => {
  it("prints its URL and serves the UI without the engine installed, saying how to install it; Ctrl-C stops it", async () => {
    const child = spawn(process.execPath, [bin, "studio", "--port", "0", "--runs", join(work, "runs"), "--data", join(work, "data"), "--no-open"], {
      cwd: work,
      env: { ...process.env, NO_COLOR: "1", REVIEWTUNE_ENGINE_ENV: join(work, "no-engine") },
    });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        const match = stdout.match(/reviewtune studio: (http:\/\/127\.0\.0\.1:\d+\/)/);
        if (match) resolve(match[1]!);
      });
      child.on("exit", () => reject(new Error(`studio exited early: ${stderr}`)));
    });
    try {
      const page = await fetch(url);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<script type="importmap">/);
      const status = (await (await fetch(`${url}studio/api/status`)).json()) as StudioStatus;
      assert.equal(status.engine.ready, false);
      assert.match(status.engine.problem ?? "", /not installed/);
      assert.match(status.engine.fix ?? "", /npm run setup/);
      const training = await fetch(`${url}studio/api/compare/models`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ run: "x" }) });
      assert.equal(training.status, 503);
      assert.match(stderr, /data folder .*data does not exist \(make one: reviewtune data demo/);

      // The pages' empty and error states, as a first-time user sees them.
      assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run \`npm run setup\` as root (apt-get install chromium) or set REVIEWTUNE_CHROMIUM`);
      const { chromium } = await import("playwright-core");
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"] });
      try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
        await page.goto(`${url}#/datasets`);
        await page.getByRole("alert").filter({ hasText: "not installed" }).waitFor();
        assert.match((await page.getByRole("alert").first().textContent()) ?? "", /What to do: run `npm run setup`/);
        await page.getByText("No dataset yet").waitFor();
        mkdirSync(artifacts, { recursive: true });
        await page.screenshot({ path: join(artifacts, "empty-no-engine-datasets-laptop.png"), fullPage: true });
        await page.getByRole("tab", { name: "Train" }).click();
        await page.getByText("No dataset to train on").waitFor();
        await page.getByText("No run yet").waitFor();
        await page.getByRole("tab", { name: "Evaluate" }).click();
        await page.getByText("No evaluated run yet").waitFor();
        await page.getByRole("tab", { name: "Compare" }).click();
        await page.getByText(/Answers need the engine/).waitFor();
        await page.screenshot({ path: join(artifacts, "empty-no-engine-compare-laptop.png"), fullPage: true });
      } finally {
        await browser.close();
      }
    } finally {
      child.kill("SIGINT");
    }
    assert.equal(await exited, 0, stderr);
  });

  it("refuses to listen beyond loopback (it starts trainings and has no login)", () => {
    const result = spawnSync(process.execPath, [bin, "studio", "--host", "0.0.0.0", "--port", "0"], { encoding: "utf8", cwd: work });
    assert.equal(result.status, 3, result.stderr);
    assert.match(result.stderr, /no login/);
    assert.match(result.stderr, /ssh -L/);
  });
});
