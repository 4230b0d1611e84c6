import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConfigError, DataError } from "../../errors.js";
import { csvDelimiter, readRecords, type MalformedRecord, type ReadOptions, type SourceRecord } from "./records.js";
import { DuplicateIndex, ReviewValidator, cleanText, cleanTextPasses, type Review, type ValidationOptions } from "./reviews.js";
import { sha256Bytes } from "../digest.js";

const folder = mkdtempSync(join(tmpdir(), "reviewtune-sources-"));
const write = (name: string, content: string | Buffer) => {
  const file = join(folder, name);
  writeFileSync(file, content);
  return file;
};
async function collect(file: string, options: ReadOptions = {}): Promise<SourceRecord[]> {
  const records: SourceRecord[] = [];
  for await (const record of readRecords(file, options)) records.push(record);
  return records;
}
async function validate(file: string, options: ValidationOptions & { skipBadRows?: boolean } = {}) {
  const validator = new ReviewValidator(options);
  const reviews: Review[] = [];
  const read = readRecords(file, { skipBadRows: options.skipBadRows ?? false, onMalformed: (record) => validator.malformed(record) });
  for await (const record of read) {
    const review = validator.accept(record);
    if (review) reviews.push(review);
  }
  return { reviews, rejections: validator.rejections, counts: validator.counts() };
}

describe("readRecords", () => {
  it("reads CSV with quoted commas, multi-line fields and a BOM, with line numbers", async () => {
    const file = write("quoted.csv", '\ufeffreview_id, text ,stars\nr1,"good, really",5\nr2,"two\nlines",4\n');
    const records = await collect(file);
    assert.deepEqual(
      records.map((record) => [record.line, record.value]),
      [
        [2, { review_id: "r1", text: "good, really", stars: "5" }],
        [4, { review_id: "r2", text: "two\nlines", stars: "4" }],
      ],
    );
  });

  it("reads a semicolon-separated CSV (a spreadsheet's, where the decimal mark is a comma) by its header", async () => {
    const file = write("semicolons.csv", '\ufeff"review; id";text;stars\nr1;Good, really good;5\nr2;"Broke; sent it back";1\n');
    assert.equal(await csvDelimiter(file), ";");
    const records = await collect(file);
    assert.deepEqual(
      records.map((record) => [record.line, record.value]),
      [
        [2, { "review; id": "r1", text: "Good, really good", stars: "5" }],
        [3, { "review; id": "r2", text: "Broke; sent it back", stars: "1" }],
      ],
    );
    assert.equal(await csvDelimiter(write("commas.csv", "id,text;notes,stars\nr1,fine,5\n")), ",", "more commas than semicolons: commas");
  });

  it("stops at broken CSV quoting with the line, or reports it and goes on with skipBadRows", async () => {
    const file = write("broken.csv", 'text,stars\nfine,5\n"bad "quote" here",3\nalso fine,4\nshort\n');
    await assert.rejects(collect(file), (error: unknown) => {
      assert.ok(error instanceof DataError);
      assert.equal(error.line, 3);
      assert.match(error.message, /broken\.csv:3: /);
      assert.match(error.hint ?? "", /--skip-bad-rows/);
      return true;
    });
    const bad: MalformedRecord[] = [];
    const records = await collect(file, { skipBadRows: true, onMalformed: (record) => bad.push(record) });
    assert.deepEqual(records.map((record) => record.value.text), ["fine", "also fine"]);
    assert.deepEqual(bad.map((record) => record.line), [3, 5]);
  });

  it("reads JSONL and names a truncated line", async () => {
    const file = write("reviews.jsonl", '{"text": "a", "rating": 5}\n\n{"text": "b", "rat\n{"text": "c"}\n[1]\n');
    await assert.rejects(collect(file), /reviews\.jsonl:3: not valid JSON/);
    const bad: MalformedRecord[] = [];
    const records = await collect(file, { skipBadRows: true, onMalformed: (record) => bad.push(record) });
    assert.deepEqual(records.map((record) => [record.line, record.value.text]), [[1, "a"], [4, "c"]]);
    assert.deepEqual(bad.map((record) => [record.line, record.reason]), [[3, bad[0]!.reason], [5, "expected a JSON object"]]);
  });

  it("streams a JSON array and reports where a broken one breaks", async () => {
    const good = write("items.json", JSON.stringify([{ question: "q1", answer_keywords: ["a", "b"] }, { question: "q2", answer_keywords: [] }]));
    const records = await collect(good);
    assert.deepEqual(records.map((record) => [record.unit, record.line, record.value.question]), [["item", 1, "q1"], ["item", 2, "q2"]]);
    const broken = write("broken.json", '[{"text": "a"}, {"text": "b",]');
    await assert.rejects(collect(broken), /broken\.json: not a valid JSON array \(.+; 0 item\(s\) read before it\)/);
  });

  it("refuses unknown file types and missing files, naming them", async () => {
    await assert.rejects(collect(write("reviews.xlsx", "x")), /unknown file type "\.xlsx"/);
    await assert.rejects(collect(join(folder, "missing.csv")), /missing\.csv does not exist/);
    // A folder is named as one, with the --input flags for the review files in it.
    const inputs = join(folder, "inputs");
    mkdirSync(inputs);
    writeFileSync(join(inputs, "b.jsonl"), "");
    writeFileSync(join(inputs, "a.csv"), "");
    writeFileSync(join(inputs, "notes.txt"), "");
    await assert.rejects(collect(inputs), (error: DataError) => {
      assert.match(error.message, /inputs is a folder, not a review file/);
      assert.equal(error.hint, `pass its files, one --input each: --input ${join(inputs, "a.csv")} --input ${join(inputs, "b.jsonl")}`);
      return true;
    });
  });
});

