// `reviewtune data build` on hostile files, as a user meets them: each file is made here, built by
// the real command (a child process; no engine, no model), and every row is accounted for: the card's
// "Rows: N read = A accepted + R rejected" line must agree with the rows the test wrote, with
// card.json, and with rejected.jsonl. Nothing printed may carry a raw control character.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";

const bin = fileURLToPath(new URL("../bin/reviewtune.js", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "reviewtune-hostile-"));
const ESC = "\u001b";
const BEL = "\u0007";

function build(file: string, ...flags: string[]) {
  const out = join(work, `${file}.dataset`);
  const result = spawnSync(process.execPath, [bin, "data", "build", "--input", join(work, file), "--out", out, "--force", ...flags], { encoding: "utf8", cwd: work });
  // Whatever the file held, the terminal gets no control character but the newline.
  assert.doesNotMatch(result.stdout + result.stderr, /[\u0000-\u0009\u000b-\u001f\u007f]/, `${file}: raw control characters printed`);
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, out };
}

const write = (file: string, content: string | Buffer) => writeFileSync(join(work, file), content);
const readJsonl = (file: string) => readFileSync(file, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line) as Record<string, any>);

/**
 * Builds `file` and checks its accounting: the printed line, card.json and rejected.jsonl agree, and
 * `read` is the number of rows the test put in the file.
 */
function accounted(file: string, expected: { read: number; accepted: number; rejected: Record<string, number> }, ...flags: string[]) {
  const result = build(file, ...flags);
  assert.equal(result.status, 0, `${file}: ${result.stderr}`);
  const total = Object.values(expected.rejected).reduce((sum, count) => sum + count, 0);
  assert.equal(expected.accepted + total, expected.read, `${file}: the expectation itself must balance`);
  const reasons = Object.entries(expected.rejected).filter(([, count]) => count > 0);
  const line = `Rows: ${expected.read} read = ${expected.accepted} accepted + ${total} rejected${reasons.length ? ` (${reasons.map(([reason, count]) => `${reason} ${count}`).join(", ")})` : ""}.`;
  assert.ok(result.stdout.includes(line), `${file}: expected "${line}" in\n${result.stdout}`);
  const card = JSON.parse(readFileSync(join(result.out, "card.json"), "utf8"));
  assert.equal(card.rows.read, expected.read);
  assert.equal(card.rows.accepted, expected.accepted);
  assert.equal(card.rows.unaccounted, 0);
  assert.ok(readFileSync(join(result.out, "card.md"), "utf8").includes(line), `${file}: the accounting line is in card.md`);
  // rejected.jsonl holds every rejected row: one entry per row, or one per unreadable span of lines.
  const rejections = readJsonl(join(result.out, "rejected.jsonl"));
  const rowsOf = (rejection: Record<string, any>) => (rejection.last_line !== undefined ? rejection.last_line - rejection.line + 1 : 1);
  assert.equal(rejections.reduce((sum, rejection) => sum + rowsOf(rejection), 0), total);
  assert.ok(rejections.every((rejection) => rejection.file && Number.isInteger(rejection.line) && rejection.detail), `${file}: every rejection names file, line and why`);
  assert.equal(readJsonl(join(result.out, "reviews.jsonl")).length, card.reviews);
  return { ...result, card, rejections };
}

const review = (index: number) => `The kettle number ${index} boils fast and the lid is solid`;

