// A PEFT LoRA adapter (adapter_model.safetensors + adapter_config.json) as a GGUF LoRA adapter that
// llama.cpp (and so node-llama-cpp and Ollama) applies over the base model's GGUF.
//
// The format, as llama.cpp's llama-adapter.cpp reads it: metadata general.type = "adapter",
// general.architecture = the base's, adapter.type = "lora", adapter.lora.alpha (f32); one pair of
// tensors per adapted weight, named after the base GGUF's tensor with `.lora_a` / `.lora_b`
// (`blk.0.attn_q.weight.lora_a`), A as PEFT stores it (r x in) and B (out x r). llama.cpp's
// converter permutes the rows of a llama q/k projection (rotary halves interleaved), so B's rows of
// q_proj / k_proj get the same permutation here, or the adapter would add to the wrong rows.
// Tensors are written as f32 (an adapter is small; f16/bf16 inputs are widened exactly).
import { closeSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { writeFileAtomic } from "../files.js";
import { readPeftAdapter, readSafetensorsHeader } from "./peft-adapter.js";
import { ConfigError, DataError } from "../errors.js";

export interface GgufLoraOptions {
  /** The PEFT adapter folder. */
  adapterDir: string;
  /** The .gguf file to write (staged beside it, renamed when complete: files.ts). */
  out: string;
  /** The base GGUF's general.architecture (llama for SmolLM2, TinyLlama, Llama-2). */
  architecture: string;
  /** Attention heads of the base, for the q/k row permutation of llama-family models. */
  headCount: number;
  headCountKv: number;
}

export interface GgufLoraResult {
  out: string;
  tensors: number;
  rank: number;
  alpha: number;
  bytes: number;
}

/** HF module name (within a decoder layer) -> llama.cpp's tensor name. */
const LAYER_TENSORS: Record<string, string> = {
  "self_attn.q_proj": "attn_q",
  "self_attn.k_proj": "attn_k",
  "self_attn.v_proj": "attn_v",
  "self_attn.o_proj": "attn_output",
  "mlp.gate_proj": "ffn_gate",
  "mlp.up_proj": "ffn_up",
  "mlp.down_proj": "ffn_down",
};

/** The tensors of a safetensors file as f32 arrays with their shapes. */
export function readSafetensors(file: string): Map<string, { shape: number[]; data: Float32Array }> {
  const { entries, dataStart: base } = readSafetensorsHeader(file);
  const buffer = readFileSync(file);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, { dtype, shape, data_offsets: [start, end] }] of entries) {
    if (base + end > buffer.length) throw new DataError(`${file}: tensor ${name} runs past the end of the file (truncated?)`, file);
    const bytes = buffer.subarray(base + start, base + end);
    const count = shape.reduce((product, size) => product * size, 1);
    const data = new Float32Array(count);
    if (dtype === "F32") for (let index = 0; index < count; index += 1) data[index] = bytes.readFloatLE(index * 4);
    else if (dtype === "BF16") for (let index = 0; index < count; index += 1) data[index] = bf16ToFloat(bytes.readUInt16LE(index * 2));
    else if (dtype === "F16") for (let index = 0; index < count; index += 1) data[index] = f16ToFloat(bytes.readUInt16LE(index * 2));
    else throw new DataError(`${file}: tensor ${name} has dtype ${dtype}; only F32, F16 and BF16 adapters can be converted`, file);
    tensors.set(name, { shape, data });
  }
  return tensors;
}

function bf16ToFloat(bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits << 16);
  return view.getFloat32(0);
}

export function f16ToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/**
 * llama.cpp's permute for q/k weights (convert_hf_to_gguf.py LlamaModel.permute): rows grouped per
 * head as [first half, second half] become interleaved pairs. Applied to the rows of B (out x r).
 */
