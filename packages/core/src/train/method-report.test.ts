import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatMethodTable, type MethodReport } from "./method-report.js";

const report = (scores: Partial<Pick<MethodReport, "accuracy" | "macro_f1" | "auc">>): MethodReport => ({
  method: "lora",
  model: "tiny",
  trainable_params: 1_000,
  total_params: 100_000,
  trainable_percent: 1,
  quantization: "none",
  lora: "r8 alpha16 dropout0.05 q_proj,v_proj",
  peak_memory_bytes: 2 ** 30,
  peak_memory_of: "cpu-rss",
  wall_seconds: 60,
  train_seconds: 55,
  steps: 10,
  eval_loss: 1.2345,
  accuracy: null,
  macro_f1: null,
  auc: null,
  ...scores,
});

describe("formatMethodTable", () => {
  it("a generative run's table has no classifier columns (they would be dashes)", () => {
    const table = formatMethodTable([{ method: "lora", report: report({}) }]);
    assert.match(table.split("\n")[0]!, /\| steps \| eval loss \|$/);
    assert.match(table.split("\n")[2]!, /\| 10 \| 1\.2345 \|$/);
  });
  it("a classifier's table has accuracy, macro F1 and AUC, dashes where one row lacks them", () => {
    const table = formatMethodTable([
      { method: "lora", report: report({ accuracy: 0.8, macro_f1: 0.75, auc: 0.9 }) },
      { method: "full", report: report({ accuracy: 0.7 }) },
      { method: "qlora", report: null, reason: "needs CUDA" },
    ]);
    const [header, , lora, full, qlora] = table.split("\n");
    assert.match(header!, /\| eval loss \| accuracy \| macro F1 \| AUC \|$/);
    assert.match(lora!, /\| 0\.8000 \| 0\.7500 \| 0\.9000 \|$/);
    assert.match(full!, /\| 0\.7000 \| - \| - \|$/);
    assert.equal(qlora!.split("|").length, header!.split("|").length, "a row that did not run has every cell");
  });
});
