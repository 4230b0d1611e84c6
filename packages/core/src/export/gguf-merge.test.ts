import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { f16ToFloat, readGgufHeader, writeGguf } from "./gguf-lora.js";
import { decodeTensor, encodeTensor, floatToF16, mergeGgufLora } from "./gguf-merge.js";

const GGML_Q8_0 = 8;

/** Deterministic values in [-1, 1). */
function values(count: number, seed: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length: count }, () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 30 - 1;
  });
}

describe("gguf-merge", () => {
  it("writes f16 as IEEE half precision, rounding to nearest even", () => {
    assert.equal(floatToF16(1), 0x3c00);
    assert.equal(floatToF16(-2), 0xc000);
    assert.equal(floatToF16(65504), 0x7bff);
    assert.equal(floatToF16(1e6), 0x7c00, "past the largest half: infinity");
    assert.equal(floatToF16(2 ** -24), 0x0001, "the smallest subnormal");
    assert.equal(floatToF16(1 + 2 ** -11), 0x3c00, "a tie rounds to the even mantissa");
    assert.equal(floatToF16(1 + 3 * 2 ** -11), 0x3c02);
    for (const value of values(1000, 7)) {
      const back = f16ToFloat(floatToF16(value * 100));
      assert.ok(Math.abs(back - value * 100) <= Math.abs(value * 100) * 2 ** -11 + 2 ** -24, `${value * 100} -> ${back}`);
    }
  });

  it("quantizes Q8_0 as ggml does: blocks of 32, scale max/127 in f16, rounded values", () => {
    const data = values(64, 3);
    data[5] = -1.5; // the first block's largest magnitude
    const bytes = encodeTensor(data, GGML_Q8_0);
    assert.equal(bytes.length, 2 * 34);
    assert.equal(bytes.readUInt16LE(0), floatToF16(1.5 / 127));
    assert.equal(bytes.readInt8(2 + 5), -127);
    const back = decodeTensor(bytes, GGML_Q8_0, 64);
    for (let index = 0; index < 64; index += 1) {
      const scale = f16ToFloat(bytes.readUInt16LE(index < 32 ? 0 : 34));
      // Half a step, plus what storing the scale in f16 moves the largest value (127 steps) by.
      assert.ok(Math.abs(back[index]! - data[index]!) <= scale * (0.5 + 127 * 2 ** -11), `${index}: ${data[index]} -> ${back[index]}`);
    }
    assert.deepEqual(encodeTensor(back, GGML_Q8_0), bytes, "quantizing the dequantized values gives the same bytes");
  });

  it("folds (alpha / r) B A into the adapted weights and leaves every other byte of the base as it was", () => {
    const work = mkdtempSync(join(tmpdir(), "gguf-merge-"));
    try {
      const [inputs, outputs, rank, alpha] = [64, 48, 4, 8];
      const weight = values(inputs * outputs, 1);
      const other = values(inputs * 16, 2);
      const base = join(work, "base.gguf");
      writeGguf(base, [["general.architecture", { type: "string", value: "llama" }]], [
        { name: "blk.0.attn_q.weight", shape: [outputs, inputs], data: weight },
        { name: "blk.0.attn_k.weight", shape: [16, inputs], data: other },
      ]);
      const a = values(rank * inputs, 4);
      const b = values(outputs * rank, 5);
      const lora = join(work, "lora.gguf");
      writeGguf(
        lora,
        [
          ["general.type", { type: "string", value: "adapter" }],
          ["general.architecture", { type: "string", value: "llama" }],
          ["adapter.type", { type: "string", value: "lora" }],
          ["adapter.lora.alpha", { type: "f32", value: alpha }],
        ],
        [
          { name: "blk.0.attn_q.weight.lora_a", shape: [rank, inputs], data: a },
          { name: "blk.0.attn_q.weight.lora_b", shape: [outputs, rank], data: b },
        ],
      );
      const out = join(work, "merged.gguf");
      assert.deepEqual(mergeGgufLora({ base, lora, out }), { out, merged: 1, rank, alpha });

      const header = readGgufHeader(out);
      const bytes = readFileSync(out);
      const read = (name: string, count: number) => decodeTensor(bytes.subarray(header.dataStart + header.tensors.get(name)!.offset, header.dataStart + header.tensors.get(name)!.offset + 4 * count), 0, count);
      const merged = read("blk.0.attn_q.weight", inputs * outputs);
      for (let row = 0; row < outputs; row += 1) {
        for (let column = 0; column < inputs; column += 1) {
          let delta = 0;
          for (let k = 0; k < rank; k += 1) delta += b[row * rank + k]! * a[k * inputs + column]!;
          const expected = weight[row * inputs + column]! + (alpha / rank) * delta;
          assert.ok(Math.abs(merged[row * inputs + column]! - expected) < 1e-5, `[${row}, ${column}]`);
        }
      }
      assert.deepEqual(read("blk.0.attn_k.weight", inputs * 16), other);
      const source = readFileSync(base);
      const start = header.dataStart + header.tensors.get("blk.0.attn_q.weight")!.offset;
      assert.equal(bytes.length, source.length);
      assert.deepEqual(bytes.subarray(0, start), source.subarray(0, start), "header and metadata unchanged");
      assert.throws(() => mergeGgufLora({ base: lora, lora: base, out: join(work, "wrong.gguf") }), /not a GGUF LoRA adapter/);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