export function permuteRows(data: Float32Array, rows: number, columns: number, heads: number): Float32Array {
  if (rows % (heads * 2) !== 0) throw new ConfigError(`cannot permute ${rows} rows for ${heads} heads`);
  const half = rows / heads / 2;
  const out = new Float32Array(data.length);
  for (let head = 0; head < heads; head += 1) {
    for (let part = 0; part < 2; part += 1) {
      for (let index = 0; index < half; index += 1) {
        const from = head * 2 * half + part * half + index; // view (heads, 2, half): [head][part][index]
        const to = head * 2 * half + index * 2 + part; // swapaxes(1, 2): [head][index][part]
        out.set(data.subarray(from * columns, (from + 1) * columns), to * columns);
      }
    }
  }
  return out;
}

// ---- GGUF writing (version 3, little-endian) -------------------------------------------------------

const GGUF_TYPE = { UINT32: 4, FLOAT32: 6, STRING: 8 } as const;
const GGML_TYPE_F32 = 0;
const ALIGNMENT = 32;

type MetadataValue = { type: "string"; value: string } | { type: "f32"; value: number } | { type: "u32"; value: number };

class Bytes {
  private readonly chunks: Buffer[] = [];
  length = 0;
  push(buffer: Buffer): void {
    this.chunks.push(buffer);
    this.length += buffer.length;
  }
  u32(value: number): void {
    const buffer = Buffer.alloc(4);
    buffer.writeUInt32LE(value);
    this.push(buffer);
  }
  u64(value: number): void {
    const buffer = Buffer.alloc(8);
    buffer.writeBigUInt64LE(BigInt(value));
    this.push(buffer);
  }
  f32(value: number): void {
    const buffer = Buffer.alloc(4);
    buffer.writeFloatLE(value);
    this.push(buffer);
  }
  string(value: string): void {
    const encoded = Buffer.from(value, "utf8");
    this.u64(encoded.length);
    this.push(encoded);
  }
  pad(): void {
    const padding = (ALIGNMENT - (this.length % ALIGNMENT)) % ALIGNMENT;
    if (padding) this.push(Buffer.alloc(padding));
  }
  concat(): Buffer {
    return Buffer.concat(this.chunks, this.length);
  }
}

export function writeGguf(file: string, metadata: Array<[string, MetadataValue]>, tensors: Array<{ name: string; shape: number[]; data: Float32Array }>): number {
  const head = new Bytes();
  head.push(Buffer.from("GGUF", "ascii"));
  head.u32(3);
  head.u64(tensors.length);
  head.u64(metadata.length);
  for (const [key, entry] of metadata) {
    head.string(key);
    if (entry.type === "string") {
      head.u32(GGUF_TYPE.STRING);
      head.string(entry.value);
    } else if (entry.type === "f32") {
      head.u32(GGUF_TYPE.FLOAT32);
      head.f32(entry.value);
    } else {
      head.u32(GGUF_TYPE.UINT32);
      head.u32(entry.value);
    }
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const tensor of tensors) {
    head.string(tensor.name);
    head.u32(tensor.shape.length);
    for (const size of [...tensor.shape].reverse()) head.u64(size); // GGUF lists the innermost dimension first
    head.u32(GGML_TYPE_F32);
    head.u64(offset);
    offsets.push(offset);
    offset += Math.ceil((tensor.data.byteLength) / ALIGNMENT) * ALIGNMENT;
  }
  head.pad();
  const data = Buffer.alloc(offset);
  tensors.forEach((tensor, index) => Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength).copy(data, offsets[index]));
  writeFileAtomic(file, Buffer.concat([head.concat(), data]));
  return head.length + data.length;
}

// ---- PEFT -> GGUF LoRA ----------------------------------------------------------------------------

/**
 * A PEFT adapter folder's LoRA settings, checked for what a GGUF LoRA can hold: its rank and the
 * alpha llama.cpp must use (rsLoRA folded in). Throws with the fix for anything else.
 */
