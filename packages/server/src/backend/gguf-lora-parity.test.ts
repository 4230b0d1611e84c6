// The GGUF LoRA converter against the real runtimes: a LoRA adapter over the embedded SmolLM2
// (random B on all seven projections, q/k included, so the row permutation matters) answers the same
// through PEFT on the engine (the dequantized GGUF weights, fp32) and through llama.cpp
// (node-llama-cpp: the same GGUF + our converted adapter): the same top-5 next tokens with close
// probabilities, and the same greedy text. A converter without the q/k permutation fails this.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { convertLoraToGguf, permuteRows, readGgufBaseInfo, requireEngineEnvironment } from "@reviewtune/core";
import { LlamaLogLevel, getLlama, type Llama, type LlamaModel } from "node-llama-cpp";
import { makeSmolAdapters } from "../testing/tiny-models.js";

const PROMPT = '<|im_start|>user\nBased on this review, is this product worth buying?\n\nReview: "Stopped working after a week. Waste of money."<|im_end|>\n<|im_start|>assistant\n';
const GREEDY_TOKENS = 8;

interface Reference {
  base_top5: Array<[number, number]>;
  tuned_top5: Array<[number, number]>;
  tuned_greedy: number[];
  /** PEFT's top-1 minus top-2 probability at each greedy step. */
  tuned_margins: number[];
}

/** Greedy steps before PEFT's first near-tie (top-2 within 0.05): at a tie either runtime may take either token. */
const decisiveSteps = (margins: number[]) => {
  const tie = margins.findIndex((margin) => margin < 0.05);
  return tie === -1 ? margins.length : tie;
};

let fixtures: ReturnType<typeof makeSmolAdapters>;
let reference: Reference;
let llama: Llama;
let model: LlamaModel;

/** PEFT's answer, computed by the engine's Python with the engine's own model loading. */
function peftReference(adapterDir: string): Reference {
  const { python, engineSource } = requireEngineEnvironment();
  const code = `
import json, sys, torch
from peft import PeftModel
from reviewtune_engine.models import load_model, load_tokenizer, resolve
resolved = resolve("smollm2-135m-instruct")
tokenizer = load_tokenizer(resolved)
model = load_model(resolved).eval()
encoded = tokenizer(sys.argv[2], return_tensors="pt", add_special_tokens=False)
def top5(m):
    with torch.inference_mode():
        probabilities = m(**encoded).logits[0, -1].softmax(-1)
    values, ids = probabilities.topk(5)
    return [[int(i), float(v)] for i, v in zip(ids, values)]
base = top5(model)
tuned_model = PeftModel.from_pretrained(model, sys.argv[1]).eval()
tuned = top5(tuned_model)
with torch.inference_mode():
    generated = tuned_model.generate(**encoded, max_new_tokens=${GREEDY_TOKENS}, do_sample=False, output_scores=True, return_dict_in_generate=True)
margins = []
for scores in generated.scores:
    top2 = scores[0].float().softmax(-1).topk(2).values
    margins.append(float(top2[0] - top2[1]))
print(json.dumps({"base_top5": base, "tuned_top5": tuned,
    "tuned_greedy": generated.sequences[0, encoded["input_ids"].shape[1]:].tolist(), "tuned_margins": margins}))
`;
  const result = spawnSync(python, ["-c", code, adapterDir, PROMPT], { encoding: "utf8", env: { ...process.env, PYTHONPATH: engineSource } });
  if (result.status !== 0) throw new Error(`the PEFT reference failed:\n${result.stderr}`);
  return JSON.parse(result.stdout.trim().split("\n").at(-1)!) as Reference;
}

