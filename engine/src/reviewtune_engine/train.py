"""One training job, in stages (train() at the end): prepare the run folder, data, model, plan (with a
time budget), fit, save. TrainJob is the typed view of the request the stages read.

The Node side hands over a resolved config and JSONL files of {prompt, completion} rows whose chat
template is already applied. We tokenize, mask the prompt out of the loss, and train with
transformers' Trainer and TRL's padding-free collator (examples of a batch are concatenated and
separated by position_ids, so no padding is ever computed). Checkpoints are marked complete only
once fully written; metrics.jsonl is appended as training goes.

With task "classify" the rows are {text, label}, the model gets a classification head (see
classification.py), batches are padded, every evaluation adds accuracy, macro F1 and AUC, and with
training.class_balance "weighted_loss" (the default) the loss weighs classes by inverse frequency.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import resource
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from transformers import EarlyStoppingCallback, Trainer, TrainerCallback, TrainingArguments, set_seed
from transformers.trainer_utils import rotate_checkpoints

from reviewtune_engine import classification, distributed, fast_dropout, files, lm_loss, models, packed_attention
from reviewtune_engine.cpu_share import CpuReader, SharedCpuCallback
from reviewtune_engine.distributed import SINGLE, World
from reviewtune_engine.errors import EngineError

log = logging.getLogger("reviewtune.engine.train")
COMPLETE_MARKER = "reviewtune-complete.json"


# ---- setup ------------------------------------------------------------------------------------


def read_rows(path: str, label: str) -> list[dict]:
    """{prompt, completion} rows. Names the file and line of a bad row."""

    def row(value):
        if not isinstance(value, dict) or not isinstance(value.get("prompt"), str) or not isinstance(value.get("completion"), str):
            return "needs string fields prompt and completion"
        return value

    return files.read_jsonl(path, label, row)


def tokenize_rows(rows: list[dict], tokenizer, max_length: int) -> tuple[list[dict], int]:
    """Returns (examples with input_ids and labels, number dropped because nothing of the completion fit)."""
    examples, dropped = [], 0
    for row in rows:
        prompt_ids = tokenizer(row["prompt"], add_special_tokens=False)["input_ids"]
        full_ids = tokenizer(row["prompt"] + row["completion"], add_special_tokens=False)["input_ids"]
        if full_ids[: len(prompt_ids)] != prompt_ids:  # a merge across the boundary: keep the prompt's own ids
            full_ids = prompt_ids + tokenizer(row["completion"], add_special_tokens=False)["input_ids"]
        full_ids = full_ids[:max_length]
        labels = [-100] * min(len(prompt_ids), len(full_ids)) + full_ids[len(prompt_ids) :]
        if all(label == -100 for label in labels):
            dropped += 1
            continue
        examples.append({"input_ids": full_ids, "labels": labels})
    return examples, dropped


def build_model(config: dict, resolved: models.ResolvedModel, tokenizer, label_names: list[str] | None = None):
    """The model to train: the base (with a classification head when label_names are given), wrapped
    in LoRA unless the method is full; QLoRA loads the base in 4-bit first."""
    method = config["method"]
    quantization_config = None
    if method == "qlora":
        if not torch.cuda.is_available():
            raise EngineError(
                "qlora_needs_cuda",
                "QLoRA (4-bit NF4 through bitsandbytes) needs a CUDA GPU, and none is visible",
                hint='use method: lora (same adapter, full-precision base) on this machine',
                field="method",
            )
        try:
            from transformers import BitsAndBytesConfig
            import bitsandbytes  # noqa: F401
        except ImportError as error:
            raise EngineError("missing_package", "QLoRA needs the bitsandbytes package", hint="pip install bitsandbytes into the engine environment") from error
        quant = config["quantization"]
        quantization_config = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type=quant.get("quant_type", "nf4"),
            bnb_4bit_compute_dtype=getattr(torch, quant.get("compute_dtype", "float16")),
            bnb_4bit_use_double_quant=quant.get("double_quant", False),
            # FSDP shards float tensors only: the 4-bit weights are then stored in the compute dtype's
            # bytes (bitsandbytes' FSDP-QLoRA), so that they shard with the rest.
            **({"bnb_4bit_quant_storage": getattr(torch, quant.get("compute_dtype", "float16"))} if (config.get("distributed") or {}).get("strategy") == "fsdp" else {}),
        )
    model = models.load_model(
        resolved,
        allow_pickle=config["model"].get("allow_pickle", False),
        quantization_config=quantization_config,
        head=label_names,
        pad_token_id=tokenizer.pad_token_id,
    )
    model.config.use_cache = False
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    if method == "full":
        return model
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    if method == "qlora":
        model = prepare_model_for_kbit_training(model)
    lora = config["lora"]
    lora_config = LoraConfig(
        # SEQ_CLS makes PEFT train the head (score/classifier) in full and save it with the adapter.
        task_type="SEQ_CLS" if label_names else "CAUSAL_LM",
        r=lora["r"],
        lora_alpha=lora["alpha"],
        lora_dropout=lora["dropout"],
        target_modules=lora["target_modules"],
        bias=lora.get("bias", "none"),
        modules_to_save=lora.get("modules_to_save"),
    )
    try:
        peft_model = get_peft_model(model, lora_config)
    except ValueError as error:
        raise EngineError(
            "bad_config",
            f"lora.target_modules: {str(error).splitlines()[0]}",
            hint="name modules the model has (for Llama-family: q_proj k_proj v_proj o_proj gate_proj up_proj down_proj)",
            field="lora.target_modules",
        ) from error
    # The CPU's dropout mask is a seventh of a LoRA step: fast_dropout draws it for half the cost.
    fast_dropout.use_fast_lora_dropout(peft_model)
    return peft_model


# ---- trainer plumbing -------------------------------------------------------------------------


class _CountingCollator:
    """Wraps the collator to count the real (non-padding) tokens that go through training; batches
    collated for evaluation are not counted (see _AtomicCheckpointTrainer.evaluate)."""

    def __init__(self, inner):
        self.inner = inner
        self.tokens = 0
        self.counting = True

    def __call__(self, examples):
        if self.counting:
            self.tokens += sum(len(example["input_ids"]) for example in examples)
        return self.inner(examples)


class _AtomicCheckpointTrainer(Trainer):
    """A checkpoint counts only once its marker is written, after every file of it is on disk; old ones
    are rotated out only after that, so a kill at any moment leaves a complete checkpoint to resume."""

    eval_seconds = 0.0  # time spent evaluating, left out of the throughput figures
    evaluations = 0
    schedule: "_Schedule | None" = None  # a time-budget run's learning-rate schedule (see _TimeBudgetCallback)
    world: World = SINGLE
    # checkpoints.keep. Not the Trainer's save_total_limit: with a limit of 1 it deletes every
    # checkpoint but the best when training ends, the one saved at a Ctrl-C included, which --resume
    # needs; our rotation after each save keeps the newest and the best.
    keep: int | None = None

    def evaluate(self, *args, **kwargs):
        collator = self.data_collator
        started = time.perf_counter()
        collator.counting = False
        try:
            return super().evaluate(*args, **kwargs)
        finally:
            collator.counting = True
            self.eval_seconds += time.perf_counter() - started
            self.evaluations += 1

    def create_scheduler(self, num_training_steps: int, optimizer=None):
        if self.schedule is None or self.lr_scheduler is not None:
            return super().create_scheduler(num_training_steps, optimizer)
        schedule = self.schedule
        # A plain function (not the bound method): LambdaLR's state then holds only its step count.
        self.lr_scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer or self.optimizer, lambda step: schedule.factor(step))
        self._created_lr_scheduler = True
        return self.lr_scheduler

    def _load_optimizer_and_scheduler(self, checkpoint):
        # Under DDP the Trainer loads the optimizer's state onto args.device, which accelerate names
        # "cpu:0" on a CPU rank, a location torch.load cannot map to (resume failed on every rank).
        # The states are CPU tensors there anyway: load them as the Trainer does on one process.
        optimizer_file = Path(checkpoint or "") / "optimizer.pt"
        if checkpoint is None or self.args.world_size <= 1 or self.args.device.type != "cpu" or self.is_fsdp_enabled or self.is_deepspeed_enabled or not optimizer_file.is_file():
            return super()._load_optimizer_and_scheduler(checkpoint)
        self.optimizer.load_state_dict(torch.load(optimizer_file, map_location="cpu", weights_only=True))
        self.lr_scheduler.load_state_dict(torch.load(Path(checkpoint) / "scheduler.pt", weights_only=True))

    def _save_checkpoint(self, model, trial):
        super()._save_checkpoint(model, trial)  # args.save_total_limit is None: nothing rotated before the marker
        self.world.barrier()  # every rank's part (its RNG state) is on disk before the checkpoint counts
        if not self.args.should_save:  # process 0, or each node's first with several nodes (save_on_each_node)
            return
        folder = Path(self.args.output_dir) / f"checkpoint-{self.state.global_step}"
        files.write_json_atomic(folder / COMPLETE_MARKER, {"step": self.state.global_step, "time": time.time()})
        rotate_checkpoints(
            output_dir=self.args.output_dir,
            save_total_limit=self.keep,
            best_model_checkpoint=self.state.best_model_checkpoint,
            use_mtime=False,
        )


class _EvaluationCancelled(Exception):
    """Raised between evaluation batches on cancel: the Trainer's evaluation loop has no stop flag,
    and a whole evaluation can take longer than the training (Ctrl-C once did nothing for 45 s)."""


class _ProtocolCallback(TrainerCallback):
    """Streams progress to the client, appends metrics.jsonl, saves every N steps, honours cancel."""

    def __init__(self, emit, is_cancelled, metrics_path: Path, counter: _CountingCollator, every_steps: int | None, recorder=None, world: World = SINGLE):
        self.emit, self.is_cancelled, self.metrics_path, self.counter, self.every_steps = emit, is_cancelled, metrics_path, counter, every_steps
        self.world = world
        self.tokens = 0  # tokens trained on by every rank, as of the last step's end
        self.recorder: classification.MetricsRecorder | None = recorder  # task "classify": figures of each evaluation
        self.started = time.perf_counter()
        self.trainer = None  # set once the trainer exists, for its evaluation time
        self.schedule = None  # a time-budget run's schedule (see _TimeBudgetCallback): where the run now ends
        self.ended: float | None = None
        self.first_step: int | None = None
        self.tokens_at_start = 0
        self.last_loss: float | None = None
        self.last_lr: float | None = None
        self.cancelled = False
        self.final = False  # set for the evaluation after training, logged as "final_eval"
        self.last_eval: tuple[int, float] | None = None  # (step, eval loss) of this session's last evaluation

    def _append(self, record: dict) -> None:
        if not self.world.writer:
            return
        with open(self.metrics_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    def training_seconds(self) -> float:
        """Wall time of the training loop so far, evaluations left out."""
        elapsed = (self.ended or time.perf_counter()) - self.started
        return max(elapsed - (self.trainer.eval_seconds if self.trainer else 0.0), 0.0)

    def tokens_per_second(self) -> float:
        elapsed = self.training_seconds()
        return (self.tokens - self.tokens_at_start) / elapsed if elapsed > 0 else 0.0

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.perf_counter()
        self.ended = None
        self.first_step = state.global_step
        self.tokens = self.tokens_at_start = int(self.world.sum([self.counter.tokens])[0])
        if self.trainer:
            self.trainer.eval_seconds = 0.0

    def on_train_end(self, args, state, control, **kwargs):
        self.ended = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        if self.every_steps and state.global_step % self.every_steps == 0:
            control.should_save = True
        # One collective a step: the tokens of every rank, and whether any was cancelled (all stop on the same step).
        tokens, cancelled = self.world.sum([self.counter.tokens, 1.0 if self.is_cancelled() else 0.0])
        self.tokens = int(tokens)
        if cancelled:
            self.cancelled = True
            control.should_training_stop = True
            control.should_save = True  # so that --resume continues from here
            # Not an evaluation first, even when one is due at this step: the cancel would stop it
            # between batches, and the step's checkpoint was never written (resume went back to the last).
            control.should_evaluate = False
        if not control.should_log:  # when a log is due, on_log reports progress with this step's loss
            self.emit_progress(state)

    def on_prediction_step(self, args, state, control, **kwargs):
        if self.world.any(self.is_cancelled()):
            self.cancelled = True
            raise _EvaluationCancelled()

    def emit_progress(self, state) -> None:
        elapsed = time.perf_counter() - self.started
        done = state.global_step - (self.first_step or 0)
        # A time-budget run whose schedule was re-planned ends where the schedule does.
        max_steps = min(state.max_steps, self.schedule.total) if self.schedule is not None else state.max_steps
        eta = (max_steps - state.global_step) * elapsed / done if done > 0 else None
        self.emit(
            {
                "kind": "progress",
                "step": state.global_step,
                "max_steps": max_steps,
                "epoch": round(state.epoch or 0.0, 4),
                "loss": self.last_loss,
                "learning_rate": self.last_lr,
                "tokens_per_second": round(self.tokens_per_second(), 2),
                "elapsed_seconds": round(elapsed, 2),
                "eta_seconds": round(eta, 1) if eta is not None else None,
            }
        )

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        if "loss" in logs:
            self.last_loss, self.last_lr = float(logs["loss"]), float(logs.get("learning_rate", 0.0))
            self._append(
                {
                    "kind": "train",
                    "step": state.global_step,
                    "epoch": round(state.epoch or 0.0, 4),
                    "loss": self.last_loss,
                    "learning_rate": self.last_lr,
                    "grad_norm": float(logs["grad_norm"]) if logs.get("grad_norm") is not None else None,
                    "tokens_per_second": round(self.tokens_per_second(), 2),
                    "time": time.time(),
                }
            )
            self.emit_progress(state)
        if "eval_loss" in logs:
            record = {"kind": "final_eval" if self.final else "eval", "step": state.global_step, "epoch": round(state.epoch or 0.0, 4), "eval_loss": float(logs["eval_loss"])}
            details = {}
            if self.recorder is not None and self.recorder.last is not None:
                figures = self.recorder.last
                record.update(accuracy=figures["accuracy"], macro_f1=figures["macro_f1"], auc=figures["auc"])
                details = {"per_class": figures["per_class"], "confusion_matrix": figures["confusion_matrix"], "labels": figures["labels"]}
            self._append({**record, **details, "time": time.time()})
            if not self.final:
                self.last_eval = (state.global_step, float(logs["eval_loss"]))
                self.emit(record)

    def on_save(self, args, state, control, **kwargs):
        self.emit({"kind": "checkpoint", "step": state.global_step, "path": str(Path(args.output_dir) / f"checkpoint-{state.global_step}")})


class _Schedule:
    """The learning-rate factor of a time-budget run (the Trainer's linear, cosine and constant
    schedules, with warm-up) over a number of steps, `total`, that _TimeBudgetCallback may lower while
    the run goes: a schedule planned for steps that no longer fit would end the run before it decays."""

    def __init__(self, kind: str, warmup: int, total: int):
        self.kind = kind
        self.warmup = warmup
        self.total = total

    def factor(self, step: int) -> float:
        if self.kind == "constant":
            return 1.0
        if step < self.warmup:
            return step / max(1, self.warmup)
        if self.kind == "constant_with_warmup":
            return 1.0
        progress = min(1.0, (step - self.warmup) / max(1, self.total - self.warmup))
        return 0.5 * (1.0 + math.cos(math.pi * progress)) if self.kind == "cosine" else 1.0 - progress


REPLAN_AFTER_STEPS = 10  # steps timed in the run itself before the plan is fitted to their pace


class _TimeBudgetCallback(TrainerCallback):
    """Fits the run to its budget as it goes. The plan came from a few timed steps; the run's own steps
    may be slower (a busy CPU, longer batches). After each step, from the pace of the steps so far
    (evaluations left out) and what the evaluations still to come cost, the steps that fit before the
    deadline are counted; when fewer than planned, the schedule ends there instead (its learning rate
    decays to that step, which is evaluated and saved, so the run ends annealed and its last steps
    count). It never plans more than the first plan. If the deadline comes anyway, training stops
    (evaluating and saving that step when nothing was evaluated yet); the Trainer then restores the
    best checkpoint as usual."""

    def __init__(self, deadline: float, schedule: _Schedule, plan: dict, plan_file: Path, emit: Callable[[dict], None], world: World = SINGLE):
        self.deadline = deadline
        self.world = world  # on several processes, rank 0's clock decides for all
        self.emit = emit
        self.schedule = schedule
        self.plan = plan  # time-budget-plan.json: steps, eval_every, eval_seconds (and replanned_steps once re-planned)
        self.plan_file = plan_file
        self.planned = plan["steps"]
        self._announced = self.planned
        self.stopped = False
        self.trainer = None  # set once the Trainer exists: its evaluation time is left out of the pace
        self._started: tuple[float, int, float, int] | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        self._started = (time.perf_counter(), state.global_step, self._eval_time(), self._evaluations())

    def _eval_time(self) -> float:
        return self.trainer.eval_seconds if self.trainer is not None else 0.0

    def _evaluations(self) -> int:
        return self.trainer.evaluations if self.trainer is not None else 0

    def on_step_end(self, args, state, control, **kwargs):
        decision = self._decide(state) if self.world.writer else None
        total, self.stopped, evaluate, stop = self.world.from_writer(decision)
        self.schedule.total = total
        if stop:
            control.should_training_stop = True
        if evaluate:
            control.should_evaluate = control.should_save = True

    def _decide(self, state) -> tuple[int, bool, bool, bool]:
        """(the schedule's total, stopped by the deadline, evaluate and save now, stop now)."""
        now = time.perf_counter()
        started, first_step, first_eval_time, first_evaluations = self._started or (now, state.global_step, 0.0, 0)
        steps = state.global_step - first_step
        if steps >= REPLAN_AFTER_STEPS:
            evaluations = self._evaluations() - first_evaluations
            eval_time = self._eval_time() - first_eval_time
            pace = (now - started - eval_time) / steps
            per_evaluation = eval_time / evaluations if evaluations else self.plan["eval_seconds"]
            # Evaluations still due before the schedule's end, the last step's own included.
            every = self.plan["eval_every"]
            due = (self.schedule.total - 1) // every - state.global_step // every + 1
            fit = state.global_step + int((self.deadline - now - due * per_evaluation) // pace)
            total = max(state.global_step, min(self.planned, fit))
            if total != self.schedule.total:
                self.schedule.total = total
                self.plan["replanned_steps"] = total
                files.write_json_atomic(self.plan_file, self.plan)  # a resumed attempt keeps the schedule
                if abs(total - self._announced) >= max(2, self._announced // 50):
                    self._announced = total
                    self.emit({"kind": "status", "message": f"time budget: steps take {pace:.2f} s here, so {total} of the {self.planned} planned steps fit; the schedule now ends at step {total}"})
        if self.schedule.total < state.max_steps and state.global_step >= self.schedule.total:
            return self.schedule.total, self.stopped, True, True
        if now >= self.deadline and state.global_step < state.max_steps:
            # The deadline came before any evaluation (a very short budget, or a machine so busy
            # that it came before re-planning could start): evaluate and save this step, one
            # evaluation past the budget, so the run still ends with a measured checkpoint.
            return self.schedule.total, True, self._evaluations() == 0, True
        return self.schedule.total, self.stopped, False, False


PLANNED_EVALUATIONS = 4  # evaluations (each with a checkpoint) spread over a time-budget run
TIMED_STEPS = 3  # optimizer steps timed before planning (the first is warm-up and not counted)


def native_bf16() -> bool:
    """Whether this machine's training device computes bfloat16 matmuls natively: a CUDA GPU that
    supports bf16, or a CPU oneDNN runs bf16 on (AVX512-BF16 or AMX)."""
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(setting: str) -> str:
    """training.precision as the run computes: "bf16" or "fp32". auto is bf16 on a CPU with native
    bf16 only (see the config's doc); bf16 asked of a device without it is an error."""
    if setting == "fp32":
        return "fp32"
    if setting == "bf16":
        if torch.cuda.is_available() and not torch.cuda.is_bf16_supported():
            raise EngineError("bad_config", "training.precision bf16: this GPU does not compute bfloat16", hint="set training.precision to fp32 or auto", field="training.precision")
        return "bf16"
    return "bf16" if not torch.cuda.is_available() and native_bf16() else "fp32"


def autocast_for(bf16: bool):
    """The autocast context the Trainer's passes run under (bf16=True), for work done outside it."""
    return torch.autocast("cuda" if torch.cuda.is_available() else "cpu", dtype=torch.bfloat16, enabled=bf16)


def time_one_step(model, collator, examples: list[dict], batch_size: int, accumulation: int, seed: int, loss_function=None, bf16: bool = False) -> float:
    """Seconds of one optimizer step (forward and backward of `accumulation` micro-batches) on a
    random sample of the real examples. No optimizer step is taken and gradients are dropped, so the
    model is unchanged; the RNG is re-seeded afterwards so training draws the same numbers."""
    rng = random.Random(seed)
    per_step = batch_size * accumulation
    sample = [examples[rng.randrange(len(examples))] for _ in range(per_step * TIMED_STEPS)]
    model.train()
    seconds = []
    for step in range(TIMED_STEPS):
        started = time.perf_counter()
        for micro in range(accumulation):
            offset = step * per_step + micro * batch_size
            inputs = collator(sample[offset : offset + batch_size])
            with autocast_for(bf16):  # as the Trainer computes its steps
                if loss_function is None:
                    loss = model(**inputs).loss
                else:  # the Trainer's way: the model without labels, then the loss function
                    labels = inputs.pop("labels")
                    loss = loss_function(model(**inputs), labels)
            loss.backward()
        seconds.append(time.perf_counter() - started)
    model.zero_grad(set_to_none=True)
    set_seed(seed)
    return sum(seconds[1:]) / max(len(seconds) - 1, 1)


def default_max_eval(trained_examples: int) -> int:
    """The validation sample when evaluation.max_examples is not set, sized to the training: scoring
    an example costs about a third of training on one (a forward pass, no backward), so a quarter of
    the examples trained on keeps each evaluation under a tenth of the training time; never under 256,
    which keeps the loss estimate steady. (A 60-step run once spent 40 minutes scoring 1,818 examples.)
    The CLI's plan states the same rule (train-action.ts evaluationSample)."""
    return max(256, trained_examples // 4)


def plan_time_budget(budget: float, spent: float, step_seconds: float, eval_examples: int, examples_per_step: int, steps_per_epoch: int, epochs: float) -> dict:
    """The steps that fit in what is left of the budget, after the evaluations and checkpoints it
    also has to pay for (an evaluation example costs about a third of a trained one: forward only)."""
    eval_seconds = step_seconds * eval_examples / examples_per_step / 3
    save_seconds = 2.0
    left = budget - spent - (PLANNED_EVALUATIONS + 1) * eval_seconds - PLANNED_EVALUATIONS * save_seconds
    steps = int(left // step_seconds)
    if steps < 1:
        evaluations = (PLANNED_EVALUATIONS + 1) * eval_seconds
        costs = [f"loading took {spent:.0f} s"]
        if eval_examples:
            costs.append(f"{PLANNED_EVALUATIONS + 1} evaluations on {eval_examples} validation examples would take about {evaluations:.0f} s")
        costs.append(f"one step takes {step_seconds:.1f} s")
        hints = ["give a longer --time-budget"]
        # The evaluations are what does not fit: the sample whose evaluations take half of what is left,
        # the other half training (an evaluation example costs a third of a step's example).
        fitting = int((left + evaluations) / 2 / (PLANNED_EVALUATIONS + 1) * 3 * examples_per_step / step_seconds)
        if 16 <= fitting < eval_examples:
            hints.append(f"evaluate on fewer examples (--set evaluation.max_examples={fitting})")
        hints.append("a smaller --batch-size / training.max_length")
        raise EngineError(
            "budget_too_short",
            f"a time budget of {budget:.0f} s leaves no time to train: {', '.join(costs)}",
            hint=", or ".join(hints),
            field="training.time_budget_seconds",
        )
    steps = min(steps, max(1, math.ceil(steps_per_epoch * epochs)))
    return {"steps": steps, "eval_every": max(1, math.ceil(steps / PLANNED_EVALUATIONS)), "eval_seconds": eval_seconds}


BASE_FILE = "reviewtune_base.json"


def record_base(adapter_dir: Path, resolved: models.ResolvedModel) -> None:
    """Names the base in adapter_config.json by its hub id when one is known, so the adapter loads on
    any machine (PEFT, vLLM) and not only where this cache folder exists; where the base was loaded
    from here goes to reviewtune's own file beside it."""
    config_file = adapter_dir / "adapter_config.json"
    config = json.loads(config_file.read_text())
    local = str(Path(resolved.path) / resolved.gguf_file) if resolved.gguf_file else str(Path(resolved.path).resolve()) if resolved.kind != "hub" else resolved.path
    hub = models.hub_id(resolved)
    files.write_json_atomic(adapter_dir / BASE_FILE, {"source": resolved.source, "kind": resolved.kind, "local_path": local, "hub_id": hub, "revision": resolved.revision})
    if hub:
        config["base_model_name_or_path"] = hub
        if resolved.revision:
            config["revision"] = resolved.revision
        files.write_json_atomic(config_file, config)
        _card_names_base(adapter_dir / "README.md", hub)


def _card_names_base(card_file: Path, hub: str) -> None:
    """PEFT's model card (README.md, written by save_pretrained) names the base as it was loaded, a
    folder of this machine's cache, in its metadata (`base_model`, the `base_model:adapter:` tag): the
    hub id there too, so an exported adapter's card says what a reader elsewhere can load."""
    if not card_file.is_file():
        return
    from huggingface_hub import ModelCard

    card = ModelCard.load(card_file)
    card.data.base_model = hub
    if card.data.tags:
        card.data.tags = [f"base_model:adapter:{hub}" if str(tag).startswith("base_model:adapter:") else tag for tag in card.data.tags]
    card.save(card_file)


def latest_complete_checkpoint(checkpoints_dir: Path) -> Path | None:
    complete = [p for p in checkpoints_dir.glob("checkpoint-*") if (p / COMPLETE_MARKER).is_file()]
    return max(complete, key=lambda p: int(p.name.split("-")[1]), default=None)


def _truncate_metrics(path: Path, step: int) -> None:
    """On resume, drop records logged after the checkpoint: they will be logged again. A last line
    without its newline was being written when the process died: it is dropped too."""
    if not path.is_file():
        return
    text = path.read_text()
    whole = text[: text.rfind("\n") + 1]
    kept = [line for line in whole.splitlines() if line.strip() and json.loads(line).get("step", 0) <= step]
    path.write_text("".join(f"{line}\n" for line in kept))


def _peak_memory_bytes() -> int:
    if torch.cuda.is_available():
        return int(torch.cuda.max_memory_allocated())
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def _memory_bytes() -> int:
    """Memory in use now: CUDA allocations on a GPU, else the process's resident set (Linux
    /proc/self/statm; elsewhere the peak so far stands in)."""
    if torch.cuda.is_available():
        return int(torch.cuda.memory_allocated())
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return _peak_memory_bytes()


class _MemoryProfile(TrainerCallback):
    """Memory after each stage of the job (and after the first and the last training step): where
    the peak comes from. `peak_bytes` is the job's peak so far, so the stage where it jumps is the
    one that set it."""

    def __init__(self):
        self.phases: list[dict] = []
        self.steps = 0

    @property
    def peak(self) -> int:
        return self.phases[-1]["peak_bytes"] if self.phases else 0

    def mark(self, phase: str) -> None:
        now = _memory_bytes()
        # The kernel's high-water mark can trail the resident set by a little: the peak is at least what is in use.
        self.phases.append({"phase": phase, "bytes": now, "peak_bytes": max(_peak_memory_bytes(), now, self.peak)})

    def on_step_end(self, args, state, control, **kwargs):
        self.steps += 1
        if self.steps == 1:
            self.mark("first training step")

    def on_train_end(self, args, state, control, **kwargs):
        self.mark("training")


# ---- the job ----------------------------------------------------------------------------------


# ---- the job, stage by stage ------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingSettings:
    """config.training as the engine reads it (contracts TrainingConfigSchema; the Node side sends
    every default filled, the request is validated against the protocol's JSON Schema first, and the
    optional fields default here as they do there)."""

    epochs: float
    max_steps: int | None
    learning_rate: float
    batch_size: int
    gradient_accumulation: int
    warmup_steps: int
    scheduler: str
    weight_decay: float
    max_grad_norm: float
    max_length: int
    seed: int
    packing: str
    logits: str
    activation_checkpointing: bool
    precision: str
    logging_steps: int
    threads: int
    time_budget_seconds: float | None
    class_balance: str

    @classmethod
    def of(cls, raw: dict) -> TrainingSettings:
        return cls(
            epochs=raw["epochs"],
            max_steps=raw.get("max_steps"),
            learning_rate=raw["learning_rate"],
            batch_size=raw["batch_size"],
            gradient_accumulation=raw["gradient_accumulation"],
            warmup_steps=raw["warmup_steps"],
            scheduler=raw["scheduler"],
            weight_decay=raw["weight_decay"],
            max_grad_norm=raw["max_grad_norm"],
            max_length=raw["max_length"],
            seed=raw["seed"],
            packing=raw["packing"],
            logits=raw.get("logits", "labelled"),
            activation_checkpointing=raw.get("activation_checkpointing", False),
            precision=raw.get("precision", "auto"),
            logging_steps=raw["logging_steps"],
            threads=raw.get("threads") or 0,
            time_budget_seconds=raw.get("time_budget_seconds"),
            class_balance=raw.get("class_balance", "weighted_loss"),
        )

    @property
    def examples_per_step(self) -> int:
        """Examples per optimizer step of one process (times the world size for the whole step)."""
        return self.batch_size * self.gradient_accumulation


@dataclass(frozen=True)
class TrainJob:
    """A train request (protocol TrainRequest) with a typed view of what the stages read; `config`
    stays whole for build_model (model, method, lora, quantization)."""

    config: dict
    training: TrainingSettings
    evaluation_strategy: str
    evaluation_every: int | None
    evaluation_max: int | None
    early_stopping: dict | None
    checkpoints_keep: int
    checkpoints_every: int | None
    label_names: list[str] | None  # task "classify"; None for "generate"
    bf16: bool  # the passes run under bfloat16 autocast (training.precision, resolved by resolve_precision)
    launch: distributed.Launch | None  # several processes (config.distributed); None for one
    run_dir: Path
    train_file: str
    eval_file: str | None
    resume: bool

    @classmethod
    def of(cls, params: dict) -> TrainJob:
        config = params["config"]
        classify = config.get("task", "generate") == "classify"
        label_names = params.get("label_names") if classify else None
        if classify and not label_names:
            raise EngineError("bad_config", 'task "classify" needs label_names in the train request', field="labels")
        evaluation = config["evaluation"]
        return cls(
            config=config,
            training=TrainingSettings.of(config["training"]),
            evaluation_strategy=evaluation["strategy"],
            evaluation_every=evaluation.get("every_steps"),
            evaluation_max=evaluation.get("max_examples"),
            early_stopping=config.get("early_stopping"),
            checkpoints_keep=config["checkpoints"]["keep"],
            checkpoints_every=config["checkpoints"].get("every_steps"),
            label_names=label_names,
            bf16=resolve_precision(config["training"].get("precision", "auto")) == "bf16",
            launch=distributed.Launch.of(config),
            run_dir=Path(params["run_dir"]),
            train_file=params["train_file"],
            eval_file=params.get("eval_file"),
            resume=bool(params.get("resume")),
        )

    @property
    def classify(self) -> bool:
        return self.label_names is not None

    @property
    def checkpoints_dir(self) -> Path:
        return self.run_dir / "checkpoints"

    @property
    def metrics_path(self) -> Path:
        return self.run_dir / "metrics.jsonl"

    @property
    def plan_file(self) -> Path:
        return self.run_dir / "time-budget-plan.json"


@dataclass
class TrainingData:
    """The tokenized examples and what batches and scores them."""

    train_examples: list[dict]
    eval_examples: list[dict] | None
    collator: _CountingCollator
    recorder: object | None = None  # task "classify": classification.MetricsRecorder
    loss_function: object | None = None  # classification.WeightedLoss, or lm_loss.LabelledLoss
    class_weights: dict[str, float] | None = None


@dataclass
class Fit:
    """What the fit stage leaves: the trainer and its outcome."""

    trainer: Trainer
    output: object | None  # the Trainer's TrainOutput; None when cancelled inside an evaluation
    callback: _ProtocolCallback
    budget_stop: _TimeBudgetCallback | None
    keep_best: bool
    status: str


def shared_cpu_callback(training: TrainingSettings, world: World, emit: Callable[[dict], None]) -> SharedCpuCallback | None:
    """Threads that follow the cores other processes leave (cpu_share.py): for a training on this
    machine's CPU whose thread count is not set, on one process (torchrun's processes divide the
    cores among themselves)."""
    if training.threads or world.distributed or torch.cuda.is_available() or not CpuReader.available():
        return None
    return SharedCpuCallback(emit)


def _prepare(job: TrainJob, world: World) -> Path | None:
    """The run folder, threads and seed; the checkpoint to resume from (or a clean slate)."""
    job.run_dir.mkdir(parents=True, exist_ok=True)
    if job.training.threads:
        torch.set_num_threads(job.training.threads)
    set_seed(job.training.seed)
    if job.resume:
        resume_from = latest_complete_checkpoint(job.checkpoints_dir)
        if resume_from is None:
            raise EngineError("no_checkpoint", f"{job.checkpoints_dir} has no complete checkpoint to resume from", hint="start the run again without --resume", file=str(job.checkpoints_dir))
        return resume_from
    if world.local_rank == 0:  # each node's own run folder (one folder when they share it)
        shutil.rmtree(job.checkpoints_dir, ignore_errors=True)
        job.metrics_path.unlink(missing_ok=True)
    world.barrier()  # no rank starts before the slate is clean
    return None


def _classification_data(job: TrainJob, tokenizer, emit: Callable[[dict], None], resume_from: Path | None, world: World) -> TrainingData:
    training, label_names = job.training, job.label_names
    train_examples = classification.tokenize_rows(classification.read_rows(job.train_file, "train", label_names), tokenizer, training.max_length)
    eval_examples = None
    if job.eval_file:
        eval_examples = classification.tokenize_rows(classification.read_rows(job.eval_file, "validation", label_names), tokenizer, training.max_length)
    # The loss goes through WeightedLoss also with class_balance "none" (all weights 1): the model's
    # own classification loss ignores the Trainer's row count, so under gradient accumulation it
    # was summed over the micro-batches, gradient_accumulation times too large (and clipped so).
    weights = [1.0] * len(label_names)
    class_weights = None
    if training.class_balance == "weighted_loss":
        counts = Counter(example["labels"] for example in train_examples)
        weights = classification.class_weights([example["labels"] for example in train_examples], len(label_names))
        class_weights = dict(zip(label_names, weights))
        rows = {name: counts[index] for index, name in enumerate(label_names)}
        emit({"kind": "status", "message": "class weights (inverse frequency): " + ", ".join(f"{name} {class_weights[name]:.3f} ({rows[name]} rows)" for name in label_names)})
        if resume_from is None and world.writer:  # a resumed run keeps the record written when it started
            with open(job.metrics_path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps({"kind": "class_weights", "step": 0, "weights": class_weights, "train_rows": rows, "time": time.time()}) + "\n")
    return TrainingData(
        train_examples,
        eval_examples,
        _CountingCollator(classification.PaddingCollator(tokenizer, training.packing, training.max_length)),
        recorder=classification.MetricsRecorder(label_names),
        loss_function=classification.WeightedLoss(weights),
        class_weights=class_weights,
    )


def _instruction_data(job: TrainJob, tokenizer, emit: Callable[[dict], None]) -> TrainingData:
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    training = job.training
    train_examples, dropped = tokenize_rows(read_rows(job.train_file, "train"), tokenizer, training.max_length)
    if not train_examples:
        raise EngineError("bad_data", f"no training example has completion tokens within max_length {training.max_length}", field="training.max_length")
    eval_examples = tokenize_rows(read_rows(job.eval_file, "validation"), tokenizer, training.max_length)[0] if job.eval_file else None
    if dropped:
        emit({"kind": "status", "message": f"{dropped} training example(s) dropped: the prompt alone fills max_length {training.max_length}"})
    language_model_collator = DataCollatorForLanguageModeling(
        pad_token_id=tokenizer.pad_token_id,
        padding_free=training.packing == "padding_free",
        pad_to_multiple_of=training.max_length if training.packing == "pad_to_max_length" else None,
    )
    if training.logits == "labelled":
        # The head and the loss only where a label is (lm_loss.py): same loss, fewer FLOPs and bytes.
        return TrainingData(train_examples, eval_examples, _CountingCollator(lm_loss.LogitsWhereLabelled(language_model_collator)), loss_function=lm_loss.LabelledLoss())
    return TrainingData(train_examples, eval_examples, _CountingCollator(language_model_collator))


def _sample_evaluation(job: TrainJob, data: TrainingData, emit: Callable[[dict], None], world: World) -> None:
    """Evaluations on at most evaluation.max_examples (a seeded sample), or a default sized to the run."""
    training = job.training
    budget = training.time_budget_seconds
    trained = training.max_steps * training.examples_per_step * world.size if training.max_steps else math.ceil(training.epochs * len(data.train_examples))
    max_eval = job.evaluation_max or (256 if budget else default_max_eval(trained))
    if data.eval_examples and max_eval and len(data.eval_examples) > max_eval:
        data.eval_examples = random.Random(training.seed).sample(data.eval_examples, max_eval)
        emit({"kind": "status", "message": f"evaluating on a seeded sample of {max_eval} validation examples (evaluation.max_examples)"})


def _plan(job: TrainJob, model, data: TrainingData, job_started: float, resume_from: Path | None, emit: Callable[[dict], None], world: World) -> dict | None:
    """With a time budget: time real steps and fit the schedule to what is left of the budget (a
    resumed run keeps the schedule of the interrupted attempt). On several processes, rank 0's plan
    is everyone's."""
    training = job.training
    budget = training.time_budget_seconds
    if not budget:
        return None
    if resume_from is not None and job.plan_file.is_file():
        plan = json.loads(job.plan_file.read_text())
    else:
        emit({"kind": "status", "message": f"timing {TIMED_STEPS} steps to plan a {budget:.0f} s budget"})
        step_seconds = time_one_step(model, data.collator.inner, data.train_examples, training.batch_size, training.gradient_accumulation, training.seed, data.loss_function, job.bf16)
        per_step = training.examples_per_step * world.size  # every rank's share of a step
        planned = plan_time_budget(budget, time.perf_counter() - job_started, step_seconds, len(data.eval_examples or []), per_step, math.ceil(len(data.train_examples) / per_step), training.epochs)
        plan = world.from_writer({"seconds": budget, "step_seconds": step_seconds, **planned})
        if world.writer:
            files.write_json_atomic(job.plan_file, plan)
    emit({"kind": "status", "message": f"time budget {budget:.0f} s: {plan['step_seconds']:.2f} s per step measured, {plan['steps']} steps planned, evaluation every {plan['eval_every']} steps"})
    return plan


def _fit(job: TrainJob, model, tokenizer, data: TrainingData, plan: dict | None, job_started: float, resume_from: Path | None, emit: Callable[[dict], None], is_cancelled: Callable[[], bool], memory: _MemoryProfile, world: World) -> Fit:
    """The Trainer with our callbacks (protocol events and metrics, early stopping, the time budget), run."""
    from datasets import Dataset

    training = job.training
    has_eval_data = bool(data.eval_examples)
    has_eval = has_eval_data and (job.evaluation_strategy != "no" or plan is not None)  # evaluations during training
    early = job.early_stopping if has_eval else None
    eval_strategy = ("steps" if plan else job.evaluation_strategy) if has_eval else "no"
    eval_steps = plan["eval_every"] if plan else job.evaluation_every
    keep_best = bool(early) or (plan is not None and has_eval)
    max_steps = plan["steps"] if plan else (training.max_steps or -1)
    warmup_steps = min(training.warmup_steps, max(max_steps // 5, 0)) if plan else training.warmup_steps
    args = TrainingArguments(
        output_dir=str(job.checkpoints_dir),
        per_device_train_batch_size=training.batch_size,
        per_device_eval_batch_size=training.batch_size,
        gradient_accumulation_steps=training.gradient_accumulation,
        num_train_epochs=training.epochs,
        max_steps=max_steps,
        learning_rate=training.learning_rate,
        weight_decay=training.weight_decay,
        warmup_steps=warmup_steps,
        lr_scheduler_type=training.scheduler,
        max_grad_norm=training.max_grad_norm,
        optim="adamw_torch",
        seed=training.seed,
        data_seed=training.seed,
        logging_steps=training.logging_steps,
        eval_strategy=eval_strategy,
        eval_steps=eval_steps,
        # A checkpoint at every evaluation, as the plan says (config checkpoints.every_steps: "also at
        # each evaluation"): --resume continues from there after a crash, and early stopping and time
        # budgets restore the best one.
        save_strategy=eval_strategy,
        save_steps=eval_steps if eval_strategy == "steps" else None,
        save_total_limit=None,  # the trainer's keep (see _AtomicCheckpointTrainer.keep)
        load_best_model_at_end=keep_best,
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        report_to=[],
        disable_tqdm=True,
        remove_unused_columns=False,
        dataloader_num_workers=0,
        use_cpu=not torch.cuda.is_available(),
        bf16=job.bf16,
        # PEFT wrappers hide the model's forward signature, from which the Trainer finds the labels.
        label_names=["labels"] if job.classify else None,
        # Several processes: DDP's settings, or the FSDP / DeepSpeed config written into the run folder.
        **distributed.training_arguments(job.launch, world, job.run_dir),
    )
    callback = _ProtocolCallback(emit, is_cancelled, job.metrics_path, data.collator, job.checkpoints_every, data.recorder, world)
    callbacks: list[TrainerCallback] = [callback, memory]
    shared_cpu = shared_cpu_callback(training, world, emit)
    if shared_cpu is not None:
        callbacks.append(shared_cpu)
    if early:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=early["patience"], early_stopping_threshold=early.get("min_delta", 0.0)))
    budget_stop = None
    schedule = None
    if plan:
        schedule = _Schedule(training.scheduler, warmup_steps, plan.get("replanned_steps", plan["steps"]))
        # The final evaluation and the save come after the loop: leave them their time.
        budget_stop = _TimeBudgetCallback(job_started + plan["seconds"] - plan["eval_seconds"] - 5.0, schedule, plan, job.plan_file, emit, world)
        callbacks.append(budget_stop)
    trainer = _AtomicCheckpointTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(data.train_examples),
        eval_dataset=Dataset.from_list(data.eval_examples) if has_eval_data else None,
        data_collator=data.collator,
        processing_class=tokenizer,
        callbacks=callbacks,
        compute_metrics=data.recorder,
        compute_loss_func=data.loss_function,
    )
    callback.trainer = trainer
    callback.schedule = schedule
    trainer.schedule = schedule
    trainer.world = world
    trainer.keep = job.checkpoints_keep
    if budget_stop is not None:
        budget_stop.trainer = trainer
    if resume_from is not None:
        if world.writer:
            _truncate_metrics(job.metrics_path, _step_of(resume_from))
        emit({"kind": "status", "message": f"resuming from {resume_from.name}"})
    try:
        output = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    except _EvaluationCancelled:
        # Stopped inside an evaluation: the last complete checkpoint is where --resume starts.
        output = None
        emit({"kind": "status", "message": "cancelled during an evaluation; --resume continues from the last checkpoint"})
    state = trainer.state
    if callback.cancelled:
        status = "cancelled"
    elif budget_stop is not None and (budget_stop.stopped or state.global_step >= budget_stop.schedule.total):
        status = "completed"  # the budget was the length asked for (its schedule may have been re-planned shorter)
    elif state.global_step < state.max_steps:
        status = "early_stopped"
    else:
        status = "completed"
    return Fit(trainer, output, callback, budget_stop, keep_best, status)


def _save(job: TrainJob, fit: Fit, data: TrainingData, tokenizer, resolved: models.ResolvedModel, resume_from: Path | None, emit: Callable[[dict], None], world: World) -> tuple[float | None, str | None, str | None]:
    """A final evaluation, then the adapter (or the full model) written whole into the run folder:
    (final eval loss, adapter dir, model dir). Nothing is saved for a cancelled run. On several
    processes every rank evaluates (a collective) and rank 0 writes."""
    if fit.status == "cancelled":
        return None, None, None
    trainer, state = fit.trainer, fit.trainer.state
    final_eval_loss = None
    evaluated = _evaluated_weights(trainer, fit.callback) if data.eval_examples else None
    if evaluated is not None:
        # The weights in memory were scored on these same examples during training (the last step's
        # evaluation, or the restored best checkpoint's): that is the final figure, not measured twice.
        # It was measured twice, minutes on a CPU (the final evaluation of a 24-step run took 7).
        step, final_eval_loss = evaluated
        fit.callback.final = True
        fit.callback.on_log(trainer.args, state, None, logs={"eval_loss": final_eval_loss})
        emit({"kind": "status", "message": f"final evaluation: step {step}'s evaluation was of these weights (eval loss {final_eval_loss:.4f}), not run again"})
    elif data.eval_examples:  # a final evaluation also when none ran during training (bench, short runs)
        fit.callback.final = True
        # Scoring an example costs about a third of training on one: said before the wait, from this session's speed.
        runtime, steps = fit.output.metrics.get("train_runtime") if fit.output else None, state.global_step - (_step_of(resume_from) if resume_from else 0)
        seconds = f", about {runtime / (steps * job.training.examples_per_step * world.size) / 3 * len(data.eval_examples):.0f} s at this run's speed" if runtime and steps > 0 else ""
        emit({"kind": "status", "message": f"final evaluation on {len(data.eval_examples)} validation examples{seconds}"})
        try:
            final_eval_loss = float(trainer.evaluate()["eval_loss"])
        except _EvaluationCancelled:
            # The training is done: keep it (the save below takes seconds), without the final figure.
            emit({"kind": "status", "message": "final evaluation cancelled: the trained weights are saved without it"})
    full = job.config["method"] == "full"
    target = job.run_dir / ("model" if full else "adapter")
    if job.launch is not None and job.launch.strategy != "ddp":
        # Sharded weights: the Trainer gathers them (a collective), rank 0 writes them whole.
        trainer.save_model(str(files.staging_path(target)))
    if not world.writer:  # the weights are rank 0's to write (on node 0 of several)
        world.barrier()
        return final_eval_loss, None, None
    staging = files.staging_path(target)
    if job.launch is None or job.launch.strategy == "ddp":
        shutil.rmtree(staging, ignore_errors=True)
        trainer.model.save_pretrained(staging, safe_serialization=True)
    tokenizer.save_pretrained(staging)
    if job.classify:  # the class names travel with the adapter (a full model's config has id2label)
        files.write_json_atomic(staging / classification.LABELS_FILE, {"task": "classify", "labels": job.label_names})
    if not full:
        record_base(staging, resolved)
    files.honour_umask(staging)
    shutil.rmtree(target, ignore_errors=True)
    os.rename(staging, target)
    world.barrier()
    return final_eval_loss, (None if full else str(target)), (str(target) if full else None)


def run_train_loss(trainer_loss: float | None, log_history: list[dict], global_step: int, first_step: int) -> float | None:
    """The mean training loss over the run's steps, resumed or not. The Trainer's own figure is the
    loss summed over the steps this process ran divided by every step of the run: a run resumed at
    step 11 of 12 reported a twelfth of its last step's loss (0.24 where the curve read 0.95). The
    steps before the resume count by the logged losses the checkpoint kept (each the mean since the
    log before it); steps after the last such log and before the checkpoint were never logged and
    are left out, so the figure is the mean over the steps it can see: exact when the resumed
    checkpoint's step was a logging step, a close approximation otherwise (and after several resumes,
    each leaving out its own few unlogged steps)."""
    if trainer_loss is None:
        return None
    steps_run = global_step - first_step
    total = trainer_loss * global_step  # undoes the Trainer's division: the sum over this process's steps
    counted = steps_run
    previous = 0
    for entry in log_history:
        step = entry.get("step", 0)
        if "loss" not in entry or step > first_step or step <= previous:
            continue
        total += float(entry["loss"]) * (step - previous)
        counted += step - previous
        previous = step
    return total / counted if counted > 0 else None


def _evaluated_weights(trainer, callback: _ProtocolCallback) -> tuple[int, float] | None:
    """(step, eval loss) of an evaluation this session ran on the weights the trainer now holds: the
    last one when it was at the last step, or the best one when the Trainer restored its checkpoint at
    the end (load_best_model_at_end). None when the weights were never evaluated as they are, or when a
    classification head's figures (the recorder's, the last evaluation's) would not be theirs."""
    if callback.last_eval is None:
        return None
    state = trainer.state
    step, loss = callback.last_eval
    if trainer.args.load_best_model_at_end and state.best_model_checkpoint:
        best = _step_of(Path(state.best_model_checkpoint))
        if best == step:
            return step, loss
        if callback.recorder is not None or state.best_metric is None:
            return None
        return best, float(state.best_metric)
    return (step, loss) if step == state.global_step else None


def _step_of(checkpoint: Path) -> int:
    """The global step of a checkpoint folder (checkpoint-<step>)."""
    return int(checkpoint.name.split("-")[1])


def train(params: dict, emit: Callable[[dict], None], is_cancelled: Callable[[], bool], world: World = SINGLE) -> dict:
    """One training job: prepare, data, model, plan, fit, save; the protocol's TrainResult. On
    several processes (distributed.py's workers) each rank runs this with its `world`."""
    job_started = time.perf_counter()
    job = TrainJob.of(params)
    resume_from = _prepare(job, world)
    memory = _MemoryProfile()
    memory.mark("start")

    emit({"kind": "status", "message": f"loading {job.config['model']['source']}"})
    reference = job.config["model"]
    resolved = models.resolve(reference["source"], allow_pickle=reference.get("allow_pickle", False), revision=reference.get("revision"))
    tokenizer = models.load_tokenizer(resolved)
    data = _classification_data(job, tokenizer, emit, resume_from, world) if job.classify else _instruction_data(job, tokenizer, emit)
    memory.mark("tokenizer and data")

    model = build_model(job.config, resolved, tokenizer, job.label_names)
    if job.training.activation_checkpointing:
        # Non-reentrant: works with a frozen base under LoRA without making the inputs require grads.
        # Enabled on the model itself, so the time budget's timed steps run as training will.
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if not job.classify and job.training.packing == "padding_free" and model.config._attn_implementation == "sdpa":
        # Attention per example of a padding-free row instead of over the whole row behind a block mask.
        model.set_attn_implementation(packed_attention.register())
    memory.mark("model")
    parameters = models.count_parameters(model)
    emit({"kind": "status", "message": f"trainable params: {parameters['trainable']:,} || all params: {parameters['total']:,} || trainable%: {parameters['trainable_percent']:.4f}"})

    _sample_evaluation(job, data, emit, world)
    plan = _plan(job, model, data, job_started, resume_from, emit, world)
    if plan:
        memory.mark("timed steps (time budget plan)")
    fit = _fit(job, model, tokenizer, data, plan, job_started, resume_from, emit, is_cancelled, memory, world)
    train_seconds = fit.callback.training_seconds()
    train_tokens = fit.callback.tokens - fit.callback.tokens_at_start
    tokens_per_second = fit.callback.tokens_per_second()
    state = fit.trainer.state
    steps_run = state.global_step - (fit.callback.first_step or 0)
    final_eval_loss, adapter_dir, model_dir = _save(job, fit, data, tokenizer, resolved, resume_from, emit, world)
    memory.mark("final evaluation and save")
    peak_memory = int(world.max([max(_peak_memory_bytes(), memory.peak)])[0])  # the largest rank's

    # The best evaluation's loss whenever evaluations ran (each saves a checkpoint, which records it):
    # a cancelled run has no final evaluation, and its summary still shows how far it got.
    best_metric = state.best_metric
    figures = None
    if data.recorder is not None and data.recorder.last is not None and final_eval_loss is not None:
        figures = {**data.recorder.last, "eval_loss": final_eval_loss}
    return {
        "status": fit.status,
        "global_step": state.global_step,
        "max_steps": state.max_steps,
        "epochs_completed": round(state.epoch or 0.0, 4),
        "best_checkpoint": state.best_model_checkpoint,
        "best_eval_loss": float(best_metric) if best_metric is not None else None,
        "final_eval_loss": final_eval_loss,
        "train_loss": run_train_loss(fit.output.training_loss if fit.output is not None else None, state.log_history, state.global_step, fit.callback.first_step or 0),
        "adapter_dir": adapter_dir,
        "model_dir": model_dir,
        "parameters": parameters,
        "train_tokens": train_tokens,
        "train_seconds": round(train_seconds, 3),
        "tokens_per_second": round(tokens_per_second, 2),
        "precision": "bf16" if job.bf16 else "fp32",
        "seconds_per_step": round(train_seconds / steps_run, 4) if steps_run > 0 else 0.0,
        "peak_memory_bytes": peak_memory,
        "memory_profile": memory.phases,
        "resumed_from_step": _step_of(resume_from) if resume_from else None,
        "wall_seconds": round(time.perf_counter() - job_started, 3),
        "classification": figures,
        "time_budget": {
            "seconds": plan["seconds"],
            "measured_seconds_per_step": round(plan["step_seconds"], 4),
            "planned_steps": plan["steps"],
            "eval_every_steps": plan["eval_every"],
            "eval_examples": len(data.eval_examples or []),
            "stopped_by_budget": bool(fit.budget_stop and fit.budget_stop.stopped),
            "replanned_steps": plan.get("replanned_steps"),
        }
        if plan
        else None,
        "class_weights": data.class_weights,
        "distributed": _distributed_record(job, fit, world),
    }


def _distributed_record(job: TrainJob, fit: Fit, world: World) -> dict | None:
    """How the run was spread, as the Trainer itself saw it (accelerate's distributed type)."""
    if not world.distributed or job.launch is None:
        return None
    state = fit.trainer.accelerator.state
    return {
        "world_size": world.size,
        "nnodes": job.launch.nnodes,
        "nproc_per_node": job.launch.nproc_per_node,
        "strategy": job.launch.strategy,
        "backend": state.backend if hasattr(state, "backend") else distributed.backend(),
        "mode": str(state.distributed_type.value if hasattr(state.distributed_type, "value") else state.distributed_type),
    }