describe("data build on hostile files: every row accounted for", () => {
  it("an empty file and a header-only file exit 4 (a data problem), with no dataset and no staging folder left", () => {
    write("empty.csv", "");
    write("header-only.csv", "text,rating\n");
    for (const file of ["empty.csv", "header-only.csv"]) {
      const result = build(file);
      assert.equal(result.status, 4, `${file}: ${result.stderr}`);
      assert.match(result.stderr, /no rows in .*the input is empty.*Rows: 0 read = 0 accepted \+ 0 rejected/);
      assert.equal(existsSync(result.out), false);
    }
    assert.deepEqual(readdirSync(work).filter((name) => name.includes(".partial")), []);
  });

  it("a binary file and a UTF-16 file are refused before any row, naming what they are", () => {
    const binary = Buffer.alloc(2048);
    for (let index = 0; index < binary.length; index++) binary[index] = (index * 7919) % 256;
    write("binary.csv", binary);
    write("utf16.csv", Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`text,rating\n${review(1)},5\n`, "utf16le")]));
    write("utf16-no-bom.csv", Buffer.from(`text,rating\n${review(1)},5\n`, "utf16le"));
    assert.match(build("binary.csv").stderr, /binary.csv does not look like text/);
    assert.match(build("utf16.csv").stderr, /utf16.csv is UTF-16 LE text, not UTF-8[\s\S]*hint: save it as UTF-8/);
    assert.match(build("utf16-no-bom.csv").stderr, /is UTF-16 text, not UTF-8/);
    for (const file of ["binary.csv", "utf16.csv", "utf16-no-bom.csv"]) assert.equal(build(file).status, 4);
  });

  it("unbalanced quotes: the lines a quote swallowed are rejected with their line numbers, not lost", () => {
    // 10 rows on lines 2-11. Line 3 has a stray quote inside a field; line 4 opens a quote that the quote on line 9 does not close properly.
    const rows = [`${review(1)},5`, `${review(2)} "so" good,4`, `"${review(3)},3`, ...[4, 5, 6, 7].map((index) => `${review(index)},2`), `${review(8)} "x",3`, `${review(9)},2`, `${review(10)},1`];
    write("unbalanced.csv", `text,rating\n${rows.join("\n")}\n`);
    const stopped = build("unbalanced.csv");
    assert.equal(stopped.status, 4);
    assert.match(stopped.stderr, /unbalanced.csv:3: Invalid Opening Quote/);
    const { rejections } = accounted("unbalanced.csv", { read: 10, accepted: 3, rejected: { malformed: 7 } }, "--skip-bad-rows");
    const span = rejections.find((rejection) => rejection.line === 4);
    assert.equal(span?.last_line, 9, JSON.stringify(rejections));
    assert.match(span.detail, /a quote opened on line 4 runs to line 9: 6 lines unreadable/);
  });

  it("a quote that merges whole rows into one readable record is caught, not taken as one review", () => {
    // Lines 3-5 parse as ONE record (the quote opened on line 3 closes on line 5): three rows in one review's text.
    write("merged.csv", `text,rating\n${review(1)},5\n"${review(2)},4\n${review(3)},3\n${review(4)}",2\n"${review(5)}\nwhich runs over two lines",1\n"${review(6)}, fast\nWorks, great",5\n"${review(7)},\nbut it broke",4\n`);
    const stopped = build("merged.csv");
    assert.equal(stopped.status, 4);
    assert.match(stopped.stderr, /merged.csv:3-5: a quoted field opened on line 3 runs to line 5, and each of these lines reads as a whole row: an unbalanced quote merged 3 rows/);
    // Reviews whose text really runs over two lines (6-7, 8-9, 10-11) are one row each, accepted, even
    // with a comma on each line: a line of such a text does not read as a whole row (an empty field, no rating).
    const { rejections } = accounted("merged.csv", { read: 7, accepted: 4, rejected: { malformed: 3 } }, "--skip-bad-rows");
    assert.deepEqual(rejections.map((rejection) => [rejection.line, rejection.last_line]), [[3, 5]]);
  });

  it("a 1 MB field is rejected as too long; a truncated JSONL line as malformed", () => {
    write("big-field.csv", `text,rating\n${review(1)},5\n"${"very long review ".repeat(62_000)}",4\n${review(2)},3\n`);
    accounted("big-field.csv", { read: 3, accepted: 2, rejected: { too_long: 1 } });
    const lines = [1, 2, 3].map((index) => JSON.stringify({ text: review(index), rating: 4 }));
    write("truncated.jsonl", `${lines.join("\n")}\n${JSON.stringify({ text: review(4), rating: 5 }).slice(0, 25)}`);
    assert.equal(build("truncated.jsonl").status, 4);
    accounted("truncated.jsonl", { read: 4, accepted: 3, rejected: { malformed: 1 } }, "--skip-bad-rows");
  });

  it("formula cells are review text like any other; bad ratings are rejected; half stars are kept and said", () => {
    write("formulas.csv", `text,rating\n"=HYPERLINK(""http://x"",""${review(1)}"")",5\n+${review(2)},4\n-${review(3)},3\n@${review(4)},2\n`);
    accounted("formulas.csv", { read: 4, accepted: 4, rejected: {} });
    const ratings = ["3.5", "0", "6", "five", "", "-1", "NaN", "4.5", "5"];
    write("ratings.csv", `text,rating\n${ratings.map((rating, index) => `${review(index)},${rating}`).join("\n")}\n`);
    const { card, stdout } = accounted("ratings.csv", { read: 9, accepted: 4, rejected: { rating_out_of_range: 5 } });
    assert.equal(card.ratings_rounded, 2);
    assert.match(stdout, /2 rating\(s\) had a fraction \(e.g. 3.5\): rounded half up/);
    const kept = readJsonl(join(`${join(work, "ratings.csv")}.dataset`, "reviews.jsonl")).map((row) => row.rating);
    assert.deepEqual(kept.filter((rating) => rating !== undefined && !Number.isInteger(rating)).sort(), [3.5, 4.5]);
  });

  it("duplicates are rejected naming the first; NUL and control characters are removed from reviews and never printed raw", () => {
    write("duplicates.csv", `text,rating\n${review(1)},5\n${review(1)},5\n${review(1).toUpperCase()},4\n${review(2)},3\n`);
    const { rejections } = accounted("duplicates.csv", { read: 4, accepted: 2, rejected: { duplicate: 2 } });
    assert.match(rejections[0]!.detail, /same text as .*duplicates.csv:2/); // no title column: not "title and text"
    write("control.csv", `text,rating,category\n"${review(1)}\u0000 with a NUL",5,Home${ESC}[31m\n"${ESC}]0;pwned${BEL}${review(2)}",4,Home\n"${ESC}[2J${review(3)}\r\u007f",3,Home\n`);
    accounted("control.csv", { read: 3, accepted: 3, rejected: {} });
    const reviews = readJsonl(join(`${join(work, "control.csv")}.dataset`, "reviews.jsonl"));
    assert.deepEqual(reviews.map((row) => row.text), [`${review(1)} with a NUL`, `]0;pwned${review(2)}`, `[2J${review(3)}`]);
    assert.ok(reviews.every((row) => row.category === "Home[31m" || row.category === "Home"));
    // A header with terminal escapes reaches the user in the "the columns are:" hint: escaped, not obeyed.
    write("escape-header.csv", `"${ESC}[31mbody${ESC}]0;pwned${BEL}",stars\n${review(1)},5\n`);
    const header = build("escape-header.csv");
    assert.equal(header.status, 3);
    assert.ok(header.stderr.includes("the columns are: \\x1b[31mbody\\x1b]0;pwned\\x07, stars"), header.stderr);
  });

  it("bad UTF-8 and lone surrogates are rejected at ingestion as bad_encoding, naming the column", () => {
    const good = Buffer.from(`text,title,rating\n${review(1)},Fine,5\n`);
    const badText = Buffer.concat([Buffer.from(`${review(2)} caf`), Buffer.from([0xc3, 0x28]), Buffer.from(",Fine,4\n")]);
    const badTitle = Buffer.concat([Buffer.from(`${review(3)},Caf`), Buffer.from([0xe9]), Buffer.from(",3\n")]);
    write("bad-utf8.csv", Buffer.concat([good, badText, badTitle]));
    const utf8 = accounted("bad-utf8.csv", { read: 3, accepted: 1, rejected: { bad_encoding: 2 } });
    assert.deepEqual(utf8.rejections.map((rejection) => [rejection.line, rejection.detail.match(/column "(\w+)"/)?.[1]]), [[3, "text"], [4, "title"]]);
    // JSON escapes can spell half a character; a tokenizer would fail on it later with no file or line.
    const lines = [`{"text": "${review(1)}", "title": "Fine", "rating": 5}`, `{"text": "${review(2)} \\ud83d", "rating": 4}`, `{"text": "${review(3)}", "title": "\\udc00 odd", "rating": 3}`, `{"text": "${review(4)} \\ud83d\\ude00", "rating": 5}`];
    write("surrogates.jsonl", `${lines.join("\n")}\n`);
    const surrogates = accounted("surrogates.jsonl", { read: 4, accepted: 2, rejected: { bad_encoding: 2 } });
    assert.match(surrogates.rejections[0]!.detail, /column "text" holds a lone UTF-16 surrogate \(\\ud83d\)/);
    assert.deepEqual(surrogates.rejections.map((rejection) => rejection.line), [2, 3]);
    // Ready-made instruction rows go to the tokenizer too.
    write("surrogate-chat.jsonl", `${JSON.stringify({ messages: [{ role: "user", content: "Hi" }, { role: "assistant", content: "Hello" }] })}\n{"messages": [{"role": "user", "content": "Hi \\udead"}, {"role": "assistant", "content": "Hello"}]}\n`);
    const chat = accounted("surrogate-chat.jsonl", { read: 2, accepted: 1, rejected: { bad_encoding: 1 } });
    assert.match(chat.rejections[0]!.detail, /message 1 \(user\) holds a lone UTF-16 surrogate/);
  });

  it("a build that gives less than it was asked for says so: most rows rejected, an empty split, no ratings, a held-out category no review has", () => {
    // A Latin-1 file: every row with an accent rejected, one left; exit 0 (it trains), but not in silence.
    write("latin1.csv", Buffer.concat([Buffer.from("text,rating,category\n"), Buffer.from(`${review(1)} caf\xe9,5,home\n${review(2)} na\xefve,1,home\n`, "latin1"), Buffer.from(`${review(3)},4,home\n`)]));
    const latin1 = accounted("latin1.csv", { read: 3, accepted: 1, rejected: { bad_encoding: 2 } });
    assert.match(latin1.stderr, /warning: most rows were rejected: 2 of 3 \(bad_encoding 2\); .*re-save it as UTF-8/);
    assert.match(latin1.stderr, /warning: the test split is empty \(1 reviews, --test 0\.1\): `reviewtune eval` needs one/);
    assert.match(latin1.stderr, /warning: the validation split is empty/);
    assert.doesNotMatch(latin1.stderr, /star rating/, "its rows have ratings");
    // Forty reviews in ten categories: a split for each share, and no rating column under a known name.
    const rows = Array.from({ length: 40 }, (_, index) => `${review(index)},${1 + (index % 5)},${["home", "garden", "toys", "tools"][index % 4]}`);
    write("renamed-rating.csv", `text,score_x,category\n${rows.join("\n")}\n`);
    const renamed = build("renamed-rating.csv", "--test", "0.25", "--validation", "0.25");
    assert.equal(renamed.status, 0, renamed.stderr);
    assert.match(renamed.stderr, /warning: no review has a star rating: .*--column rating=<column> \(renamed-rating\.csv's other columns: score_x\)/);
    // The summary says which column fed which field, and which it left.
    assert.match(renamed.stdout, /columns {4}renamed-rating\.csv: text, category; not used: score_x/);
    assert.deepEqual(JSON.parse(readFileSync(join(renamed.out, "card.json"), "utf8")).columns, [{ input: join(work, "renamed-rating.csv"), mapped: { text: "text", category: "category" }, unused: ["score_x"] }]);
    assert.doesNotMatch(renamed.stderr, /split is empty|most rows/);
    assert.doesNotMatch(build("renamed-rating.csv", "--column", "rating=score_x", "--test", "0.25", "--validation", "0.25").stderr, /warning/);
    // A held-out category no review has held nothing out: refused, listing the categories there are.
    const held = build("renamed-rating.csv", "--held-out-category", "furniture", "--test", "0.25", "--validation", "0.25");
    assert.equal(held.status, 3, held.stderr);
    assert.match(held.stderr, /error: --held-out-category "furniture": no review has this category, so nothing would be held out\nhint: categories of these reviews: /);
    for (const category of ["home", "garden", "toys", "tools"]) assert.ok(held.stderr.includes(`${category} (10)`), held.stderr);
    // The folder the build before wrote is left as it was (the refused build never replaced it).
    assert.equal(JSON.parse(readFileSync(join(held.out, "card.json"), "utf8")).config.held_out_category, null);
    const toys = build("renamed-rating.csv", "--held-out-category", "Toys");
    assert.equal(toys.status, 0, "the category's case does not matter");
    // Said where the user reads the build: the summary and the card.
    assert.match(toys.stdout, /held out: category toys, all 10 of its reviews in test \(none in train or validation\)/);
    assert.match(readFileSync(join(toys.out, "card.md"), "utf8"), /Held out: category toys, all 10 of its reviews in test/);
  });

  it("50,000 rows: every one accounted for, the rejected ones by reason", () => {
    // 2,000 distinct reviews; the other 48,000 rows are rejected in four ways, to account for at scale.
    const rows: string[] = [];
    for (let index = 0; index < 50_000; index++) {
      const kind = index < 2_000 ? "ok" : ["duplicate", "empty", "rating", "duplicate"][index % 4];
      if (kind === "ok") rows.push(`${review(index)},${1 + (index % 5)}`);
      else if (kind === "duplicate") rows.push(`${review(index % 2_000)},${1 + (index % 5)}`);
      else if (kind === "empty") rows.push(`"",3`);
      else rows.push(`${review(index)},9`);
    }
    write("fifty-thousand.csv", `text,rating\n${rows.join("\n")}\n`);
    accounted("fifty-thousand.csv", { read: 50_000, accepted: 2_000, rejected: { empty_text: 12_000, rating_out_of_range: 12_000, duplicate: 24_000 } });
  });

  it("Ctrl-C during a build stops it, exits 130 and leaves no .partial folder; the same Ctrl-C delivered twice is one", async () => {
    write("long.csv", `text,rating\n${Array.from({ length: 50_000 }, (_, index) => `${review(index)},${1 + (index % 5)}`).join("\n")}\n`);
    const out = join(work, "interrupted");
    const child = spawn(process.execPath, [bin, "data", "build", "--input", join(work, "long.csv"), "--out", out], { cwd: work, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    // Wait until the build is writing (its staging folder exists), then interrupt it.
    const staged = () => readdirSync(work).some((name) => name.startsWith(".interrupted.partial-"));
    for (let waited = 0; !staged() && waited < 30_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(staged(), "the build never started writing");
    // The terminal's SIGINT and a wrapper's forwarded copy (`timeout`, a script runner) arrive together:
    // a clean stop, not "quit at once" (which would skip the stop's own work, a training's checkpoint).
    child.kill("SIGINT");
    // Apart enough to be two signals (two sent at once merge into one pending), well under a second.
    await new Promise((resolve) => setTimeout(resolve, 150));
    child.kill("SIGINT");
    assert.equal(await exited, 130, stderr);
    assert.equal(stderr.match(/interrupted: stopping cleanly/g)?.length, 1, stderr);
    assert.match(stderr, /data build interrupted after \d+ reviews: nothing was written/);
    assert.equal(existsSync(out), false);
    assert.deepEqual(readdirSync(work).filter((name) => name.includes(".partial")), []);
  });
});
