// Grounded prompts over a real dataset folder (the demo catalogue's descriptions), with the real
// engine's all-MiniLM-L6-v2 embeddings and the LanceDB index.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { buildDemoDataset } from "../data/builder/demo-dataset.js";
import { EngineClient } from "../engine/client.js";
import { groundConversations, groundedPrompt, groundMessages, nearestNeighbours, nearestNeighboursInBulk, runGrounding } from "./grounding.js";
import { ReferenceIndex, referenceExample } from "./reference-index.js";
import { readSourceRows } from "../data/instruction-data.js";
import { groundingExclusions } from "../train/train-run.js";

let engine: EngineClient;
let folder: string;
let dataset: string;
type Row = { group: string; messages: Array<{ role: "user" | "assistant"; content: string }> };
const rows = (file: string): Row[] => readFileSync(join(dataset, file), "utf8").trim().split("\n").map((line) => JSON.parse(line) as Row);

before(async () => {
  folder = mkdtempSync(join(tmpdir(), "reviewtune-grounding-"));
  dataset = join(folder, "descriptions");
  await buildDemoDataset({ out: dataset, kind: "descriptions", products: 40, seed: 7 });
  engine = await EngineClient.start();
});

after(async () => {
  await engine?.shutdown();
  rmSync(folder, { recursive: true, force: true });
});

