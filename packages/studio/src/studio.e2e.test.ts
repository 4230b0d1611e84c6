// The studio end to end in real headless Chromium (Debian's, driven by playwright-core), on a tiny
// random Llama built by the engine's own helper (no download): the datasets page shows rows and the
// training string; a training started from the page streams its curve, stops and resumes; compare
// streams the base and tuned answers with references and the fallback mark; the evaluate page draws
// a real `reviewtune eval` report and takes an A/B rating. Screenshots of every page (laptop and
// phone widths) go to packages/studio/test-artifacts/ or $REVIEWTUNE_ARTIFACTS.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { buildDemoDataset, projectRoot, requireEngineEnvironment } from "@reviewtune/core";
import { createStudio, type Studio } from "./studio.js";

const CHROMIUM = process.env.REVIEWTUNE_CHROMIUM ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const artifacts = process.env.REVIEWTUNE_ARTIFACTS ?? fileURLToPath(new URL("../test-artifacts/", import.meta.url));
const bin = join(projectRoot(), "packages", "cli", "bin", "reviewtune.js");
const work = mkdtempSync(join(tmpdir(), "reviewtune-studio-e2e-"));
const runsDir = join(work, "runs");
const tinyModel = join(work, "tiny-model");

let studio: Studio;
let url = "";
let browser: Browser;
let page: Page;
const problems: string[] = [];
const external: string[] = [];
let trainedRun = "";

async function newPage(width: number, height: number): Promise<Page> {
  const opened = await browser.newPage({ viewport: { width, height } });
  opened.on("console", (message) => message.type() === "error" && problems.push(`${message.text()} (${message.location().url})`));
  opened.on("pageerror", (error) => problems.push(error.message));
  opened.on("request", (request) => !request.url().startsWith(url) && !request.url().startsWith("data:") && external.push(request.url()));
  return opened;
}

async function screenshot(target: Page, name: string): Promise<void> {
  await target.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

/** The same page at phone width (375 px). */
async function phoneScreenshot(hash: string, name: string, ready: string): Promise<void> {
  const phone = await newPage(375, 812);
  await phone.goto(`${url}${hash}`);
  await phone.locator(ready).first().waitFor();
  await screenshot(phone, name);
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 1, `${name}: the page is ${overflow}px wider than a 375px phone`);
  await phone.close();
}

const pointsOf = async () => Number((await page.locator('[data-testid="loss-chart"]').getAttribute("data-points")) ?? "0");
const readRun = (id: string) => JSON.parse(readFileSync(join(runsDir, id, "run.json"), "utf8")) as { status: string; result: { global_step: number } | null };

async function fillTrainForm(steps: number): Promise<void> {
  await page.goto(`${url}?load=${Date.now()}#/train`); // a fresh load: no run shown yet
  await page.getByLabel("Model (name, local folder or hub id)").fill(tinyModel);
  await page.getByLabel("Length in").selectOption("max_steps");
  await page.getByLabel("Steps").fill(String(steps));
  await page.getByLabel("Learning rate").fill("0.02");
  await page.getByLabel("Batch size").fill("2");
  await page.getByLabel("Max length (tokens)").fill("384");
  await page.getByLabel("LoRA rank r").fill("4");
  await page.locator('.train-form [data-testid="estimate"]').waitFor();
}

/** Process ids whose parent is `pid` (from /proc: no pgrep needed). */
function childrenOf(pid: number): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        // /proc/N/stat: "N (comm) state ppid ..."; comm may hold spaces and parentheses, so read after the last ')'.
        const stat = readFileSync(`/proc/${name}/stat`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid;
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

async function startedRunId(): Promise<string> {
  await page.locator('[data-testid="run-detail"]').waitFor({ timeout: 180_000 });
  const heading = (await page.locator('[data-testid="run-detail"] h3').first().textContent()) ?? "";
  return heading.split(" ")[0]!;
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run \`npm run setup\` as root (it runs apt-get install chromium) or set REVIEWTUNE_CHROMIUM to a Chromium binary`);
  mkdirSync(artifacts, { recursive: true });
  const { python, engineSource } = requireEngineEnvironment();
  const made = spawnSync(python, ["-m", "reviewtune_engine.testing", "make-tiny-model", tinyModel], { encoding: "utf8", env: { ...process.env, PYTHONPATH: engineSource } });
  assert.equal(made.status, 0, made.stderr);
  await buildDemoDataset({ out: join(work, "data", "demo"), reviews: 30, seed: 5, test: 0.2 }); // held-out reviews for eval and the test examples
  studio = await createStudio({ runsDir, dataDirs: [join(work, "data")], model: tinyModel });
  url = `${await studio.app.listen({ host: "127.0.0.1", port: 0 })}/`;
  const { chromium } = await import("playwright-core");
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  page = await newPage(1280, 900);
  // The page is up before the engine: it says the engine is starting, and notices when it is ready.
  await page.goto(`${url}#/datasets`);
  const starting = page.getByRole("status").filter({ hasText: "The engine is starting" });
  await starting.waitFor();
  await studio.prepare();
  assert.equal(studio.context.engineProblem, null);
  await starting.waitFor({ state: "detached", timeout: 10_000 });
});

