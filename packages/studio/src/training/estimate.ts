// The memory and time a training run will need, estimated before it starts from the model's
// config.json, the method, the batch and the length. It is an estimate: the page shows it as one,
// and beside the measured peak memory and time once the run has finished.
//
// Parameters P (a Llama-style decoder): embeddings V·h; per layer the q/o projections h·h each, k/v
// h·(kv_heads·head_dim) each, the MLP 3·h·i, two norms; the LM head V·h unless tied.
// Trainable T: full = P; LoRA/QLoRA = Σ over targeted projections of r·(in + out), per layer.
// Memory (bytes):
//   weights     = P·4 (fp32, as training runs on CPU here), QLoRA P·0.5625 (4-bit + scales)
//   optimizer   = T·16 (the trained weights' own fp32 copy for adapters, gradients, AdamW's two moments)
//                 (full: T·12, the weights are counted above)
//   activations = b·s·L·h·133: what the forward pass keeps for the backward one, measured on
//                 SmolLM2-135M with LoRA on its seven projections in fp32 (torch's saved-tensor hooks:
//                 1.92 GiB for 899 tokens over 30 layers; Korthikanti et al.'s 34·h bytes per token and
//                 layer in 16-bit, doubled for fp32, is 68·h before LoRA's dropout copies and the rotary
//                 q/k); with activation checkpointing b·s·(L·h·4 + h·133): each layer's input, plus one
//                 layer's whole set while it is recomputed
//               + b·c·V·8: logits and their gradient at the c answer tokens of an example (the head
//                 runs only where the loss is; c = the card's answer tokens, else s)
//   runtime     = 800 MiB: the engine process itself (Python, torch, transformers, the tokenizer),
//                 measured as the peak of a 0.1 M-parameter model's run on this project's CPU machine
// Time: steps × tokens per step / tokens per second, with tokens per second measured by an earlier
// run of the same model and method when there is one, else FLOPs / (137 GFLOP/s × 0.7), the fp32
// matmul rate measured on this project's 2-core CPU: a LoRA step costs ~4·P FLOPs a token (forward
// and backward through the activations, no weight gradients), full fine-tuning ~6·P; plus ~1.5 s a
// step of fixed cost (the trainer's own work, measured with a 0.1 M-parameter model: 12 steps in 21 s).
import type { StudioTrainRequest, TrainEstimate } from "@reviewtune/contracts";
import { ALL_LINEAR_PROJECTIONS } from "@reviewtune/contracts";
import type { ModelConfig } from "../model-files.js";

export const CPU_FLOPS = 137e9;
const EFFICIENCY = 0.7;
const RUNTIME_BYTES = 800 * 2 ** 20;
const SECONDS_PER_STEP_OVERHEAD = 1.5;
/** Bytes kept for the backward pass per token, layer and unit of hidden size (fp32, LoRA on every projection): measured, see above. */
const ACTIVATION_BYTES = 133;

export interface EstimateInput {
  request: Pick<StudioTrainRequest, "method" | "batch_size" | "max_length" | "lora_r" | "epochs" | "max_steps"> & { activation_checkpointing?: boolean | undefined };
  model: ModelConfig;
  targetModules?: string[];
  gradientAccumulation: number;
  trainRows: number;
  /** Mean tokens in a training example (prompt + answer), when known; else max_length. */
  meanTokens: number | null;
  /** Mean answer tokens of an example (the positions that carry the loss), when known; else all of them. */
  meanAnswerTokens?: number | null | undefined;
  /** Tokens/s measured by a finished run of the same model and method. */
  measured?: { tokensPerSecond: number; run: string } | undefined;
}

export function projectionShapes(model: ModelConfig): Record<string, [number, number]> {
  const h = model.hidden_size;
  const headDim = model.head_dim ?? h / model.num_attention_heads;
  const kv = (model.num_key_value_heads ?? model.num_attention_heads) * headDim;
  const i = model.intermediate_size;
  return { q_proj: [h, h], k_proj: [h, kv], v_proj: [h, kv], o_proj: [h, h], gate_proj: [h, i], up_proj: [h, i], down_proj: [i, h] };
}

export function parameterCount(model: ModelConfig): number {
  const shapes = Object.values(projectionShapes(model));
  const perLayer = shapes.reduce((sum, [input, output]) => sum + input * output, 0) + 2 * model.hidden_size;
  const embeddings = model.vocab_size * model.hidden_size;
  return embeddings + model.num_hidden_layers * perLayer + model.hidden_size + (model.tie_word_embeddings === false ? embeddings : 0);
}

export function estimateTraining(input: EstimateInput): TrainEstimate {
  const { request, model } = input;
  const parameters = parameterCount(model);
  const shapes = projectionShapes(model);
  const targets = (input.targetModules ?? ALL_LINEAR_PROJECTIONS).filter((name) => name in shapes);
  const trainable =
    request.method === "full" ? parameters : model.num_hidden_layers * targets.reduce((sum, name) => sum + request.lora_r * (shapes[name]![0] + shapes[name]![1]), 0);
  const weights = parameters * (request.method === "qlora" ? 0.5625 : 4);
  const optimizer = trainable * (request.method === "full" ? 12 : 16);
  const sequence = Math.min(request.max_length, input.meanTokens ?? request.max_length);
  const answer = Math.min(sequence, input.meanAnswerTokens ?? sequence);
  const kept = request.activation_checkpointing ? model.num_hidden_layers * model.hidden_size * 4 + model.hidden_size * ACTIVATION_BYTES : model.num_hidden_layers * model.hidden_size * ACTIVATION_BYTES;
  const activations = request.batch_size * (sequence * kept + answer * model.vocab_size * 8);
  const effectiveBatch = request.batch_size * input.gradientAccumulation;
  const steps = request.max_steps ?? Math.max(1, Math.ceil(((request.epochs ?? 1) * input.trainRows) / effectiveBatch));
  const tokensPerStep = effectiveBatch * sequence;
  const flopsPerToken = (request.method === "full" ? 6 : 4) * parameters;
  const tokensPerSecond = input.measured?.tokensPerSecond ?? (CPU_FLOPS * EFFICIENCY) / flopsPerToken;
  // A measured tokens/s already includes the fixed per-step cost.
  const seconds = (steps * tokensPerStep) / tokensPerSecond + (input.measured ? 0 : steps * SECONDS_PER_STEP_OVERHEAD);
  return {
    parameters,
    trainable,
    steps,
    tokens_per_step: tokensPerStep,
    memory_bytes: { weights, optimizer, activations, runtime: RUNTIME_BYTES, total: weights + optimizer + activations + RUNTIME_BYTES },
    seconds,
    tokens_per_second: tokensPerSecond,
    basis: input.measured
      ? `tokens/s measured by run ${input.measured.run} (same model and method)`
      : `tokens/s from FLOPs: ${request.method === "full" ? 6 : 4}·P per token at 70% of 137 GFLOP/s (2-core CPU, fp32), plus ${SECONDS_PER_STEP_OVERHEAD} s per step of fixed cost`,
    formula:
      "memory = weights (P·4 bytes; QLoRA P·0.56) + optimizer (trainable·16; full ·12) + activations (batch·(tokens·layers·hidden·133, or with activation checkpointing tokens·(layers·hidden·4 + hidden·133), + answer tokens·vocab·8)) + runtime (the engine process, ~800 MiB); " +
      "time = steps · batch · accumulation · tokens per example / tokens per second (+ 1.5 s per step without a measured run)",
  };
}
