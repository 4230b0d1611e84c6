import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { DataError } from "../errors.js";
import { ChatTemplate } from "../templates/chat-template.js";
import { formatAnalysis, type ReviewAnalysis } from "@reviewtune/contracts";
import { BUILTIN_DEMO, heldOutGroups, oversampleByClass, prepareData, readSourceRows, splitByGroup, type RenderedRow } from "./instruction-data.js";

const CHATML =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
const template = new ChatTemplate(CHATML);
const spec = (train: string, extra: Partial<Parameters<typeof prepareData>[0]> = {}) => ({ train, validation_fraction: 0.2, demo_reviews: 10, ...extra });
const folder = () => mkdtempSync(join(tmpdir(), "reviewtune-data-"));
const lines = (...rows: unknown[]) => rows.map((row) => (typeof row === "string" ? row : JSON.stringify(row))).join("\n") + "\n";

describe("instruction data", () => {
  it("heldOutGroups names the groups prepareData holds out for validation, rows with and without a group", () => {
    const dir = folder();
    const file = join(dir, "train.jsonl");
    const chat = (at: number, group?: string) => ({ ...(group ? { group } : {}), messages: [{ role: "user", content: `Question ${at}` }, { role: "assistant", content: `Answer ${at}` }] });
    // Grouped rows (two per product) and rows without a group (each split alone, by its line).
    writeFileSync(file, lines(...Array.from({ length: 40 }, (_, at) => (at % 2 === 0 ? chat(at, `product-${at % 10}`) : chat(at)))));
    for (const seed of [1, 7, 42]) {
      const data = prepareData(spec(file), template, seed);
      const held = heldOutGroups(spec(file), seed, readSourceRows(spec(file), seed))!;
      assert.deepEqual([...held].sort(), [...new Set(data.validation.map((row) => row.group))].sort(), `seed ${seed}`);
      assert.ok([...held].some((group) => group.startsWith(`${file}#`)), "a row without a group is held out by its line");
    }
    // With a validation file nothing is carved out of the training file.
    writeFileSync(join(dir, "val.jsonl"), lines(chat(99)));
    assert.equal(heldOutGroups(spec(file), 1, readSourceRows(spec(file, { validation: join(dir, "val.jsonl") }), 1)), undefined);
  });

  it("renders chat rows with the model's template and keeps prompt/completion rows verbatim", () => {
    const file = join(folder(), "train.jsonl");
    writeFileSync(
      file,
      lines(
        { messages: [{ role: "user", content: "Rate: great" }, { role: "assistant", content: "5/5" }] },
        "",
        { prompt: "Q: fine?\nA:", completion: " 3/5" },
      ),
    );
    const data = prepareData(spec(file, { validation_fraction: 0 }), template, 1);
    assert.deepEqual(
      data.train.map(({ prompt, completion }) => ({ prompt, completion })),
      [
        { prompt: "<|im_start|>user\nRate: great<|im_end|>\n<|im_start|>assistant\n", completion: "5/5<|im_end|>\n" },
        { prompt: "Q: fine?\nA:", completion: " 3/5" },
      ],
    );
  });

  it("names the file and line of a bad row, and what a row needs", () => {
    const file = join(folder(), "train.jsonl");
    writeFileSync(file, lines({ prompt: "a", completion: "b" }, "{not json", { prompt: "c" }));
    assert.throws(() => prepareData(spec(file), template, 1), (error: unknown) => {
      assert.ok(error instanceof DataError);
      assert.equal(error.file, file);
      assert.equal(error.line, 2);
      assert.match(error.message, new RegExp(`^${file}:2: not valid JSON`));
      // Every bad line is named in one go (line 3 lacks its completion), each line's fix in the hint.
      assert.match(error.message, new RegExp(`\\n${file}:3: .*needs "messages" or "completion"`));
      assert.match(error.hint ?? "", /one JSON object.*"completion"|"completion".*one JSON object/);
      return true;
    });
    writeFileSync(file, lines(...Array.from({ length: 13 }, () => "{not json")));
    assert.throws(() => prepareData(spec(file), template, 1), (error: unknown) => {
      assert.ok(error instanceof DataError);
      assert.equal(error.message.split("\n").length, 11, "ten lines named, the rest counted");
      assert.match(error.message, /\n\(and 3 more bad lines\)$/);
      return true;
    });
    writeFileSync(file, lines({ prompt: "a", completion: "b" }, { prompt: "c" }));
    assert.throws(() => prepareData(spec(file), template, 1), (error: unknown) => {
      assert.ok(error instanceof DataError);
      assert.equal(error.line, 2);
      assert.match(error.hint ?? "", /"prompt" and "completion"/);
      return true;
    });
  });

  it("a missing file, an empty file and no data at all are DataErrors", () => {
    const dir = folder();
    assert.throws(() => prepareData(spec(join(dir, "nope.jsonl")), template, 1), /nope\.jsonl does not exist/);
    writeFileSync(join(dir, "empty.jsonl"), "\n\n");
    assert.throws(() => prepareData(spec(join(dir, "empty.jsonl")), template, 1), /has no rows/);
    assert.throws(() => prepareData({ validation_fraction: 0.1, demo_reviews: 1 }, template, 1), (error: unknown) => {
      assert.ok(error instanceof DataError);
      assert.match(error.hint ?? "", /--data/);
      return true;
    });
  });

  it("a folder supplies train.jsonl and val.jsonl", () => {
    const dir = folder();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "train.jsonl"), lines({ prompt: "a", completion: "b" }, { prompt: "c", completion: "d" }));
    writeFileSync(join(dir, "val.jsonl"), lines({ prompt: "e", completion: "f" }));
    const data = prepareData(spec(dir), template, 1);
    assert.equal(data.train.length, 2);
    assert.deepEqual(data.validation.map((row) => row.prompt), ["e"]);
  });

  it("the demo set never splits one review's tasks across train and validation", () => {
    const data = prepareData(spec(BUILTIN_DEMO), template, 3);
    const trainGroups = new Set(data.train.map((row) => row.group));
    assert.ok(data.validation.length > 0);
    for (const row of data.validation) assert.ok(!trainGroups.has(row.group), `group ${row.group} is in both splits`);
    assert.deepEqual(prepareData(spec(BUILTIN_DEMO), template, 3), data, "the same seed gives the same split");
  });

  it("splitByGroup holds out about the fraction asked, by whole groups, and keeps a training group", () => {
    const rows: RenderedRow[] = Array.from({ length: 100 }, (_, index) => ({ prompt: `p${index}`, completion: "c", group: `g${Math.floor(index / 5)}` }));
    const { train, validation } = splitByGroup(rows, 0.1, 9);
    assert.equal(validation.length, 10);
    assert.equal(train.length + validation.length, 100);
    const two: RenderedRow[] = [
      { prompt: "a", completion: "c", group: "x" },
      { prompt: "b", completion: "c", group: "x" },
    ];
    assert.equal(splitByGroup(two, 0.5, 1).train.length, 2, "one group only: it stays in training");
    assert.equal(splitByGroup(rows, 0, 1).validation.length, 0);
  });
});