after(async () => {
  await browser?.close();
  await studio?.close();
});

describe("studio in Chromium", () => {
  it("datasets page: rows, filters, the exact training string with the loss part, the card's charts", async () => {
    await page.goto(`${url}#/datasets`);
    const rows = page.locator('[data-testid="dataset-rows"] > li');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 20, "a page of 20 rows");
    const before = (await page.locator('[data-testid="row-count"]').textContent()) ?? "";
    await page.getByLabel("Task").selectOption("rating");
    await page.waitForFunction((text) => document.querySelector('[data-testid="row-count"]')?.textContent !== text, before);
    assert.equal(await page.locator('[data-testid="dataset-rows"] .tag', { hasText: "sentiment" }).count(), 0, "only rating rows are left");
    await rows.first().getByRole("button", { name: /training string/ }).click();
    const loss = page.locator('[data-testid="rendered-row"] mark.loss');
    await loss.waitFor();
    const answer = (await rows.first().locator(".answer").textContent()) ?? "";
    assert.ok(((await loss.textContent()) ?? "").startsWith(answer), "the highlighted part is the answer");
    assert.match((await page.locator('[data-testid="rendered-row"] .masked').textContent()) ?? "", /assistant/);
    await screenshot(page, "datasets-laptop");
    await page.getByRole("tab", { name: "Rows" }).focus();
    await page.keyboard.press("ArrowLeft"); // keyboard: arrows move between tabs (and wrap)
    assert.equal(await page.getByRole("tab", { name: /^Rejected/ }).getAttribute("aria-selected"), "true");
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("ArrowRight");
    assert.equal(await page.getByRole("tab", { name: "Card" }).getAttribute("aria-selected"), "true");
    await page.locator('[data-testid="card-chart"]').first().waitFor();
    assert.ok((await page.locator('[data-testid="card-chart"] .bar').count()) >= 10);
    await screenshot(page, "datasets-card-laptop");
    await phoneScreenshot("#/datasets", "datasets-phone", '[data-testid="dataset-rows"] > li');
  });

  it("train page: a short training started from the page streams its loss curve to completion", async () => {
    // Long enough (about 5 s for the tiny model on a quiet machine, the studio reading the run every
    // 0.5 s) that the curve is seen growing, not only empty and then complete.
    await fillTrainForm(60);
    await page.getByRole("button", { name: "Start training" }).click();
    trainedRun = await startedRunId();
    const seen: number[] = [];
    const deadline = Date.now() + 300_000;
    while (Date.now() < deadline) {
      const points = await pointsOf();
      if (points !== seen.at(-1)) seen.push(points);
      if ((await page.locator('[data-testid="run-detail"] .badge', { hasText: "completed" }).count()) > 0) break;
      await page.waitForTimeout(150);
    }
    assert.equal(readRun(trainedRun).status, "completed");
    const lines = readFileSync(join(runsDir, trainedRun, "metrics.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line) as { kind: string });
    const expected = lines.filter((line) => ["train", "eval", "final_eval"].includes(line.kind)).length;
    assert.ok(lines.filter((line) => line.kind === "train").length === 60);
    await page.waitForFunction((count) => Number(document.querySelector('[data-testid="loss-chart"]')?.getAttribute("data-points")) === count, expected);
    assert.ok(new Set(seen.filter((count) => count > 0 && count < expected)).size >= 2, `the curve gained points while training ran (seen: ${seen.join(", ")})`);
    assert.match((await page.locator('[data-testid="run-step"]').textContent()) ?? "", /^60 \/ 60$/);
    assert.ok(existsSync(join(runsDir, trainedRun, "studio", "estimate.json")));
    await screenshot(page, "train-laptop");
  });

  it("train page: stop saves a checkpoint (run cancelled), resume continues from it", async () => {
    await fillTrainForm(600);
    await page.getByRole("button", { name: "Start training" }).click();
    const id = await startedRunId();
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="loss-chart"]')?.getAttribute("data-points")) >= 3, null, { timeout: 120_000 });
    await page.getByRole("button", { name: /^Stop/ }).click();
    await page.locator('[data-testid="run-detail"] .badge', { hasText: "stopped" }).waitFor({ timeout: 120_000 });
    const stopped = readRun(id);
    assert.equal(stopped.status, "cancelled");
    const stoppedAt = stopped.result!.global_step;
    assert.ok(stoppedAt >= 3 && stoppedAt < 600);
    await screenshot(page, "train-stopped-laptop");
    await page.getByRole("button", { name: /^Resume/ }).click();
    await page.waitForFunction((step) => {
      const text = document.querySelector('[data-testid="run-step"]')?.textContent ?? "0";
      return Number(text.split(" ")[0]) > step;
    }, stoppedAt, { timeout: 180_000 });
    assert.equal(readRun(id).status, "running");
    await page.getByRole("button", { name: /^Stop/ }).click();
    await page.locator('[data-testid="run-detail"] .badge', { hasText: "stopped" }).waitFor({ timeout: 120_000 });
    assert.ok(readRun(id).result!.global_step > stoppedAt, "the resumed run went on from its checkpoint");
    await phoneScreenshot("#/train", "train-phone", '[data-testid="run-list"]');
  });

  it("compare page: base and tuned answers streamed side by side, latency, references, and the fallback mark", async () => {
    // A copy of the run with a damaged adapter: the base model answers for it, marked.
    const broken = `${trainedRun}-damaged`;
    cpSync(join(runsDir, trainedRun), join(runsDir, broken), { recursive: true });
    const record = JSON.parse(readFileSync(join(runsDir, broken, "run.json"), "utf8"));
    writeFileSync(join(runsDir, broken, "run.json"), JSON.stringify({ ...record, id: broken, result: { ...record.result, adapter_dir: join(runsDir, broken, "adapter") } }));
    const weights = join(runsDir, broken, "adapter", "adapter_model.safetensors");
    truncateSync(weights, Math.floor(statSync(weights).size / 2));

    await page.goto(`${url}#/compare`);
    await page.getByRole("checkbox", { name: new RegExp(`^${trainedRun} \\(`) }).check();
    await page.getByRole("checkbox", { name: new RegExp(`^${broken} \\(`) }).check();
    await page.getByLabel("Or a held-out test example").selectOption({ index: 1 });
    await page.getByLabel("Max new tokens").fill("8");
    await page.getByRole("button", { name: /^Ask base \+ 2 runs/ }).click();
    const answers = page.locator('[data-testid="answer"]');
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="latency"]')].filter((element) => /total \d/.test(element.textContent ?? "")).length === 3, null, { timeout: 180_000 });
    assert.equal(await answers.count(), 3);
    for (let index = 0; index < 3; index++) assert.ok(((await answers.nth(index).locator(".answer-text").textContent()) ?? "").length > 0);
    assert.match((await answers.nth(0).locator("h3").textContent()) ?? "", /^base/);
    assert.equal(await answers.nth(1).locator('[data-testid="fallback"]').count(), 0, "the trained run answers itself");
    assert.match((await answers.nth(2).locator('[data-testid="fallback"]').textContent()) ?? "", /served by base \(fallback\)/);
    const references = page.locator('[data-testid="references"] li');
    assert.ok((await references.count()) >= 1);
    assert.match((await references.first().locator(".similarity").textContent()) ?? "", /^\d+%$/);
    await screenshot(page, "compare-laptop");
    await phoneScreenshot("#/compare", "compare-phone", ".compare-form");
  });

  it("compare page, structured analysis: a held-out review analyzed by base, tuned and the damaged run (fallback), beside the rule-based card, fields marked against its gold", async () => {
    const broken = `${trainedRun}-damaged`; // made by the chat comparison above
    await page.goto(`${url}?load=${Date.now()}#/compare`);
    await page.getByRole("checkbox", { name: new RegExp(`^${trainedRun} \\(`) }).check();
    await page.getByRole("checkbox", { name: new RegExp(`^${broken} \\(`) }).check();
    await page.getByRole("tab", { name: "Structured analysis" }).click();
    await page.getByLabel("Or a held-out test review (with its gold)").selectOption({ index: 1 });
    const review = await page.getByLabel("Review", { exact: true }).inputValue();
    assert.ok(review.length > 0, "picking a test review fills the review");
    await page.locator('[data-testid="gold"]').waitFor();
    await page.getByRole("button", { name: /^Analyze with base \+ 2 runs/ }).click();
    const cards = page.locator('[data-testid="analysis-card"]');
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="analysis-card"]')].every((card) => card.getAttribute("aria-busy") === "false"), null, { timeout: 300_000 });
    assert.equal(await cards.count(), 4);
    assert.deepEqual((await cards.locator("h3").allTextContents()).map((title) => title.split(":")[0]!.split(" (")[0]), ["base", "tuned", "tuned", "rule-based analyzer"]);
    for (let index = 0; index < 4; index++) {
      const card = cards.nth(index);
      assert.equal(await card.locator('[role="alert"]').count(), 0, `card ${index} shows an error: ${await card.textContent()}`);
      // Decoding is constrained to the schema, so even the tiny random model's analysis has every field.
      assert.match((await card.locator('[data-testid="field-stars"]').textContent()) ?? "", /[1-5]\/5/);
      assert.match((await card.locator('[data-testid="field-sentiment"]').textContent()) ?? "", /^(negative|neutral|positive) /);
      assert.match((await card.locator('[data-testid="mark-sentiment"]').textContent()) ?? "", /^(✓|✗ \(gold (negative|neutral|positive)\))$/);
    }
    assert.equal(await cards.nth(1).locator('[data-testid="fallback"]').count(), 0, "the trained run answers itself");
    assert.match((await cards.nth(2).locator('[data-testid="fallback"]').textContent()) ?? "", /served by base \(fallback\)/);
    // The rule-based card is the analyzer's own reading of the text, whatever the models said.
    const rule = await (await fetch(`${url}studio/api/analyze/rule-based`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ text: review, title: await page.getByLabel("Review title (optional)").inputValue() || undefined }) })).json() as { sentiment: string; stars: number };
    assert.match((await cards.nth(3).locator('[data-testid="field-sentiment"]').textContent()) ?? "", new RegExp(`^${rule.sentiment} `));
    assert.match((await cards.nth(3).locator('[data-testid="field-stars"]').textContent()) ?? "", new RegExp(`${rule.stars}/5`));
    await screenshot(page, "compare-analysis-laptop");
  });

  it("evaluate page: a real `reviewtune eval` report's table, slice charts with targets, confusion matrix; A/B rating feeds the win rate", async () => {
    const evaluated = spawnSync(process.execPath, [bin, "eval", "--run", join(runsDir, trainedRun), "--limit", "2", "--max-tokens", "8", "--bootstrap", "50", "--set", "targets.min_slice=1"], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
    assert.equal(evaluated.status, 0, evaluated.stderr);
    await page.goto(`${url}#/evaluate`);
    await page.locator('[data-testid="headline"]').waitFor();
    assert.ok((await page.locator('[data-testid="headline"] tbody tr').count()) >= 10);
    assert.ok((await page.locator('[data-testid="slice-chart"]').count()) >= 2);
    assert.ok((await page.locator('[data-testid="slice-chart"] .target').count()) >= 2, "target lines on the slice charts");
    assert.ok((await page.locator('[data-testid="confusion-matrix"]').count()) >= 1);
    assert.ok(Number(await page.locator('[data-testid="eval-training-chart"]').getAttribute("data-points")) > 0);
    await screenshot(page, "evaluate-laptop");
    const human = page.locator('[data-testid="human"]');
    await human.getByRole("button", { name: "A is better" }).waitFor();
    assert.match((await human.locator('[data-testid="win-rate"]').textContent()) ?? "", /No pair rated yet/);
    await human.getByRole("button", { name: "A is better" }).click();
    await page.waitForFunction(() => /Tuned preferred in/.test(document.querySelector('[data-testid="win-rate"]')?.textContent ?? ""));
    const ratings = readFileSync(join(runsDir, trainedRun, "human", "ratings.jsonl"), "utf8").trim().split("\n");
    assert.equal(ratings.length, 1);
    const key = JSON.parse(readFileSync(join(runsDir, trainedRun, "human", "key.json"), "utf8")) as { pairs: Record<string, { A: string }> };
    const rated = JSON.parse(ratings[0]!) as { pair: string };
    const expected = key.pairs[rated.pair]!.A === "tuned" ? "100.0%" : "0.0%";
    assert.ok(((await human.locator('[data-testid="win-rate"]').textContent()) ?? "").includes(expected), "the win rate counts the side the key says A was");
    await screenshot(page, "evaluate-rated-laptop");
    await phoneScreenshot("#/evaluate", "evaluate-phone", '[data-testid="headline"]');
  });

  it("recipe R4 in the studio: the training-time table by samples x epochs x batch size; a description run's metrics and answers beside the reference", async () => {
    await fillTrainForm(4);
    const table = page.locator('.train-form [data-testid="estimate-table"]');
    await table.waitFor();
    assert.deepEqual(await table.locator("thead th").allTextContents(), ["samples", "epochs", "batch 2", "batch 4", "batch 8"]);
    assert.ok((await table.locator("tbody tr").count()) >= 9, "three epoch counts for each sample count");
    await screenshot(page, "train-estimate-table-laptop");

    // A real description run: the project's demo catalogue, the tiny model, `reviewtune eval`.
    const catalogue = join(work, "descriptions");
    const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
    assert.equal(cli("data", "demo", "--kind", "descriptions", "--products", "30", "--out", catalogue).status, 0);
    const trained = cli("train", "--model", tinyModel, "--data", catalogue, "--max-steps", "4", "--batch-size", "4", "--runs-dir", runsDir, "--lr", "0.02", "--set", "training.max_length=192", "--events", join(work, "descriptions-events.jsonl"));
    assert.equal(trained.status, 0, trained.stderr);
    const id = JSON.parse(readFileSync(join(work, "descriptions-events.jsonl"), "utf8").split("\n")[0]!).id as string;
    const evaluated = cli("eval", "--run", join(runsDir, id), "--limit", "3", "--max-tokens", "8", "--bootstrap", "50");
    assert.equal(evaluated.status, 0, evaluated.stderr);
    await page.goto(`${url}?load=${Date.now()}#/evaluate`);
    await page.getByLabel("Run").selectOption(id);
    const headline = page.locator('[data-testid="text-headline"]');
    await headline.waitFor();
    const metrics = await headline.locator("tbody th").allTextContents();
    for (const metric of ["ROUGE-L", "embedding similarity", "unsupported attributes: not in the title", "invented attributes: in neither title nor reference (lower is better)"]) assert.ok(metrics.includes(metric), `${metric} in ${metrics.join(", ")}`);
    // The yardstick for "unsupported": how often the catalogue's own descriptions name what their title does not.
    assert.match((await page.locator('[data-testid="reference-attributes"]').textContent()) ?? "", /The references themselves name an attribute their title does not give in \d+\.\d.*% of the test items/);
    assert.deepEqual(await headline.locator("thead th").allTextContents(), ["metric", "tuned", "base", "retrieval"]);
    const sideBySide = page.locator('[data-testid="side-by-side"]');
    assert.deepEqual(await sideBySide.locator("thead th").allTextContents(), ["prompt", "reference", "tuned", "base", "retrieval"]);
    assert.equal(await sideBySide.locator("tbody tr").count(), 3);
    assert.match((await sideBySide.locator("tbody tr").first().locator("td").first().textContent()) ?? "", /^Title: /);
    await screenshot(page, "evaluate-descriptions-laptop");
  });

  it("train page: a training whose engine dies shows the failure, the end of its log and what to do next", async () => {
    // A real failure: a training started from the page loses its engine process (as the kernel's
    // out-of-memory killer would do) while it runs.
    await fillTrainForm(600);
    await page.getByRole("button", { name: "Start training" }).click();
    const id = await startedRunId();
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="loss-chart"]')?.getAttribute("data-points")) >= 2, null, { timeout: 120_000 });
    const cli = studio.context.trainer.attached(id)?.child.pid;
    assert.ok(cli, "the studio holds the training's process");
    const engines = childrenOf(cli);
    assert.equal(engines.length, 1, `the training's engine process (children of ${cli}: ${engines.join(", ")})`);
    process.kill(engines[0]!, "SIGKILL");
    const detail = page.locator('[data-testid="run-detail"]');
    await detail.getByRole("alert").filter({ hasText: "Training failed" }).waitFor({ timeout: 60_000 });
    assert.equal(readRun(id).status, "failed");
    assert.match((await detail.locator(".next").textContent()) ?? "", /fix the cause, then resume/);
    assert.match((await detail.locator(".log").textContent()) ?? "", /error: /);
    assert.equal(await detail.getByRole("button", { name: /^Resume/ }).count(), 1);
    await screenshot(page, "train-failed-laptop");
  });

  it("made no request outside the studio and logged no error in the browser", () => {
    assert.deepEqual(external, []);
    assert.deepEqual(problems, []);
  });
});
