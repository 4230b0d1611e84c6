import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { DEFAULT_MODEL } from "@reviewtune/contracts";
import { ConfigError } from "../errors.js";
import { listPresets, mergeConfig, resolveConfig } from "./presets.js";

const preset = (name: string) => resolveConfig({ preset: name }).config;

describe("presets", () => {
  it("ships one preset per reference recipe plus the demo, and every one validates", () => {
    assert.deepEqual(listPresets(), [
      "demo",
      "gemma-2b-descriptions",
      "gemma-2b-descriptions-full",
      "gpt2-sentiment-full",
      "llama2-7b-sentiment-lora",
      "llama2-7b-sentiment-qlora",
      "reviews-analysis",
      "tinyllama-qa",
      "tinyllama-reviews",
    ]);
    for (const name of listPresets()) assert.equal(preset(name).name, name);
  });

  it("demo: the embedded SmolLM2 with LoRA on every projection, on the built-in demo reviews", () => {
    const config = preset("demo");
    assert.equal(config.model.source, DEFAULT_MODEL);
    assert.equal(config.method, "lora");
    assert.equal(config.data.train, "builtin:demo");
    assert.deepEqual(config.lora.target_modules, ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]);
  });

  it("tinyllama-reviews has R1's exact settings", () => {
    const config = preset("tinyllama-reviews");
    assert.equal(config.model.source, "TinyLlama/TinyLlama-1.1B-Chat-v1.0");
    assert.deepEqual({ r: config.lora.r, alpha: config.lora.alpha }, { r: 16, alpha: 32 });
    assert.deepEqual([...config.lora.target_modules].sort(), ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]);
    const t = config.training;
    assert.deepEqual(
      [t.learning_rate, t.batch_size, t.gradient_accumulation, t.epochs, t.warmup_steps, t.max_length, t.weight_decay],
      [2e-4, 2, 4, 50, 100, 512, 0.01],
    );
    assert.equal(config.early_stopping?.patience, 10);
  });

  it("tinyllama-qa has R2's exact settings: 4-bit NF4, q/k/v/o, [INST] template", () => {
    const config = preset("tinyllama-qa");
    assert.equal(config.method, "qlora");
    assert.deepEqual(config.quantization, { bits: 4, quant_type: "nf4", compute_dtype: "float16", double_quant: false });
    assert.deepEqual(config.lora.target_modules, ["q_proj", "k_proj", "v_proj", "o_proj"]);
    assert.deepEqual({ r: config.lora.r, alpha: config.lora.alpha }, { r: 16, alpha: 32 });
    const t = config.training;
    assert.deepEqual([t.learning_rate, t.batch_size, t.gradient_accumulation, t.epochs, t.max_length], [2e-4, 1, 4, 5, 512]);
    assert.match(config.data.template ?? "", /\[INST\]/);
  });

  it("gemma-2b-descriptions and -full have R4's settings", () => {
    const demo = preset("gemma-2b-descriptions");
    assert.equal(demo.model.source, "google/gemma-2b");
    assert.deepEqual([demo.lora.r, demo.lora.alpha, demo.lora.dropout, demo.training.epochs, demo.training.batch_size], [8, 32, 0.1, 3, 2]);
    const full = preset("gemma-2b-descriptions-full");
    assert.deepEqual([full.lora.r, full.lora.alpha, full.lora.dropout], [16, 32, 0.05]);
    const t = full.training;
    assert.deepEqual([t.batch_size, t.gradient_accumulation, t.learning_rate, t.warmup_steps, t.logging_steps], [4, 4, 1e-4, 100, 100]);
    assert.equal(full.checkpoints.every_steps, 5000);
    for (const config of [demo, full]) {
      assert.deepEqual([...config.lora.target_modules].sort(), ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]);
    }
  });

  it("llama2-7b-sentiment-qlora and -lora have R3's exact settings: SEQ_CLS head, LoRA r16/alpha64/dropout 0.1, bias none, all projections", () => {
    const qlora = preset("llama2-7b-sentiment-qlora");
    const lora = preset("llama2-7b-sentiment-lora");
    for (const config of [qlora, lora]) {
      assert.equal(config.model.source, "meta-llama/Llama-2-7b-hf");
      assert.equal(config.task, "classify");
      assert.equal(config.labels, "sentiment");
      assert.equal(config.recipe, "R3");
      assert.equal(config.lora.r, 16);
      assert.equal(config.lora.alpha, 64);
      assert.equal(config.lora.dropout, 0.1);
      assert.equal(config.lora.bias, "none");
      assert.deepEqual([...config.lora.target_modules].sort(), ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]);
    }
    assert.equal(qlora.method, "qlora");
    assert.deepEqual(qlora.quantization, { bits: 4, quant_type: "nf4", compute_dtype: "float16", double_quant: false });
    assert.equal(lora.method, "lora");
    assert.equal(lora.quantization, undefined);
  });

  it("gpt2-sentiment-full: GPT-2 (124M) with every parameter trained, a sentiment head (R3 baseline)", () => {
    const config = preset("gpt2-sentiment-full");
    assert.equal(config.model.source, "openai-community/gpt2");
    assert.equal(config.method, "full");
    assert.equal(config.task, "classify");
    assert.equal(config.labels, "sentiment");
    assert.equal(config.quantization, undefined);
  });

  it("an unknown preset names the ones that exist", () => {
    assert.throws(() => resolveConfig({ preset: "tinyllama" }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /unknown preset "tinyllama"/);
      assert.match(error.hint ?? "", /tinyllama-reviews/);
      return true;
    });
  });

  it("overrides merge deeply and are validated with the preset", () => {
    const { config } = resolveConfig({ preset: "demo", overrides: { training: { epochs: 1 } } });
    assert.equal(config.training.epochs, 1);
    assert.equal(config.training.learning_rate, 1e-3);
    assert.throws(() => resolveConfig({ preset: "demo", overrides: { training: { learning_rate: -1 } } }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.ok(error.issues.some((issue) => issue.startsWith("training.learning_rate:")), error.issues.join("\n"));
      return true;
    });
    assert.deepEqual(mergeConfig({ a: { b: 1, c: [1, 2] } }, { a: { c: [3] } }), { a: { b: 1, c: [3] } });
  });

  it("a config file: bad YAML and misspelled keys name the file and the field", () => {
    const folder = mkdtempSync(join(tmpdir(), "reviewtune-presets-"));
    const broken = join(folder, "broken.yaml");
    writeFileSync(broken, "training: [unclosed\n");
    assert.throws(() => resolveConfig({ configFile: broken }), new RegExp(`${broken.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is not valid YAML`));
    const typo = join(folder, "typo.yaml");
    writeFileSync(typo, "lora:\n  rank: 8\n");
    assert.throws(() => resolveConfig({ configFile: typo }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /typo\.yaml/);
      assert.match(error.issues.join("\n"), /^lora: Unrecognized key: "rank"/);
      return true;
    });
    assert.throws(() => resolveConfig({ configFile: join(folder, "missing.yaml") }), /missing\.yaml does not exist/);
  });
});
