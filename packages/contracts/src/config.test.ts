import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ALL_LINEAR_PROJECTIONS, CLASS_LABELS, DEFAULT_MODEL, TrainConfigSchema } from "./config.js";
import { formatIssues } from "./json.js";

const issues = (input: unknown) => {
  const parsed = TrainConfigSchema.safeParse(input);
  assert.equal(parsed.success, false, "expected the config to be rejected");
  return formatIssues(parsed.error!);
};

describe("TrainConfigSchema", () => {
  it("fills every default from an empty config: LoRA on all projections of the embedded model", () => {
    const config = TrainConfigSchema.parse({});
    assert.equal(config.model.source, DEFAULT_MODEL);
    assert.equal(config.method, "lora");
    assert.deepEqual(config.lora.target_modules, ALL_LINEAR_PROJECTIONS);
    assert.equal(config.training.packing, "padding_free");
    assert.equal(config.model.allow_pickle, false);
    // Skewed real reviews: class-weighted heads and sentiment-balanced analysis examples by default.
    assert.equal(config.training.class_balance, "weighted_loss");
    assert.equal(config.data.balance, "sentiment");
    assert.equal(config.data.balance_max_factor, 3);
  });

  it("names the field of a bad balance setting", () => {
    assert.match(issues({ training: { class_balance: "oversample" } })[0]!, /^training\.class_balance: /);
    assert.match(issues({ data: { balance_max_factor: 0.5 } })[0]!, /^data\.balance_max_factor: Too small/);
  });

  it("names the field of a negative learning rate", () => {
    assert.deepEqual(issues({ training: { learning_rate: -0.001 } }), ["training.learning_rate: Too small: expected number to be >0"]);
  });

  it("rejects misspelled keys instead of ignoring them", () => {
    const found = issues({ training: { learning_rte: 0.1 } });
    assert.equal(found.length, 1);
    assert.match(found[0]!, /^training: Unrecognized key: "learning_rte"/);
  });

  it("reports every problem at once", () => {
    const found = issues({ lora: { r: 0 }, training: { batch_size: 1.5 }, evaluation: { strategy: "steps" } });
    assert.ok(found.some((line) => line.startsWith("lora.r:")), found.join("\n"));
    assert.ok(found.some((line) => line.startsWith("training.batch_size:")), found.join("\n"));
  });

  it("checks settings that depend on each other", () => {
    assert.deepEqual(issues({ evaluation: { strategy: "steps" } }), ['evaluation.every_steps: is required when evaluation.strategy is "steps"']);
    assert.match(issues({ evaluation: { strategy: "no" }, early_stopping: { patience: 2 } })[0]!, /^early_stopping: needs evaluations/);
    assert.match(issues({ method: "qlora" })[0]!, /^quantization: is required for method "qlora"/);
    assert.match(issues({ method: "lora", quantization: { bits: 4 } })[0]!, /^quantization: is only used with method "qlora"/);
    assert.match(issues({ task: "classify" })[0]!, /^labels: is required for task "classify"/);
    assert.match(issues({ labels: "rating" })[0]!, /^labels: is only used with task "classify"/);
  });

  it("task classify: generate stays the default; labels pick the head's classes", () => {
    assert.equal(TrainConfigSchema.parse({}).task, "generate");
    const config = TrainConfigSchema.parse({ task: "classify", labels: "sentiment", lora: { modules_to_save: ["score"] } });
    assert.equal(config.labels, "sentiment");
    assert.deepEqual(config.lora.modules_to_save, ["score"]);
    assert.deepEqual(CLASS_LABELS.sentiment, ["negative", "neutral", "positive"]);
    assert.equal(CLASS_LABELS.rating.length, 5);
  });
});