export function readLoraConfig(adapterDir: string): { rank: number; alpha: number; weightsFile: string } {
  const { config, configFile, weightsFile } = readPeftAdapter(adapterDir);
  if (config.peft_type && config.peft_type !== "LORA") throw new ConfigError(`${configFile}: peft_type ${config.peft_type} is not LoRA`);
  if (config.use_dora) throw new ConfigError(`${configFile}: DoRA adapters have no GGUF LoRA form`, [], { hint: "export --format merged instead" });
  if (Object.keys(config.rank_pattern ?? {}).length || Object.keys(config.alpha_pattern ?? {}).length) {
    throw new ConfigError(`${configFile}: per-module ranks or alphas (rank_pattern / alpha_pattern) cannot be expressed with one adapter.lora.alpha`, [], { hint: "export --format merged instead" });
  }
  if (config.modules_to_save?.length) throw new ConfigError(`${configFile}: modules_to_save (${config.modules_to_save.join(", ")}) are full weights, not LoRA`, [], { hint: "export --format merged instead" });
  // llama.cpp scales by alpha / r; rsLoRA scales by alpha / sqrt(r): the same scale with alpha * sqrt(r).
  return { rank: config.r, alpha: config.use_rslora ? config.lora_alpha * Math.sqrt(config.r) : config.lora_alpha, weightsFile };
}

export function convertLoraToGguf(options: GgufLoraOptions): GgufLoraResult {
  const { rank, alpha, weightsFile } = readLoraConfig(options.adapterDir);

  const source = readSafetensors(weightsFile);
  const tensors: Array<{ name: string; shape: number[]; data: Float32Array }> = [];
  const pattern = /^base_model\.model\.model\.layers\.(\d+)\.(self_attn\.[qkvo]_proj|mlp\.(?:gate|up|down)_proj)\.lora_([AB])\.weight$/;
  for (const [name, tensor] of source) {
    const match = pattern.exec(name);
    if (!match) throw new ConfigError(`${weightsFile}: no GGUF name for tensor ${name}`, [], { hint: "only LoRA on the attention and MLP projections of llama-family decoder layers converts; export --format merged instead" });
    const [, layer, module, which] = match;
    let data = tensor.data;
    if (which === "B" && options.architecture === "llama" && (module === "self_attn.q_proj" || module === "self_attn.k_proj")) {
      data = permuteRows(data, tensor.shape[0]!, tensor.shape[1]!, module === "self_attn.q_proj" ? options.headCount : options.headCountKv);
    }
    tensors.push({ name: `blk.${layer}.${LAYER_TENSORS[module!]}.weight.lora_${which!.toLowerCase()}`, shape: tensor.shape, data });
  }
  if (tensors.length === 0) throw new ConfigError(`${weightsFile} holds no LoRA tensors`);
  tensors.sort((a, b) => a.name.localeCompare(b.name, "en", { numeric: true }));
  const bytes = writeGguf(
    options.out,
    [
      ["general.type", { type: "string", value: "adapter" }],
      ["general.architecture", { type: "string", value: options.architecture }],
      ["adapter.type", { type: "string", value: "lora" }],
      ["adapter.lora.alpha", { type: "f32", value: alpha }],
    ],
    tensors,
  );
  return { out: options.out, tensors: tensors.length, rank, alpha, bytes };
}

/** general.architecture and the head counts from a GGUF file's metadata (enough of the format to read them). */
export function readGgufBaseInfo(file: string): { architecture: string; headCount: number; headCountKv: number } {
  const { values } = readGgufHeader(file);
  const architecture = values.get("general.architecture");
  if (typeof architecture !== "string") throw new DataError(`${file} has no general.architecture`, file);
  const headCount = values.get(`${architecture}.attention.head_count`);
  const headCountKv = values.get(`${architecture}.attention.head_count_kv`) ?? headCount;
  if (typeof headCount !== "number" || typeof headCountKv !== "number") throw new DataError(`${file} has no ${architecture}.attention.head_count`, file);
  return { architecture, headCount, headCountKv };
}

