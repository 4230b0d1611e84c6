// The drift check of `export --format gguf-lora` counts the prompts whose two answers state the same
// label: it must have prompts with a labelled task to count (it once recorded `labelled: 0`).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { buildDemoDataset } from "@reviewtune/core";
import { driftQuestions, labelAgreement } from "./actions/export-action.js";

describe("export drift: label agreement", () => {
  it("a run trained on a dataset's train.jsonl takes its prompts and tasks from the dataset's test split", async () => {
    const folder = join(mkdtempSync(join(tmpdir(), "reviewtune-export-")), "dataset");
    await buildDemoDataset({ out: folder, reviews: 60, seed: 3 });
    const { questions, tasks, source } = driftQuestions(join(folder, "train.jsonl"), 3, 40);
    assert.equal(source, join(folder, "test.jsonl"));
    const gold = readFileSync(source, "utf8").split("\n").filter(Boolean).slice(0, 40).map((line) => JSON.parse(line).messages.at(-1).content as string);
    assert.equal(questions.length, gold.length);
    const same = labelAgreement(tasks, gold, gold);
    assert.ok(same.labelled > 0, "some test prompts have a task with a label (sentiment, rating...)");
    assert.equal(same.same_label, same.labelled);
    // An answer that states another label counts against; the analysis and summary rows are not labelled.
    const index = tasks.indexOf("sentiment");
    assert.ok(index >= 0);
    const changed = gold.map((answer, at) => (at === index ? "Sentiment: mixed. Nothing else." : answer));
    assert.equal(labelAgreement(tasks, gold, changed).same_label, same.labelled - 1);
    assert.ok(tasks.some((task) => task === "analysis" || task === "summary"));
    assert.ok(same.labelled < tasks.length);
  });

  it("without a dataset, the demo prompts carry their tasks, so labels are still compared", () => {
    const { tasks, source } = driftQuestions(undefined, 42, 5);
    assert.equal(source, "generated demo reviews");
    assert.deepEqual(tasks, ["sentiment", "recommendation", "summary", "quality", "features"]);
    const answers = ["Sentiment: positive (4/5 stars).", "x", "A summary.", "y", "z"];
    assert.equal(labelAgreement(tasks, answers, answers).labelled, 4);
  });
});
