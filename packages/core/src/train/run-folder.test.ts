// The run folder's owner: the model and adapter a run answers with wherever the folder now is, and
// the one reader of metrics.jsonl (whole lines only, from a byte offset, errors with file and line).
import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { listRunIds, readRunMetrics, runModel, runPath } from "./run-folder.js";
import type { FinishedRunRecord } from "./runs.js";

const root = mkdtempSync(join(tmpdir(), "reviewtune-run-folder-"));
after(() => rmSync(root, { recursive: true, force: true }));

const record = (result: Partial<FinishedRunRecord["result"]>) =>
  ({ id: "r", status: "completed", config: { model: { source: "smollm2-135m-instruct", allow_pickle: false } }, result }) as unknown as FinishedRunRecord;

describe("runModel", () => {
  it("answers with the adapter where the run folder is now, the tuned model folder, or the base", () => {
    const directory = join(root, "moved-run");
    mkdirSync(runPath(directory, "adapter"), { recursive: true });
    // Trained elsewhere: run.json keeps the path the adapter had then.
    const run = record({ adapter_dir: "/machine/that/trained/it/runs/r/adapter", model_dir: null });
    assert.deepEqual(runModel(run, directory), { model: { source: "smollm2-135m-instruct", allow_pickle: false }, adapter: join(directory, "adapter") });
    assert.deepEqual(runModel(run, directory, { base: true }), { model: { source: "smollm2-135m-instruct", allow_pickle: false } });
    // Not moved (no adapter/ beside a copied run.json): the recorded absolute path stays.
    assert.equal(runModel(run, join(root, "elsewhere")).adapter, "/machine/that/trained/it/runs/r/adapter");
    const full = record({ adapter_dir: null, model_dir: "/runs/r/model" });
    assert.deepEqual(runModel(full, directory), { model: { source: "/runs/r/model", allow_pickle: false } });
    assert.equal(runModel(full, directory, { base: true }).model.source, "smollm2-135m-instruct");
  });
});

describe("readRunMetrics", () => {
  it("reads whole lines from a byte offset and leaves a line still being written", () => {
    const directory = join(root, "metrics-run");
    mkdirSync(directory);
    const file = runPath(directory, "metrics");
    assert.deepEqual(readRunMetrics(directory), { lines: [], next: 0 });
    writeFileSync(file, '{"kind":"train","step":1,"loss":2.5}\n{"kind":"eval","step":1,"eval_loss":2.1}\n{"kind":"train","st');
    const first = readRunMetrics(directory);
    assert.deepEqual(first.lines.map((line) => [line.kind, line.step]), [["train", 1], ["eval", 1]]);
    assert.equal(first.next, Buffer.byteLength('{"kind":"train","step":1,"loss":2.5}\n{"kind":"eval","step":1,"eval_loss":2.1}\n'));
    appendFileSync(file, 'ep":2,"loss":1.9}\n');
    const second = readRunMetrics(directory, first.next);
    assert.deepEqual(second.lines, [{ kind: "train", step: 2, loss: 1.9 }]);
    assert.deepEqual(readRunMetrics(directory, second.next), { lines: [], next: second.next });
    // A resume trims the lines past its checkpoint: a file shorter than the offset is read again from its start.
    writeFileSync(file, '{"kind":"train","step":1,"loss":2.5}\n');
    assert.deepEqual(readRunMetrics(directory, second.next).lines, [{ kind: "train", step: 1, loss: 2.5 }]);
    writeFileSync(file, '{"kind":"train","step":1,"loss":2.5}\n{"kind":"train"}\n');
    assert.throws(() => readRunMetrics(directory), (error: Error) => error.message.includes(file) && error.message.includes("line 2") && /step/.test(error.message));
  });
});

describe("listRunIds", () => {
  it("lists the folders with a run.json, newest first", () => {
    const runs = join(root, "runs");
    for (const id of ["20261201-010000-a", "20261201-020000-b", ".20261201-030000-hidden", "not-a-run"]) {
      mkdirSync(join(runs, id), { recursive: true });
      if (id !== "not-a-run") writeFileSync(runPath(join(runs, id), "record"), "{}");
    }
    assert.deepEqual(listRunIds(runs), ["20261201-020000-b", "20261201-010000-a"]);
    assert.deepEqual(listRunIds(join(root, "no-such-folder")), []);
  });
});
