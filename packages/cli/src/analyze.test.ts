// `reviewtune analyze` as a user runs it, interrupted and resumed: a CSV with a bad row, a tiny random
// Llama on the torch engine, Ctrl-C (SIGINT) once some lines are written, a kill's half-written line
// simulated, a rerun with another input refused, then the same command finishing the file. Every
// input row must come out exactly once, in order, and --out must exist only once it is complete.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { ReviewAnalysisSchema } from "@reviewtune/contracts";
import { requireEngineEnvironment } from "@reviewtune/core";

const bin = fileURLToPath(new URL("../bin/reviewtune.js", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "reviewtune-analyze-"));
const tinyModel = join(work, "tiny-model");
const input = join(work, "reviews.csv");
const out = join(work, "analyses.jsonl");
const ROWS = 24;
const BAD_ROW = 3; // empty text: rejected, reported (before the interruption: rows are read as they are analyzed), not analyzed

const args = (file = input) => ["analyze", "--input", file, "--out", out, "--model", tinyModel, "--backend", "torch", "--batch-size", "2"];
const cli = (...rest: string[]) => spawnSync(process.execPath, [bin, ...rest], { encoding: "utf8", cwd: work, env: { ...process.env, NO_COLOR: "1" } });
const lines = (file: string) => readFileSync(file, "utf8").split("\n").filter(Boolean);

before(() => {
  const { python, engineSource } = requireEngineEnvironment();
  const made = spawnSync(python, ["-m", "reviewtune_engine.testing", "make-tiny-model", tinyModel], { encoding: "utf8", env: { ...process.env, PYTHONPATH: engineSource } });
  assert.equal(made.status, 0, made.stderr);
  const rows = Array.from({ length: ROWS }, (_, index) => {
    const text = index + 1 === BAD_ROW ? "" : `Review number ${index + 1}: the kettle ${index % 2 ? "boils fast" : "leaks, sadly"}.`;
    return `rev-${index + 1},${index % 5 + 1},"${text}"`;
  });
  writeFileSync(input, `review_id,rating,text\n${rows.join("\n")}\n`);
});

after(() => rmSync(work, { recursive: true, force: true }));

describe("reviewtune analyze", () => {
  it("is interrupted by Ctrl-C, refuses another input, and resumes to every row exactly once, in order", async () => {
    // 1. Ctrl-C once a few lines are written.
    const child = spawn(process.execPath, [bin, ...args()], { cwd: work, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const deadline = Date.now() + 240_000;
    while (Date.now() < deadline && !(existsSync(`${out}.partial`) && lines(`${out}.partial`).length >= 4)) {
      if (child.exitCode !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    child.kill("SIGINT");
    const code = await exited;
    assert.equal(code, 130, `interrupted: exit 130\n${stderr}`);
    assert.match(stderr, /interrupted: \d+ review\(s\) analyzed so far/);
    assert.match(stderr, new RegExp(`rejected .*reviews\\.csv:${BAD_ROW + 1}: empty_text`), "the bad row (its file line, after the header) is reported");
    assert.ok(!existsSync(out), "no --out while partial");
    const before = lines(`${out}.partial`).length;
    assert.ok(before >= 4 && before < ROWS - 1, `stopped part way (${before} lines)`);
    // The progress never counts the batch Ctrl-C cut (not written): its rows done are the lines kept, and the one bad row.
    const shown = Number([...stderr.matchAll(/^ {2}(\d+)\/\d+ rows/gm)].at(-1)?.[1] ?? 0);
    assert.ok(shown <= before + 1, `progress showed ${shown} rows done, ${before} were kept\n${stderr}`);

    // 2. A kill mid-write leaves half a line: simulated.
    appendFileSync(`${out}.partial`, '{"id":"rev-99","li');

    // 3. Another input is refused, and the partial output is left as it was.
    const other = join(work, "other.csv");
    writeFileSync(other, readFileSync(input, "utf8").replace("boils fast", "boils slowly"));
    const refused = cli(...args(other));
    assert.equal(refused.status, 3, refused.stderr);
    assert.match(refused.stderr, /was made from something else: input .*reviews\.csv .*now .*other\.csv/);
    assert.ok(!existsSync(out));

    // 4. The same command finishes it.
    const resumed = cli(...args());
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, /continuing .*: \d+ review\(s\) already analyzed \(a half-written last line of \d+ bytes dropped/);
    assert.match(resumed.stdout, new RegExp(`analyzed ${ROWS - 1} review\\(s\\) into .*; 1 row\\(s\\) rejected .*analyses/min on torch`));
    assert.ok(!existsSync(`${out}.partial`) && !existsSync(`${out}.partial.json`), "the partial output and its state are gone once complete");
    const written = lines(out).map((line) => JSON.parse(line) as { id: string; line: number; analysis?: unknown; error?: string });
    const expected = Array.from({ length: ROWS }, (_, index) => index + 1).filter((row) => row !== BAD_ROW);
    assert.deepEqual(written.map((entry) => entry.id), expected.map((row) => `rev-${row}`), "every good row once, in input order");
    assert.deepEqual(written.map((entry) => entry.line), expected.map((row) => row + 1), "the CSV line of each (after the header)");
    for (const entry of written) {
      if (entry.analysis !== undefined) assert.ok(ReviewAnalysisSchema.safeParse(entry.analysis).success, JSON.stringify(entry));
      else assert.ok(entry.error, `a line without an analysis says why: ${JSON.stringify(entry)}`);
    }
    const rejected = lines(join(work, "analyses.rejected.jsonl")).map((line) => JSON.parse(line) as { line: number; reason: string });
    assert.deepEqual(rejected.map((entry) => [entry.line, entry.reason]), [[BAD_ROW + 1, "empty_text"]], "the rejected file is rewritten by each run: the bad row once");

    // 5. A complete output is not redone without --force.
    const again = cli(...args());
    assert.equal(again.status, 3);
    assert.match(again.stderr, /already exists \(a complete analysis\)/);
  });
});