/** 40 reviews, 80% positive (as real sets are), each with an analysis row and a rating row. */
function skewedReviews(): string {
  const rows: unknown[] = [];
  for (let index = 0; index < 40; index++) {
    const sentiment: ReviewAnalysis["sentiment"] = index % 10 === 8 ? "negative" : index % 10 === 9 ? "neutral" : "positive";
    const analysis: ReviewAnalysis = { stars: sentiment === "positive" ? 5 : sentiment === "neutral" ? 3 : 1, sentiment, score: 0, quality: "good", recommendation: "yes", aspects: [], summary: "A review." };
    const group = `review-${index}`;
    rows.push({ messages: [{ role: "user", content: `Analyze review ${index}` }, { role: "assistant", content: formatAnalysis(analysis) }], group, task: "analysis" });
    rows.push({ prompt: `Rate review ${index}:`, completion: ` ${analysis.stars}`, group, task: "rating" });
  }
  const file = join(folder(), "train.jsonl");
  writeFileSync(file, lines(...rows));
  return file;
}

const sentimentOf = (row: RenderedRow) => (row.task === "analysis" ? /"sentiment":"(\w+)"/.exec(row.completion)![1] : undefined);
const countBy = (rows: RenderedRow[]) => {
  const counts: Record<string, number> = {};
  for (const row of rows) {
    const key = sentimentOf(row) ?? row.task!;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
};

describe("data.balance", () => {
  it("oversamples the train split's minority sentiments up to 3x their count; validation and other tasks untouched", () => {
    const file = skewedReviews();
    const plain = prepareData(spec(file, { balance: "none" }), template, 5);
    const balanced = prepareData(spec(file, { balance: "sentiment" }), template, 5);
    assert.equal(plain.balance, undefined);
    assert.deepEqual(balanced.validation, plain.validation, "validation is never oversampled");
    const before = countBy(plain.train);
    const after = countBy(balanced.train);
    assert.equal(after.rating, before.rating, "rows of other tasks are untouched");
    assert.equal(after.positive, before.positive);
    for (const minority of ["negative", "neutral"]) {
      assert.ok(before[minority]! >= 1 && before[minority]! * 3 < before.positive!, "the fixture keeps the cap binding");
      assert.equal(after[minority], before[minority]! * 3, minority);
    }
    assert.deepEqual(balanced.balance, {
      by: "sentiment",
      max_factor: 3,
      before: { negative: before.negative, neutral: before.neutral, positive: before.positive },
      after: { negative: after.negative, neutral: after.neutral, positive: after.positive },
    });
    assert.deepEqual(balanced.train.slice(0, plain.train.length), plain.train, "the originals keep their order; copies follow");
    const originals = balanced.train.slice(0, plain.train.length);
    for (const copy of balanced.train.slice(plain.train.length)) assert.ok(originals.includes(copy), "a copy is a row of the train split");
    assert.deepEqual(prepareData(spec(file, { balance: "sentiment" }), template, 5), balanced, "the same seed gives the same rows");
  });

  it("a large factor balances fully, never past the majority; a factor of 1 changes nothing", () => {
    const file = skewedReviews();
    const full = prepareData(spec(file, { balance: "sentiment", balance_max_factor: 100, validation_fraction: 0 }), template, 5);
    assert.deepEqual(full.balance?.after, { negative: 32, neutral: 32, positive: 32 });
    const one = prepareData(spec(file, { balance: "sentiment", balance_max_factor: 1, validation_fraction: 0 }), template, 5);
    assert.equal(one.train.length, 80);
  });

  it("oversampleByClass draws the remainder without replacement, by the seed", () => {
    const rows = ["a1", "a2", "a3", "a4", "a5", "a6", "b1", "b2", "b3", "b4"];
    const { rows: out, after } = oversampleByClass(rows, (row) => row[0], 1.5, 3);
    assert.deepEqual(after, { a: 6, b: 6 });
    const copies = out.slice(rows.length);
    assert.equal(copies.length, 2);
    assert.equal(new Set(copies).size, 2, "two different b rows, not one twice");
    assert.ok(copies.every((row) => row.startsWith("b")));
    assert.deepEqual(oversampleByClass(rows, (row) => row[0], 1.5, 3).rows, out);
  });

  it("an analysis answer that is not a review analysis names the file and the way out", () => {
    const file = join(folder(), "train.jsonl");
    writeFileSync(file, lines({ messages: [{ role: "user", content: "Analyze" }, { role: "assistant", content: "positive" }], task: "analysis" }));
    assert.throws(() => prepareData(spec(file, { balance: "sentiment" }), template, 1), (error: unknown) => {
      assert.ok(error instanceof DataError);
      assert.equal(error.file, file);
      assert.match(error.message, /analysis row 1 .*not a review analysis: not JSON/);
      assert.match(error.hint ?? "", /data\.balance: none/);
      return true;
    });
    assert.equal(prepareData(spec(file, { balance: "none", validation_fraction: 0 }), template, 1).train.length, 1);
  });
});

