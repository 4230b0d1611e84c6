// The reference index over a real dataset folder with the real engine's all-MiniLM-L6-v2 embeddings.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { buildDemoDataset } from "../data/builder/demo-dataset.js";
import { EngineClient } from "../engine/client.js";
import { ReferenceIndex } from "./reference-index.js";

let engine: EngineClient;
let folder: string;
let dataset: string;

before(async () => {
  folder = mkdtempSync(join(tmpdir(), "reviewtune-refs-"));
  dataset = join(folder, "demo");
  await buildDemoDataset({ out: dataset, reviews: 12, seed: 7 });
  engine = await EngineClient.start();
});

after(async () => {
  await engine?.shutdown();
  rmSync(folder, { recursive: true, force: true });
});

describe("ReferenceIndex", () => {
  it("indexes every training example once and finds an example's own prompt first", async () => {
    const index = await ReferenceIndex.open(dataset);
    const examples = index.examples();
    const update = await index.update(engine);
    assert.deepEqual([update.total, update.added, update.removed], [examples.length, examples.length, 0]);

    const target = examples.find((example) => example.task === "quality")!;
    const [references] = await index.search(engine, [target.prompt], { k: 3 });
    assert.equal(references!.length, 3);
    assert.equal(references![0]!.id, target.id);
    assert.ok(references![0]!.similarity > 0.999, String(references![0]!.similarity));
    assert.ok(references![1]!.similarity <= references![0]!.similarity);

    const [onlyRatings] = await index.search(engine, [target.prompt], { k: 2, task: "rating" });
    assert.ok(onlyRatings!.every((reference) => reference.task === "rating"));
  });

  it("updates incrementally: nothing when unchanged, only new rows embedded, gone rows removed", async () => {
    const index = await ReferenceIndex.open(dataset);
    assert.deepEqual([(await index.update(engine)).added, (await index.update(engine)).removed], [0, 0]);

    const file = join(dataset, "train.jsonl");
    const lines = readFileSync(file, "utf8").trim().split("\n");
    const added = { group: "new-review", task: "sentiment", phrasing: 0, messages: [{ role: "user", content: "Is this kettle any good? Review: \"Boils fast, the lid cracked.\"" }, { role: "assistant", content: "Sentiment: mixed." }] };
    writeFileSync(file, `${[...lines.slice(2), JSON.stringify(added)].join("\n")}\n`);
    const update = await index.update(engine);
    assert.deepEqual([update.added, update.removed, update.total], [1, 2, lines.length - 1]);
    const [references] = await index.search(engine, ["kettle lid cracked, boils fast"], { k: 1 });
    assert.equal(references![0]!.group, "new-review");
  });

  it("names a folder that is not a dataset", async () => {
    await assert.rejects(ReferenceIndex.open(folder), /has no train\.jsonl/);
  });
});