/** llama.cpp's top-5 next tokens and greedy continuation, with an optional GGUF LoRA. */
async function llamaCpp(lora?: string): Promise<{ top5: Array<[number, number]>; probability: (token: number) => number; greedy: number[] }> {
  const context = await model.createContext({ contextSize: 256, threads: 2, ...(lora ? { lora: { adapters: [{ filePath: lora, scale: 1 }] } } : {}) });
  try {
    const sequence = context.getSequence();
    const tokens = model.tokenize(PROMPT, true);
    let first = new Map<number, number>();
    const greedy: number[] = [];
    for await (const item of sequence.evaluateWithMetadata(tokens, { probabilities: true }, { temperature: 0 })) {
      if (greedy.length === 0) first = item.probabilities;
      greedy.push(item.token);
      if (greedy.length >= GREEDY_TOKENS) break;
    }
    return { top5: [...first.entries()].slice(0, 5), probability: (token) => first.get(token) ?? 0, greedy };
  } finally {
    await context.dispose();
  }
}

before(async () => {
  fixtures = makeSmolAdapters();
  reference = peftReference(fixtures.tuned);
  llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  model = await llama.loadModel({ modelPath: fixtures.gguf });
});

after(async () => {
  await model?.dispose();
  await llama?.dispose();
  rmSync(fixtures.work, { recursive: true, force: true });
});

describe("GGUF LoRA converter: parity with PEFT", () => {
  it("permutes q/k rows as llama.cpp's converter does (hand-checked on 2 heads of 4 rows)", () => {
    // rows per head [a0 a1 | b0 b1] become [a0 b0 a1 b1]: the rotary halves interleaved.
    const rows = Float32Array.from([0, 1, 2, 3, 10, 11, 12, 13]);
    assert.deepEqual([...permuteRows(rows, 8, 1, 2)], [0, 2, 1, 3, 10, 12, 11, 13]);
  });

  it("llama.cpp with the converted adapter answers as PEFT does: same top-5, close probabilities, same greedy tokens", async () => {
    const out = join(fixtures.work, "adapter.gguf");
    const converted = convertLoraToGguf({ adapterDir: fixtures.tuned, out, ...readGgufBaseInfo(fixtures.gguf) });
    assert.equal(converted.tensors, 30 * 7 * 2, "A and B for 7 projections in each of the 30 layers");
    const base = await llamaCpp();
    const tuned = await llamaCpp(out);
    const ids = (top: Array<[number, number]>) => top.map(([id]) => id);
    assert.notDeepEqual(ids(reference.tuned_top5), ids(reference.base_top5), "the adapter changes the prediction (else parity proves nothing)");
    // Every token of PEFT's top 5 has nearly the same probability under llama.cpp (it quantizes
    // activations for its matmuls, so near-ties at rank 5 may swap: probabilities are compared, not ranks).
    for (const [name, ours, theirs] of [["base", base, reference.base_top5], ["tuned", tuned, reference.tuned_top5]] as const) {
      assert.equal(ours.top5[0]![0], theirs[0]![0], `${name}: the same most likely token`);
      for (const [token, probability] of theirs) {
        assert.ok(Math.abs(ours.probability(token) - probability) < 0.03, `${name}, token ${token}: llama.cpp ${ours.probability(token).toFixed(4)} vs PEFT ${probability.toFixed(4)}`);
      }
    }
    const steps = decisiveSteps(reference.tuned_margins);
    assert.ok(steps >= 3, `PEFT's greedy path has a near-tie at token ${steps + 1}: too few tokens to compare; change the seed`);
    assert.deepEqual(tuned.greedy.slice(0, steps), reference.tuned_greedy.slice(0, steps), "the same greedy tokens up to PEFT's first near-tie");
  });

  it("without the q/k permutation the adapter would not match (the check has teeth)", async () => {
    const out = join(fixtures.work, "unpermuted.gguf");
    const info = readGgufBaseInfo(fixtures.gguf);
    // One head per projection makes the permutation a different one: the rows of B land elsewhere.
    convertLoraToGguf({ adapterDir: fixtures.tuned, out, ...info, headCount: 1, headCountKv: 1 });
    const wrong = await llamaCpp(out);
    const distance = Math.max(...reference.tuned_top5.map(([token, probability]) => Math.abs(wrong.probability(token) - probability)));
    assert.ok(distance > 0.03, `a wrongly permuted adapter still matched PEFT's top-5 probabilities (max difference ${distance})`);
  });
});
