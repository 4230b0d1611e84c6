import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { DataError } from "../errors.js";
import { ChatTemplate } from "../templates/chat-template.js";
import { BUILTIN_DEMO, prepareData, splitByGroup, type RenderedRow } from "./instruction-data.js";

const CHATML =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
const template = new ChatTemplate(CHATML);
const spec = (train: string, extra: Partial<Parameters<typeof prepareData>[0]> = {}) => ({ train, validation_fraction: 0.2, demo_reviews: 10, ...extra });
const folder = () => mkdtempSync(join(tmpdir(), "reviewtune-data-"));
const lines = (...rows: unknown[]) => rows.map((row) => (typeof row === "string" ? row : JSON.stringify(row))).join("\n") + "\n";

describe("instruction data", () => {
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