/** A tensor as a GGUF header lists it: dimensions innermost first, ggml type, offset within the data section. */
export interface GgufTensorInfo {
  dims: number[];
  type: number;
  offset: number;
}

/**
 * A GGUF file's header: its scalar metadata (strings and numbers; arrays are skipped), its tensors,
 * and where the data section starts (after the tensor list, at general.alignment, default 32).
 */
export function readGgufHeader(file: string): { values: Map<string, string | number>; tensors: Map<string, GgufTensorInfo>; dataStart: number } {
  const size = statSync(file).size;
  // Metadata sits at the start; vocabularies can be megabytes: read more if the header is longer.
  for (let length = Math.min(size, 16 * 1024 * 1024); ; length = Math.min(size, length * 4)) {
    const handle = openSync(file, "r");
    const buffer = Buffer.alloc(length);
    try {
      readSync(handle, buffer, 0, length, 0);
    } finally {
      closeSync(handle);
    }
    try {
      return parseGgufHeader(buffer, file);
    } catch (error) {
      if (!(error instanceof RangeError) || length >= size) throw error instanceof RangeError ? new DataError(`${file} ends inside its GGUF header (truncated?)`, file) : error;
    }
  }
}

function parseGgufHeader(buffer: Buffer, file: string): { values: Map<string, string | number>; tensors: Map<string, GgufTensorInfo>; dataStart: number } {
  if (buffer.toString("ascii", 0, 4) !== "GGUF") throw new DataError(`${file} is not a GGUF file`, file);
  let position = 8; // magic, version
  const tensorCount = Number(buffer.readBigUInt64LE(position));
  const kvCount = Number(buffer.readBigUInt64LE(position + 8));
  position += 16;
  const values = new Map<string, string | number>();
  const readString = () => {
    const size = Number(buffer.readBigUInt64LE(position));
    position += 8;
    if (position + size > buffer.length) throw new RangeError("past the buffer");
    const value = buffer.toString("utf8", position, position + size);
    position += size;
    return value;
  };
  const scalarSizes: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
  const readValue = (type: number): string | number | undefined => {
    if (type === 8) return readString();
    if (type === 9) {
      const itemType = buffer.readUInt32LE(position);
      const count = Number(buffer.readBigUInt64LE(position + 4));
      position += 12;
      for (let index = 0; index < count; index += 1) readValue(itemType);
      return undefined;
    }
    const size = scalarSizes[type];
    if (size === undefined) throw new DataError(`${file}: unknown GGUF value type ${type}`, file);
    const value = type === 4 ? buffer.readUInt32LE(position) : type === 5 ? buffer.readInt32LE(position) : type === 6 ? buffer.readFloatLE(position) : type === 10 ? Number(buffer.readBigUInt64LE(position)) : undefined;
    position += size;
    return value;
  };
  for (let index = 0; index < kvCount; index += 1) {
    const key = readString();
    const type = buffer.readUInt32LE(position);
    position += 4;
    const value = readValue(type);
    if (value !== undefined) values.set(key, value);
  }
  const tensors = new Map<string, GgufTensorInfo>();
  for (let index = 0; index < tensorCount; index += 1) {
    const name = readString();
    const count = buffer.readUInt32LE(position);
    position += 4;
    const dims: number[] = [];
    for (let dim = 0; dim < count; dim += 1, position += 8) dims.push(Number(buffer.readBigUInt64LE(position)));
    const type = buffer.readUInt32LE(position);
    const offset = Number(buffer.readBigUInt64LE(position + 4));
    position += 12;
    tensors.set(name, { dims, type, offset });
  }
  const alignment = Number(values.get("general.alignment") ?? ALIGNMENT);
  return { values, tensors, dataStart: Math.ceil(position / alignment) * alignment };
}