describe("ReviewValidator", () => {
  it("maps Amazon Reviews 2023 rows by their own column names", async () => {
    const file = write(
      "amazon.jsonl",
      JSON.stringify({ rating: 4.0, title: "Solid", text: "Works well.<br />Battery lasts.", asin: "B01", parent_asin: "B00", user_id: "U1", helpful_vote: 0 }) + "\n",
    );
    const { reviews } = await validate(file);
    assert.equal(reviews.length, 1);
    assert.deepEqual({ ...reviews[0], source: undefined, id: undefined }, {
      id: undefined,
      text: "Works well.\nBattery lasts.",
      title: "Solid",
      rating: 4,
      product_id: "B00",
      source: undefined,
    });
  });

  it("uses an explicit column mapping, and names the columns when one is wrong", async () => {
    const file = write("custom.csv", "feedback,score,dept\nLoved it,5,Beauty\n");
    const { reviews } = await validate(file, { mapping: { text: "feedback", category: "dept" } });
    assert.deepEqual([reviews[0]!.text, reviews[0]!.rating, reviews[0]!.category], ["Loved it", 5, "Beauty"]);
    await assert.rejects(validate(file, { mapping: { text: "body" } }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /the column "body" given for text is not in the header/);
      assert.match(error.hint ?? "", /feedback, score, dept/);
      return true;
    });
    const noText = write("no-text.csv", "score,dept\n5,Beauty\n");
    await assert.rejects(validate(noText), /no review text column found/);
  });

  it("rejects each bad row with its line and reason, and keeps the rest", async () => {
    const latin1 = Buffer.concat([Buffer.from("text,rating\n"), Buffer.from("caf"), Buffer.from([0xe9]), Buffer.from(" ok,4\n")]);
    const encoding = await validate(write("latin1.csv", latin1));
    assert.deepEqual(encoding.rejections.map((rejection) => [rejection.line, rejection.reason]), [[2, "bad_encoding"]]);

    const file = write(
      "mixed.csv",
      [
        "text,rating",
        "Great blender,5",
        '"   <br />  ",4', // empty once cleaned
        "Too many stars,7",
        "Great blender,5", // duplicate of line 2
        `${"long ".repeat(40)},3`,
        "Fine,",
        "half a star,0.5",
        "Words for stars,five",
      ].join("\n") + "\n",
    );
    const { reviews, rejections, counts } = await validate(file, { maxChars: 100 });
    assert.deepEqual(reviews.map((review) => [review.text, review.rating]), [["Great blender", 5], ["Fine", undefined]]);
    assert.deepEqual(
      rejections.map((rejection) => [rejection.line, rejection.reason]),
      [
        [3, "empty_text"],
        [4, "rating_out_of_range"],
        [5, "duplicate"],
        [6, "too_long"],
        [8, "rating_out_of_range"],
        [9, "rating_out_of_range"],
      ],
    );
    assert.match(rejections[2]!.detail, /mixed\.csv:2/);
    assert.match(rejections[1]!.detail, /rating "7" is not between 1 and 5/);
    assert.match(rejections[5]!.detail, /rating "five" \(column "rating"\) is not a number: stars are 1 to 5 \(--column rating=<name>/);
    assert.equal(counts.duplicate, 1);
    assert.equal(counts.rating_out_of_range, 3);
  });

  it("counts unreadable rows as malformed when told to skip them", async () => {
    const file = write("skip.jsonl", '{"text": "ok"}\n{"text": \n');
    const { reviews, counts, rejections } = await validate(file, { skipBadRows: true });
    assert.equal(reviews.length, 1);
    assert.equal(counts.malformed, 1);
    assert.equal(rejections[0]!.line, 2);
  });
});

