// `reviewtune eval` end to end as a user runs it: the project's demo dataset, a tiny random Llama
// trained for two steps through the real engine, then eval writing report.json/md/html, the HTML
// opened in headless Chromium (Debian's, through playwright-core) with no console errors, and
// `eval --compare` pairing the run with itself. Needs the engine environment and /usr/bin/chromium
// (`npm test` installs both: scripts/setup.mjs).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { before, describe, it } from "node:test";
import { EvalReportSchema } from "@reviewtune/contracts";
import { analysisReport, requireEngineEnvironment } from "@reviewtune/core";

const bin = fileURLToPath(new URL("../bin/reviewtune.js", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "reviewtune-eval-"));
const runsDir = join(work, "runs");
export const CHROMIUM = process.env.REVIEWTUNE_CHROMIUM ?? "/usr/bin/chromium";
export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

function cli(...args: string[]) {
  return cliWithInput(undefined, ...args);
}

function cliWithInput(input: string | undefined, ...args: string[]) {
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", cwd: work, input, env: { ...process.env, NO_COLOR: "1" } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

let runDir = "";
let reviews = 0;

before(() => {
  const { python, engineSource } = requireEngineEnvironment();
  const tinyModel = join(work, "tiny-model");
  const made = spawnSync(python, ["-m", "reviewtune_engine.testing", "make-tiny-model", tinyModel], { encoding: "utf8", env: { ...process.env, PYTHONPATH: engineSource } });
  assert.equal(made.status, 0, made.stderr);
  const data = cli("data", "demo", "--out", join(work, "dataset"), "--reviews", "120");
  assert.equal(data.status, 0, data.stderr);
  const trained = cli("train", "--model", tinyModel, "--data", join(work, "dataset"), "--runs-dir", runsDir, "--max-steps", "2", "--batch-size", "2", "--set", "training.max_length=384", "--set", "evaluation.strategy=no");
  assert.equal(trained.status, 0, trained.stderr);
  runDir = join(runsDir, readdirSync(runsDir)[0]!);
});

describe("reviewtune eval", () => {
  it("writes report.json (valid against the contract), report.md and a report.html that opens in Chromium without errors", async () => {
    const evaluated = cli("eval", "--run", runDir, "--limit", "3", "--bootstrap", "50", "--max-tokens", "12", "--set", "targets.min_slice=2");
    assert.equal(evaluated.status, 0, evaluated.stderr);
    const report = EvalReportSchema.parse(JSON.parse(readFileSync(join(runDir, "eval", "report.json"), "utf8")));
    // The printed table says in its corner what it measured, and on how many.
    assert.ok(evaluated.stdout.includes(`| chat answers (${report.dataset.items}) | tuned | base | random | rule-based |`), evaluated.stdout);
    // The report's caveats (here --limit's) and the paired comparisons' sample sizes are printed beside the figures.
    assert.ok(report.caveats.length > 0);
    for (const caveat of report.caveats) assert.ok(evaluated.stdout.includes(`note: ${caveat}`), evaluated.stdout);
    for (const comparison of report.comparisons) assert.ok(evaluated.stdout.includes(`tuned vs base, ${comparison.metric} of the chat answers (n=${comparison.n}):`), evaluated.stdout);
    assert.ok(report.dataset.reviews >= 1 && report.dataset.reviews <= 3, "--limit bounds the reviews per task");
    assert.equal(report.dataset.items, report.dataset.reviews * 6);
    reviews = report.dataset.reviews;
    assert.deepEqual(report.systems.map((system) => system.name), ["tuned", "base", "random", "rule-based"]);
    const tuned = report.systems[0]!;
    assert.ok(tuned.auc !== null && tuned.calibration !== null, "label-word scores give AUC and calibration");
    assert.equal(tuned.latency!.answers, report.dataset.items);
    // a random tiny model cannot follow the answer contract: its answers are listed as unparseable and counted wrong
    assert.ok(report.unparseable.some((entry) => entry.system === "tuned"));
    assert.equal(tuned.sentiment!.unparseable, report.unparseable.filter((entry) => entry.system === "tuned" && entry.task === "sentiment").length);
    assert.ok(report.checks.length >= 3 && report.checks.every((check) => ["pass", "fail", "too_small"].includes(check.status)));
    assert.ok(report.training.loss.length > 0, "training curve read from metrics.jsonl");
    const markdown = readFileSync(join(runDir, "eval", "report.md"), "utf8");
    assert.match(markdown, /sentiment accuracy %/);

    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/setup.mjs as root (apt-get install chromium) or set REVIEWTUNE_CHROMIUM`);
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      const external: string[] = [];
      page.on("console", (message) => message.type() === "error" && problems.push(message.text()));
      page.on("pageerror", (error) => problems.push(error.message));
      page.on("request", (request) => !request.url().startsWith("file:") && !request.url().startsWith("data:") && external.push(request.url()));
      await page.goto(pathToFileURL(join(runDir, "eval", "report.html")).href);
      assert.deepEqual(problems, []);
      assert.deepEqual(external, [], "the report is self-contained");
      assert.ok((await page.locator("svg").count()) >= 4, "charts: training, confusion, calibration, slices");
      assert.match((await page.locator("h1").textContent()) ?? "", /Evaluation of run/);
    } finally {
      await browser.close();
    }
  });

  it("--compare pairs two evaluated runs item by item", () => {
    const compared = cli("eval", "--compare", runDir, runDir);
    assert.equal(compared.status, 0, compared.stderr);
    assert.ok(
      compared.stdout.includes(`| sentiment (exact match of the answer's label) | ${reviews} | 0.0 [0.0, 0.0] | 0 | 0 | 1.0000 |`),
      compared.stdout,
    );
    // The one-pass analysis too (written by eval on the llama.cpp path, which a tiny random model has
    // not: two copies of the run whose reports get one, as that path writes it), a column per run and
    // each field paired.
    const report = JSON.parse(readFileSync(join(runDir, "eval", "report.json"), "utf8"));
    const gold = { sentiment: "positive" as const, stars: 5, quality: "good" as const, recommendation: "yes" as const, aspects: ["strap"] };
    const items = ["r1", "r2", "r3"].map((group) => ({ id: `${group}:analysis`, group, messages: [], gold, sources: { sentiment: "rating", stars: "rating", quality: "analyzer", recommendation: "analyzer", aspects: "analyzer" }, review: { text: group } }));
    const analysis = (sentiment: "positive" | "negative") => ({ stars: 5 as const, sentiment, score: 0.8, quality: "good" as const, recommendation: "yes" as const, aspects: [{ term: "strap", polarity: "positive" as const }], summary: "s" });
    const copies = ["first", "second"].map((name, index) => {
      const copy = join(work, name);
      cpSync(runDir, copy, { recursive: true });
      const analyses = [analysis("positive"), analysis(index === 0 ? "negative" : "positive"), analysis("positive")];
      report.analysis = analysisReport(items, [{ name: "tuned", description: name, analyses, answers: analyses.map((entry) => JSON.stringify(entry)) }], { samples: 20 });
      writeFileSync(join(copy, "eval", "report.json"), JSON.stringify(report));
      return copy;
    });
    const pair = cli("eval", "--compare", ...copies);
    assert.equal(pair.status, 0, pair.stderr);
    const id = runDir.split("/").at(-1)!;
    assert.ok(pair.stdout.includes(`| analysis | ${id} | ${id} |`), pair.stdout);
    assert.match(pair.stdout, /\| sentiment accuracy % \(floor 100\.0: always "positive"\) \| 66\.7 \[[\d.]+, [\d.]+\] \| 100\.0 \[100\.0, 100\.0\] \|/);
    assert.match(pair.stdout, /\| analysis: sentiment accuracy \| 3 \| -33\.3 \[[-\d.]+, [-\d.]+\] \| 0 \| 1 \| 1\.0000 \|/);
  });

  it("--aspects scores the features question on SemEval sentences and keeps every answer in aspects.json", () => {
    const xml = join(work, "aspects.xml");
    writeFileSync(
      xml,
      `<?xml version="1.0" encoding="UTF-8"?>\n<sentences>\n` +
        `<sentence id="1"><text>The battery life is great.</text><aspectTerms><aspectTerm term="battery life" polarity="positive" from="4" to="16"/></aspectTerms></sentence>\n` +
        `<sentence id="2"><text>I bought it in May.</text></sentence>\n</sentences>\n`,
    );
    const out = join(work, "aspects-eval");
    const evaluated = cli("eval", "--run", runDir, "--aspects", xml, "--baselines", "rule-based", "--bootstrap", "20", "--max-tokens", "8", "--out", out);
    assert.equal(evaluated.status, 0, evaluated.stderr);
    assert.match(evaluated.stdout, /feature extraction on 2 sentences/);
    assert.match(evaluated.stdout, /\| tuned \|/);
    const record = JSON.parse(readFileSync(join(out, "aspects.json"), "utf8"));
    assert.equal(record.sentences, 2);
    assert.deepEqual(record.rows.map((row: { gold: string[] }) => row.gold), [["battery life"], []]);
    assert.equal(typeof record.rows[0].answers.tuned.answer, "string", "the tuned model's answer as it wrote it");
    assert.equal(record.rows[0].answers["rule-based"].answer, null, "the analyzer writes no answer, only terms");
    // The random tiny model's answers are unreadable: listed, and counted in the table.
    const tunedUnparseable = record.unparseable.filter((entry: { system: string }) => entry.system === "tuned").length;
    assert.equal(tunedUnparseable, record.systems.find((system: { name: string }) => system.name === "tuned").features.unparseable);
    // A --limit is said, and recorded beside the file's own count.
    const part = cli("eval", "--run", runDir, "--aspects", xml, "--baselines", "rule-based", "--bootstrap", "20", "--max-tokens", "8", "--limit", "1", "--out", join(work, "aspects-part"));
    assert.equal(part.status, 0, part.stderr);
    assert.match(part.stdout, /feature extraction on 1 sentences of .*aspects\.xml \(the first 1 of its 2: --limit\)/);
    const partRecord = JSON.parse(readFileSync(join(work, "aspects-part", "aspects.json"), "utf8"));
    assert.deepEqual([partRecord.sentences, partRecord.file_sentences], [1, 2]);
  });

  it("test answers a prompts file into one JSON document; chat --side-by-side answers each turn with both models", () => {
    const prompts = join(work, "q.jsonl");
    writeFileSync(prompts, `${JSON.stringify({ prompt: "Is it good?" })}\n${JSON.stringify({ prompt: "Should I buy it?" })}\n`);
    const out = join(work, "answers.json");
    const tested = cli("test", "--run", runDir, "--prompts", prompts, "--out", out, "--max-tokens", "4");
    assert.equal(tested.status, 0, tested.stderr);
    const document = JSON.parse(readFileSync(out, "utf8")) as { adapter: string | null; answers: Array<{ question: string; answer: string }> };
    assert.deepEqual(document.answers.map((entry) => entry.question), ["Is it good?", "Should I buy it?"]);
    assert.ok(document.adapter !== null);
    const chat = cliWithInput("Is it good?\n/reset\nAnd the price?\n\n", "chat", "--run", runDir, "--side-by-side", "--max-tokens", "4");
    assert.equal(chat.status, 0, chat.stderr);
    assert.equal(chat.stdout.match(/base model +\| fine-tuned/g)?.length, 2, chat.stdout);
  });

  it("human export writes blind pairs and a separate key; human score turns ratings into the tuned win rate", () => {
    const out = join(work, "human");
    const exported = cli("human", "export", "--run", runDir, "--out", out, "--limit", "4");
    assert.equal(exported.status, 0, exported.stderr);
    const pairs = readFileSync(join(out, "pairs.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line) as { pair: string; A: string; B: string });
    assert.equal(pairs.length, 4);
    assert.ok(pairs.every((pair) => !("tuned" in pair) && !("base" in pair)), "raters never see which side is which");
    const key = JSON.parse(readFileSync(join(out, "key.json"), "utf8")) as { pairs: Record<string, { A: string; B: string }> };
    // three pairs prefer the tuned side, one is a tie: 3.5 / 4
    const ratings = pairs.map((pair, index) => JSON.stringify({ pair: pair.pair, preferred: index === 3 ? "tie" : key.pairs[pair.pair]!.A === "tuned" ? "A" : "B" }));
    writeFileSync(join(out, "ratings.jsonl"), `${ratings.join("\n")}\n`);
    const scored = cli("human", "score", "--key", join(out, "key.json"), "--ratings", join(out, "ratings.jsonl"));
    assert.equal(scored.status, 0, scored.stderr);
    assert.match(scored.stdout, /tuned preferred in 87\.5 \[[\d.]+, 100\.0\]% of 4 rated pairs \(ties count half\): 3 tuned, 0 base, 1 ties/);
    writeFileSync(join(out, "bad.jsonl"), `${JSON.stringify({ pair: "p9999", preferred: "A" })}\n`);
    const bad = cli("human", "score", "--key", join(out, "key.json"), "--ratings", join(out, "bad.jsonl"));
    assert.equal(bad.status, 4);
    assert.match(bad.stderr, /bad\.jsonl:1: pair "p9999" is not in/);
  });

  it("names what is wrong: an unknown baseline, a run without an evaluation, a dataset without a test split", () => {
    const unknown = cli("eval", "--run", runDir, "--baselines", "base,oracle");
    assert.equal(unknown.status, 3);
    assert.match(unknown.stderr, /unknown baseline\(s\): oracle/);
    const missing = cli("eval", "--compare", runDir, work);
    assert.notEqual(missing.status, 0);
    // Said before the engine starts (it was "test.jsonl has no rows" after the model had loaded).
    writeFileSync(join(work, "few.csv"), `text,rating\n${Array.from({ length: 12 }, (_, index) => `The kettle number ${index} boils fast,${1 + (index % 5)}`).join("\n")}\n`);
    assert.equal(cli("data", "build", "--input", join(work, "few.csv"), "--out", join(work, "no-test"), "--test", "0").status, 0);
    const empty = cli("eval", "--run", runDir, "--data", join(work, "no-test"));
    assert.equal(empty.status, 4, empty.stderr);
    assert.match(empty.stderr, /no-test has no test split to evaluate on \(train \d+ \/ validation \d+ \/ test 0 reviews\)\nhint: build it again from more rows or with a larger share for test/);
    assert.doesNotMatch(empty.stderr, /loading|llama\.cpp path/, "refused before a model is loaded");
  });
});
