// The vLLM lint on adapter folders written here: one that vLLM serves as it is gets its command; each
// thing vLLM refuses or would apply differently is named with its field and fix.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { readSafetensorsHeader } from "./peft-adapter.js";
import { lintAdapterForVllm } from "./vllm-lint.js";

const PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

/** A PEFT adapter folder: adapter_config.json and a safetensors file whose header names `tensors` (no data needed). */
function adapter(config: Record<string, unknown>, options: { tensors?: string[]; files?: string[]; hub?: string } = {}): string {
  const folder = mkdtempSync(join(tmpdir(), "reviewtune-vllm-"));
  writeFileSync(join(folder, "adapter_config.json"), JSON.stringify({ peft_type: "LORA", r: 16, lora_alpha: 32, target_modules: PROJECTIONS, bias: "none", use_dora: false, modules_to_save: null, base_model_name_or_path: "/somewhere/local", ...config }));
  const tensors = options.tensors ?? ["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"];
  const header = Buffer.from(JSON.stringify(Object.fromEntries(tensors.map((name) => [name, { dtype: "F32", shape: [0], data_offsets: [0, 0] }]))));
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(header.length));
  writeFileSync(join(folder, "adapter_model.safetensors"), Buffer.concat([size, header]));
  for (const file of options.files ?? []) writeFileSync(join(folder, file), "{}");
  if (options.hub) writeFileSync(join(folder, "reviewtune_base.json"), JSON.stringify({ hub_id: options.hub, local_path: "/cache/model" }));
  return folder;
}

describe("vLLM lint", () => {
  it("an adapter vLLM serves as it is: compatible, with the smallest --max-lora-rank that holds its rank and the base's hub id", () => {
    const folder = adapter({}, { hub: "HuggingFaceTB/SmolLM2-135M-Instruct" });
    const lint = lintAdapterForVllm(folder, { name: "reviews" });
    assert.deepEqual(lint.problems, []);
    assert.equal(lint.compatible, true);
    assert.equal(lint.command, `vllm serve HuggingFaceTB/SmolLM2-135M-Instruct --enable-lora --lora-modules reviews=${folder} --max-lora-rank 16 --max-loras 1`);
    assert.equal(lintAdapterForVllm(adapter({ r: 24 }), { name: "x" }).max_lora_rank, 32);
    assert.equal(lintAdapterForVllm(adapter({ r: 4 }), { name: "x" }).max_lora_rank, 8);
    // Without the engine's record of the base, the adapter's own base_model_name_or_path.
    assert.match(lintAdapterForVllm(adapter({}), { name: "x" }).command, /^vllm serve \/somewhere\/local /);
  });

  const cases: Array<[string, Parameters<typeof adapter>[0], Parameters<typeof adapter>[1], string, RegExp]> = [
    ["modules_to_save", { modules_to_save: ["lm_head"] }, {}, "modules_to_save", /modules_to_save being None/],
    ["DoRA", { use_dora: true }, {}, "use_dora", /DoRA/],
    ["a LoRA bias", { bias: "lora_only" }, {}, "bias", /bias "lora_only"/],
    ["a rank above 512", { r: 1024 }, {}, "r", /rank 1024 is above the largest --max-lora-rank vLLM accepts \(512\)/],
    ["per-module ranks", { rank_pattern: { q_proj: 8 } }, {}, "rank_pattern", /one r and one lora_alpha/],
    ["a module vLLM does not map", { target_modules: ["q_proj", "embed_tokens"] }, {}, "target_modules", /not to embed_tokens/],
    ["a target_modules pattern", { target_modules: ".*proj" }, {}, "target_modules", /pattern/],
    ["added tokens", {}, { files: ["added_tokens.json"] }, "tokens", /added_tokens\.json/],
    ["new embeddings in the weights", {}, { tensors: ["base_model.model.lm_head.weight"] }, "tokens", /lm_head/],
    ["another PEFT method", { peft_type: "IA3" }, {}, "peft_type", /IA3/],
  ];
  for (const [what, config, options, field, message] of cases) {
    it(`refuses ${what}, naming the field, why and the fix`, () => {
      const lint = lintAdapterForVllm(adapter(config, options), { name: "x" });
      assert.equal(lint.compatible, false);
      const found = lint.problems.find((problem) => problem.field === field);
      assert.ok(found, `${field} not in ${JSON.stringify(lint.problems)}`);
      assert.match(found.message, message);
      assert.ok(found.fix.length > 0);
    });
  }

  it("reads a safetensors header without the weights, and refuses a file that is not one", () => {
    const folder = adapter({}, { tensors: ["a", "b"] });
    assert.deepEqual([...readSafetensorsHeader(join(folder, "adapter_model.safetensors")).entries.keys()], ["a", "b"]);
    const broken = join(folder, "broken.safetensors");
    writeFileSync(broken, "abc");
    assert.throws(() => readSafetensorsHeader(broken), /not a safetensors file/);
  });
});