describe("DuplicateIndex", () => {
  it("remembers where each of many digests was first seen, across files, through its table's growth", () => {
    const index = new DuplicateIndex();
    const digest = (n: number) => sha256Bytes(`review ${n}`);
    const count = 20_000; // the table starts at 1,024 slots: it grows five times
    for (let n = 0; n < count; n++) assert.equal(index.firstSeen(digest(n), n % 2 ? "b.jsonl" : "a.csv", n + 1), undefined);
    for (let n = 0; n < count; n += 997) assert.deepEqual(index.firstSeen(digest(n), "c.jsonl", 1), { file: n % 2 ? "b.jsonl" : "a.csv", line: n + 1 });
    // Digests equal in their first 32 bits (the probe's start) but not in the 96 kept are two reviews.
    const a = "\x01".repeat(32);
    const b = `${"\x01".repeat(11)}\x02${"\x01".repeat(20)}`;
    assert.equal(index.firstSeen(a, "d.jsonl", 7), undefined);
    assert.equal(index.firstSeen(b, "d.jsonl", 8), undefined);
    assert.deepEqual(index.firstSeen(b, "e.jsonl", 9), { file: "d.jsonl", line: 8 });
    assert.deepEqual(index.firstSeen(a, "e.jsonl", 9), { file: "d.jsonl", line: 7 });
    // Line 0 (a SemEval sentence without a line) is a place too, not an empty slot.
    const c = "\x03".repeat(32);
    assert.equal(index.firstSeen(c, "f.xml", 0), undefined);
    assert.deepEqual(index.firstSeen(c, "f.xml", 5), { file: "f.xml", line: 0 });
  });
});

describe("cleanText", () => {
  it("decodes entities, turns <br /> into line breaks (two make a paragraph) and drops tags", () => {
    assert.equal(cleanText("Great &amp; cheap<br /><br/>Works &quot;fine&quot; &#39;really&#39;&nbsp;<b>yes</b>"), "Great & cheap\n\nWorks \"fine\" 'really' yes");
    assert.equal(cleanText("  spaced \t out  "), "spaced out");
    // An emoji as its two UTF-16 halves, each a numeric reference (decimal or hex): the character, not two U+FFFD.
    assert.equal(cleanText("Love it &#55357;&#56842; and &#xD83D;&#xDC4D;"), "Love it \u{1F60A} and \u{1F44D}");
    assert.equal(cleanText("&#65;&#66; &#55357;x"), "AB \ufffdx", "other references as HTML decodes them");
  });

  it("skips its passes only for text they leave as it is", () => {
    // Texts at random (a fixed seed): characters the passes leave alone, spaces and line breaks,
    // and at most one of the characters they act on, so each of those is tried on its own.
    const plain = ["a", "b", "r", " ", "\n", "\n\n", ";", "/", ">", "#", "\u00a1", "\u2028", "\u3000", "\ufeff", "é", "\u{1F60A}"];
    const acted = ["\t", "\r", "&", "&amp;", "&#65;", "<", "<br>", "</p>", "\u00a0", "\u0001", "\u000b", "\u007f", "\u0085", "\u009f"];
    let state = 7;
    const next = (below: number) => ((state = (state * 1103515245 + 12345) % 2 ** 31), Math.floor((state / 2 ** 31) * below)); // high bits: an LCG's low ones repeat
    let unchanged = 0;
    for (let round = 0; round < 20_000; round++) {
      const pieces = Array.from({ length: next(10) }, () => plain[next(plain.length)]!);
      if (next(2) === 0) pieces.splice(next(pieces.length + 1), 0, acted[next(acted.length)]!);
      const text = pieces.join("");
      const passes = cleanTextPasses(text);
      assert.equal(cleanText(text), passes, JSON.stringify(text));
      if (passes === text) unchanged += 1;
    }
    assert.ok(unchanged > 1000, `only ${unchanged} texts the passes leave alone: the test would not reach the fast path`);
    const review = "Sound is great.\nThe strap broke after a week, sadly. Would not buy again (order #12)";
    assert.equal(cleanText(review), review);
  });
});

describe("instruction rows", () => {
  it("a QA-keyword row answers with its keywords and says so, for keyword recall in eval", async () => {
    const { instructionRow } = await import("./instructions.js");
    const row = instructionRow("qa", { file: "qa.json", line: 1, unit: "item", value: { question: "Is it waterproof?", answer_keywords: ["yes", "IPX7 rating"] } });
    assert.ok("messages" in row);
    assert.equal(row.messages.at(-1)!.content, "yes, IPX7 rating");
    assert.deepEqual(row.slices, { answer_format: "keywords" });
  });
});