describe("grounded prompts", () => {
  it("put the neighbour's request and answer before the last user turn, and leave other turns alone", () => {
    const neighbour = { group: "g", task: "description", prompt: "Title: Alder Men Navy Linen Shirt", answer: "A navy linen shirt.", similarity: 0.9 };
    const prompt = groundedPrompt("Title: Alder Men Grey Linen Shirt", neighbour);
    assert.equal(prompt, "A similar request from the training data and its answer:\nTitle: Alder Men Navy Linen Shirt\nAnswer: A navy linen shirt.\n\nNow this request:\nTitle: Alder Men Grey Linen Shirt");
    const messages = [
      { role: "system", content: "Be brief." },
      { role: "user", content: "first" },
      { role: "assistant", content: "ok" },
      { role: "user", content: "Title: Alder Men Grey Linen Shirt" },
    ];
    const grounded = groundMessages(messages, neighbour);
    assert.deepEqual(grounded.slice(0, 3), messages.slice(0, 3));
    assert.equal(grounded[3]!.content, prompt);
    assert.equal(groundMessages(messages, undefined), messages);
  });

  it("find a training row's nearest example of another group, and a new prompt's nearest of all", async () => {
    const index = await ReferenceIndex.open(dataset);
    await index.update(engine);
    const train = rows("train.jsonl");
    const queries = train.map((row) => ({ messages: row.messages.slice(0, -1), group: row.group }));
    const neighbours = await nearestNeighbours(index, engine, queries);
    assert.equal(neighbours.length, train.length);
    for (const [at, neighbour] of neighbours.entries()) {
      assert.ok(neighbour, `row ${at} has a neighbour`);
      assert.notEqual(neighbour.group, train[at]!.group, "never the row's own group");
      assert.ok(neighbour.similarity > 0 && neighbour.similarity < 1, String(neighbour.similarity));
    }
    // Without a group (a test prompt, a user's question), a training prompt asked again finds itself.
    const [self] = await nearestNeighbours(index, engine, [{ messages: train[0]!.messages.slice(0, -1) }]);
    assert.equal(self!.group, train[0]!.group);
    assert.equal(self!.answer, train[0]!.messages.at(-1)!.content);

    const test = rows("test.jsonl");
    const { conversations, neighbours: found } = await groundConversations(index, engine, test.map((row) => ({ messages: row.messages.slice(0, -1) })));
    const trainAnswers = new Set(train.map((row) => row.messages.at(-1)!.content));
    for (const [at, conversation] of conversations.entries()) {
      assert.ok(trainAnswers.has(found[at]!.answer), "the context is a training answer");
      assert.equal(conversation.at(-1)!.content, groundedPrompt(test[at]!.messages[0]!.content, found[at]!));
    }
  });

  it("in bulk (the engine's matrix product), the same neighbours as one search a query", async () => {
    const index = await ReferenceIndex.open(dataset);
    await index.update(engine);
    // Training rows (their vectors read from the index) with their groups, and test prompts (embedded now).
    const queries: Array<{ messages: Row["messages"]; group?: string }> = [
      ...rows("train.jsonl").map((row) => ({ messages: row.messages.slice(0, -1), group: row.group })),
      ...rows("test.jsonl").map((row) => ({ messages: row.messages.slice(0, -1) })),
    ];
    const bulk = await nearestNeighboursInBulk(index, engine, queries);
    let ties = 0;
    const searched = await nearestNeighbours(index, async (texts) => (await engine.request("embed", { texts })).embeddings, queries);
    assert.equal(bulk.length, queries.length);
    for (const [at, neighbour] of bulk.entries()) {
      // Equal similarity (to float rounding: LanceDB's cosine against the engine's dot product); the
      // same example unless two were equally similar.
      assert.ok(Math.abs(neighbour!.similarity - searched[at]!.similarity) < 1e-4, `${at}: ${neighbour!.similarity} vs ${searched[at]!.similarity}`);
      if (neighbour!.answer !== searched[at]!.answer) ties += 1;
      if (queries[at]!.group) assert.notEqual(neighbour!.group, queries[at]!.group);
    }
    assert.ok(ties < queries.length / 4, `${ties} of ${queries.length} differ (ties)`);
  });

  it("never grounds a training row on itself, with or without a group, nor on a group held out", async () => {
    const index = await ReferenceIndex.open(dataset);
    await index.update(engine);
    const examples = index.examples();
    // Rows without a group (a user's own JSONL): skipped by their index id; others of any group may serve.
    const queries = examples.slice(0, 12).map((example) => ({ messages: [{ role: "user", content: example.prompt }], id: example.id }));
    for (const neighbours of [await nearestNeighboursInBulk(index, engine, queries), await nearestNeighbours(index, engine, queries)]) {
      neighbours.forEach((neighbour, at) => assert.notEqual(`${neighbour!.prompt}|${neighbour!.answer}`, `${examples[at]!.prompt}|${examples[at]!.answer}`, `row ${at} grounded on itself`));
    }
    // Without the id, the same prompt finds itself: the exclusion above is what kept it out.
    const [itself] = await nearestNeighboursInBulk(index, engine, [{ messages: queries[0]!.messages }]);
    assert.equal(itself!.answer, examples[0]!.answer);
    // Held-out groups (a split's validation carved from train.jsonl) lend no answers.
    const excludeGroups = new Set([itself!.group]);
    const [other] = await nearestNeighboursInBulk(index, engine, [{ messages: queries[0]!.messages }], { excludeGroups });
    assert.notEqual(other!.group, itself!.group);
    // A held-out row without a group (indexed under "") is kept out by its id, on both search paths.
    const excludeIds = new Set([examples[0]!.id]);
    for (const [found] of [await nearestNeighboursInBulk(index, engine, [{ messages: queries[0]!.messages }], { excludeIds }), await nearestNeighbours(index, engine, [{ messages: queries[0]!.messages }], { excludeIds })]) {
      assert.notEqual(`${found!.prompt}|${found!.answer}`, `${examples[0]!.prompt}|${examples[0]!.answer}`);
    }
  });

  it("a training file without groups or a validation file: the rows the split will hold out lend no answer to training prompts", async () => {
    // A user's own JSONL: the catalogue's prompts, no group, each with an answer of its own.
    const own = join(folder, "own");
    mkdirSync(own);
    const source = rows("train.jsonl").map((row, at) => ({ task: "description", messages: [row.messages[0]!, { role: "assistant", content: `answer number ${at}` }] }));
    writeFileSync(join(own, "train.jsonl"), source.map((row) => JSON.stringify(row)).join("\n") + "\n");
    const spec = { train: own, validation_fraction: 0.25, demo_reviews: 0 };
    const read = readSourceRows(spec, 3);
    const { excludeGroups, excludeIds } = groundingExclusions(spec as never, 3, read);
    assert.ok(excludeIds && excludeIds.size > 0 && excludeGroups!.size === excludeIds.size, "held-out rows, each by its index id");
    const heldAnswers = new Set(read.train.filter((row) => excludeIds.has(referenceExample(row as never, "train").id)).map((row) => (row as Row).messages.at(-1)!.content));
    const index = await ReferenceIndex.open(own);
    await index.update(engine);
    const queries = read.train.map((row) => ({ messages: (row as Row).messages.slice(0, 1), id: referenceExample(row as never, "train").id }));
    for (const options of [{ excludeGroups, excludeIds }, {}]) {
      const { neighbours } = await groundConversations(index, engine, queries, options);
      const lent = neighbours.filter((neighbour) => heldAnswers.has(neighbour!.answer)).length;
      // Without the exclusion the held-out answers are lent (the check below can fail); with it, never.
      if ("excludeIds" in options) assert.equal(lent, 0);
      else assert.ok(lent > 0, "without the exclusion some training prompt is grounded on a held-out row");
    }
  });

  it("a run trained with grounding is grounded on its training folder, and names a folder that is gone", async () => {
    const run = (train: string, grounding: "none" | "nearest") => ({ id: "r1", config: { data: { train, grounding } } });
    assert.equal(await runGrounding(run(dataset, "none"), engine), undefined);
    const ground = (await runGrounding(run(dataset, "nearest"), engine))!;
    const [conversation] = await ground([[{ role: "user", content: rows("test.jsonl")[0]!.messages[0]!.content }]]);
    assert.match(conversation!.at(-1)!.content, /^A similar request from the training data and its answer:\n/);
    await assert.rejects(runGrounding(run(join(folder, "gone"), "nearest"), engine), /run r1 was trained with grounded prompts \(data\.grounding: nearest\) on the dataset folder data\.train = .*gone, which has no train\.jsonl now/s);
  });
});
