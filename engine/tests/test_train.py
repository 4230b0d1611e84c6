"""Training on a tiny random Llama: loss goes down, the adapter reloads with plain PEFT, resume after a
kill continues the same curve, early stopping restores the best checkpoint, bad configs fail clearly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import Engine, sentiment_rows, train_config, write_jsonl
from reviewtune_engine import train as train_module
from reviewtune_engine.errors import EngineError
from reviewtune_engine.files import current_umask
from reviewtune_engine.models import EMBEDDED_HUB_IDS, ModelCache, ResolvedModel
from reviewtune_engine.train import BASE_FILE, COMPLETE_MARKER, TrainingSettings, default_max_eval, latest_complete_checkpoint, record_base, train


def run_train(tmp_path: Path, config: dict, *, train_rows=None, eval_rows=None, resume=False, run_dir=None, watch=None, is_cancelled=lambda: False):
    """train() on the rows given (sentiment rows by default); `watch` sees each event as it comes."""
    run_dir = run_dir or tmp_path / "run"
    params = {
        "run_dir": str(run_dir),
        "config": config,
        "train_file": write_jsonl(tmp_path / "train.jsonl", train_rows or sentiment_rows(32)),
        "resume": resume,
    }
    if eval_rows is not False:
        params["eval_file"] = write_jsonl(tmp_path / "val.jsonl", eval_rows or sentiment_rows(8, offset=100))
    events: list[dict] = []

    def emit(event: dict) -> None:
        events.append(event)
        if watch is not None:
            watch(event)

    result = train(params, emit, is_cancelled)
    return result, events, run_dir


def metrics(run_dir: Path, kind: str) -> list[dict]:
    return [record for record in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines()) if record["kind"] == kind]


def test_loss_goes_down_and_outputs_a_run_folder(tmp_path, tiny_model):
    result, events, run_dir = run_train(tmp_path, train_config(tiny_model))
    losses = [record["loss"] for record in metrics(run_dir, "train")]
    evals = [record["eval_loss"] for record in metrics(run_dir, "eval")]
    assert result["status"] == "completed"
    assert result["global_step"] == result["max_steps"] == 12  # 32 rows / (4 x 2) x 3 epochs
    assert losses[-1] < losses[0] * 0.8
    assert evals[-1] < evals[0]
    # A checkpoint at each evaluation (the end of each of the 3 epochs), the last 2 kept, as the plan
    # prints it; the best evaluation is reported without early stopping too.
    saved = sorted((path.name for path in (run_dir / "checkpoints").iterdir() if path.name.startswith("checkpoint-")), key=lambda name: int(name.split("-")[1]))
    assert saved == ["checkpoint-8", "checkpoint-12"]
    assert result["best_eval_loss"] == pytest.approx(min(evals))
    assert (run_dir / "adapter" / "adapter_config.json").is_file()
    assert (run_dir / "adapter" / "adapter_model.safetensors").is_file()
    # safetensors writes 0600; an adapter is meant to be shared, so it gets the user's umask like any file.
    mask = current_umask()
    assert {oct(path.stat().st_mode & 0o777) for path in (run_dir / "adapter").iterdir()} == {oct(0o666 & ~mask)}
    # A local base has no hub id: adapter_config.json keeps its path, reviewtune_base.json says so.
    base = json.loads((run_dir / "adapter" / BASE_FILE).read_text())
    assert base["kind"] == "local_folder" and base["hub_id"] is None and base["local_path"] == str(Path(tiny_model).resolve())
    parameters = result["parameters"]
    assert 0 < parameters["trainable"] < parameters["total"]
    assert parameters["trainable_percent"] == pytest.approx(100 * parameters["trainable"] / parameters["total"], abs=1e-3)
    assert any(event["kind"] == "progress" and event["step"] == 12 for event in events)
    assert result["train_tokens"] > 0 and result["tokens_per_second"] > 0


def test_adapter_reloads_with_plain_peft_and_matches(tmp_path, tiny_model):
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    config = train_config(tiny_model, checkpoints={"every_steps": 12, "keep": 1})
    result, _, run_dir = run_train(tmp_path, config)
    adapter = run_dir / "adapter"
    # The saved adapter is the trained state: identical to the last checkpoint the trainer wrote.
    saved = load_file(adapter / "adapter_model.safetensors")
    checkpoint = load_file(run_dir / "checkpoints" / "checkpoint-12" / "adapter_model.safetensors")
    assert saved.keys() == checkpoint.keys() and all(torch.equal(saved[key], checkpoint[key]) for key in saved)

    inputs = torch.tensor([[5, 17, 42, 99, 7, 3]])
    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    with torch.no_grad():
        base_logits = base(inputs).logits
    tuned = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model), str(adapter)).eval()
    with torch.no_grad():
        tuned_logits = tuned(inputs).logits
    assert not torch.allclose(base_logits, tuned_logits, atol=1e-4), "the adapter changes nothing"
    # The engine's own loading path gives the same logits as plain PEFT.
    from reviewtune_engine.models import ModelCache

    model, _, active = ModelCache().with_adapter({"source": str(tiny_model)}, str(adapter))
    assert active
    with torch.no_grad():
        engine_logits = model(inputs).logits
    torch.testing.assert_close(engine_logits, tuned_logits)


def test_resume_after_kill_continues_the_same_curve(tmp_path, tiny_model):
    config = train_config(
        tiny_model,
        lora={"r": 8, "alpha": 16, "dropout": 0.1, "target_modules": ["q_proj", "v_proj"], "bias": "none"},
        training={"epochs": 6, "learning_rate": 0.005, "batch_size": 4, "gradient_accumulation": 1},
        checkpoints={"every_steps": 3, "keep": 2},
        evaluation={"strategy": "no"},
    )
    train_file = write_jsonl(tmp_path / "train.jsonl", sentiment_rows(40))
    (tmp_path / "reference").mkdir()
    reference, _, reference_dir = run_train(tmp_path / "reference", config, train_rows=sentiment_rows(40), eval_rows=False)
    reference_losses = {record["step"]: record["loss"] for record in metrics(reference_dir, "train")}
    assert reference["global_step"] == 60

    # The same training in a real engine process, killed with SIGKILL right after its first checkpoint.
    run_dir = tmp_path / "killed"
    engine = Engine()
    engine.send({"id": "t", "method": "train", "params": {"run_dir": str(run_dir), "config": config, "train_file": train_file, "resume": False}})
    while True:
        message = engine.read()
        if message["type"] == "event" and message["event"]["kind"] == "checkpoint":
            os.kill(engine.process.pid, signal.SIGKILL)
            break
        assert message["type"] == "event", message
    engine.process.wait()
    checkpoint = latest_complete_checkpoint(run_dir / "checkpoints")
    assert checkpoint is not None

    params = {"run_dir": str(run_dir), "config": config, "train_file": train_file, "resume": True}
    result = train(params, lambda event: None, lambda: False)
    assert result["status"] == "completed"
    assert 3 <= result["resumed_from_step"] < 60
    assert result["global_step"] == 60
    resumed_losses = {record["step"]: record["loss"] for record in metrics(run_dir, "train")}
    assert sorted(resumed_losses) == list(range(1, 61)), "every step is logged exactly once"
    for step, loss in reference_losses.items():
        assert resumed_losses[step] == pytest.approx(loss, rel=1e-4, abs=1e-5), f"step {step} differs after resume"
    # The run's mean loss over all 60 steps, not this process's steps over 60 (the Trainer's figure).
    assert result["train_loss"] == pytest.approx(reference["train_loss"], rel=1e-3)
    assert reference["train_loss"] == pytest.approx(sum(reference_losses.values()) / 60, rel=1e-3)


def test_the_train_loss_of_a_resumed_run_counts_the_steps_before_the_resume():
    history = [{"step": 2, "loss": 1.0}, {"step": 4, "loss": 0.8}, {"step": 4, "eval_loss": 0.9}, {"step": 6, "loss": 0.5}]
    # Resumed at step 4, then 8 steps at a mean of 0.25 (the step-6 log is one of them, already in
    # the Trainer's sum); the Trainer reports that sum over all 12 steps.
    assert train_module.run_train_loss(0.25 * 8 / 12, history, 12, 4) == pytest.approx((2 * 1.0 + 2 * 0.8 + 8 * 0.25) / 12)
    assert train_module.run_train_loss(0.6, [], 10, 0) == pytest.approx(0.6)
    assert train_module.run_train_loss(None, history, 12, 4) is None


def test_the_typed_view_of_training_settings_has_every_field_of_the_protocol():
    # TrainingSettings is written from contracts' TrainingConfigSchema; the protocol's JSON Schema
    # (generated from it) says which fields a train request's config.training can carry.
    import dataclasses

    schema = json.loads((Path(__file__).parents[1] / "src" / "reviewtune_engine" / "protocol.schema.json").read_text())
    train_request = next(branch for branch in schema["request"]["oneOf"] if branch["properties"]["method"].get("const") == "train")
    fields = train_request["properties"]["params"]["properties"]["config"]["properties"]["training"]["properties"]
    assert {field.name for field in dataclasses.fields(TrainingSettings)} == set(fields)


def test_incomplete_checkpoints_are_ignored(tmp_path):
    for step, complete in [(2, True), (4, True), (6, False)]:
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        if complete:
            (folder / COMPLETE_MARKER).write_text("{}")
    assert latest_complete_checkpoint(tmp_path).name == "checkpoint-4"


def test_resume_trims_metrics_past_the_checkpoint_and_a_line_cut_by_a_crash(tmp_path):
    from reviewtune_engine.train import _truncate_metrics

    path = tmp_path / "metrics.jsonl"
    path.write_text('{"kind":"train","step":2,"loss":2.0}\n{"kind":"eval","step":4,"eval_loss":1.5}\n{"kind":"train","step":6,"loss":1.1}\n{"kind":"train","st')
    _truncate_metrics(path, 4)
    assert path.read_text() == '{"kind":"train","step":2,"loss":2.0}\n{"kind":"eval","step":4,"eval_loss":1.5}\n'


def test_early_stopping_triggers_and_restores_the_best_checkpoint(tmp_path, tiny_model):
    # Train on one answer, evaluate on its opposite: eval loss improves (shared format), then worsens.
    train_rows = [row | {"completion": "Sentiment: positive.<|im_end|>\n"} for row in sentiment_rows(32)]
    eval_rows = [row | {"completion": "Sentiment: negative.<|im_end|>\n"} for row in sentiment_rows(8, offset=100)]
    config = train_config(
        tiny_model,
        training={"epochs": 30, "learning_rate": 0.02, "batch_size": 8, "gradient_accumulation": 1},
        evaluation={"strategy": "steps", "every_steps": 2},
        early_stopping={"patience": 2, "min_delta": 0.0},
    )
    result, _, run_dir = run_train(tmp_path, config, train_rows=train_rows, eval_rows=eval_rows)
    evals = metrics(run_dir, "eval")
    assert result["status"] == "early_stopped"
    assert result["global_step"] < result["max_steps"]
    best = min(evals, key=lambda record: record["eval_loss"])
    assert result["best_checkpoint"].endswith(f"checkpoint-{best['step']}")
    assert best["step"] < result["global_step"]
    # The final evaluation runs on the restored best model.
    assert result["final_eval_loss"] == pytest.approx(best["eval_loss"], rel=1e-5)


def test_bad_target_modules_name_the_field(tmp_path, tiny_model):
    config = train_config(tiny_model, lora={"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["attention_qkv"], "bias": "none"})
    with pytest.raises(EngineError) as caught:
        run_train(tmp_path, config)
    assert caught.value.field == "lora.target_modules"


def test_qlora_on_cpu_suggests_lora(tmp_path, tiny_model):
    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    config = train_config(tiny_model, method="qlora", quantization={"bits": 4, "quant_type": "nf4", "compute_dtype": "float16", "double_quant": False})
    with pytest.raises(EngineError) as caught:
        run_train(tmp_path, config)
    assert caught.value.code == "qlora_needs_cuda" and "lora" in caught.value.hint


def test_missing_training_file_names_it(tmp_path, tiny_model):
    params = {"run_dir": str(tmp_path / "run"), "config": train_config(tiny_model), "train_file": str(tmp_path / "nope.jsonl"), "resume": False}
    with pytest.raises(EngineError) as caught:
        train(params, lambda event: None, lambda: False)
    assert caught.value.code == "data_not_found" and caught.value.file.endswith("nope.jsonl")


def test_full_fine_tuning_saves_a_model_folder(tmp_path, tiny_model):
    result, _, run_dir = run_train(tmp_path, train_config(tiny_model, method="full", training={"epochs": 1, "learning_rate": 0.001}))
    assert result["status"] == "completed"
    assert result["parameters"]["trainable"] == result["parameters"]["total"]
    assert (run_dir / "model" / "model.safetensors").is_file() and not (run_dir / "adapter").exists()


def test_plan_time_budget_fits_the_steps_evaluations_and_saves_into_the_budget():
    from reviewtune_engine.train import PLANNED_EVALUATIONS, plan_time_budget

    plan = plan_time_budget(600.0, 50.0, 2.0, eval_examples=96, examples_per_step=8, steps_per_epoch=1000, epochs=3)
    eval_seconds = 2.0 * 96 / 8 / 3  # forward only: a third of a trained example
    assert plan["eval_seconds"] == pytest.approx(eval_seconds)
    expected = int((600 - 50 - (PLANNED_EVALUATIONS + 1) * eval_seconds - PLANNED_EVALUATIONS * 2.0) // 2.0)
    assert plan["steps"] == expected
    assert plan["eval_every"] == -(-expected // PLANNED_EVALUATIONS)
    # never more than the configured epochs
    assert plan_time_budget(600.0, 0.0, 0.01, 0, 8, steps_per_epoch=5, epochs=2)["steps"] == 10
    with pytest.raises(EngineError) as error:
        plan_time_budget(30.0, 29.0, 2.0, 0, 8, 100, 3)
    assert error.value.code == "budget_too_short" and "--time-budget" in error.value.hint
    assert "evaluation.max_examples" not in error.value.hint  # no evaluations: they are not the cost
    # 90 s where 5 evaluations of 2,000 examples need ~830 s: the message says so, the hint names the setting.
    with pytest.raises(EngineError) as error:
        plan_time_budget(90.0, 10.0, 2.0, 2000, 8, 100, 3)
    assert "5 evaluations on 2000 validation examples would take about 833 s" in error.value.message
    # Evaluations on 86 examples take 5 x 7.2 s: half of the 72 s left after loading and saves.
    assert "--set evaluation.max_examples=86" in error.value.hint
    assert plan_time_budget(90.0, 10.0, 2.0, 86, 8, 100, 3)["steps"] >= 15
    with pytest.raises(EngineError) as error:  # no validation set: no evaluations in the message
        plan_time_budget(30.0, 29.0, 2.0, 0, 8, 100, 3)
    assert "evaluations" not in error.value.message and "one step takes 2.0 s" in error.value.message


def test_time_budget_plans_from_timed_steps_and_ends_with_the_best_checkpoint(tmp_path, tiny_model):
    config = train_config(tiny_model)
    config["training"]["epochs"] = 50
    config["training"]["time_budget_seconds"] = 25.0
    result, events, run_dir = run_train(tmp_path, config, train_rows=sentiment_rows(64))
    budget = result["time_budget"]
    assert budget is not None and budget["planned_steps"] >= 1
    assert result["max_steps"] == budget["planned_steps"]
    assert result["status"] == "completed"
    assert result["wall_seconds"] < 25.0 + 20.0, result  # the final evaluation and save fit (slack for a busy machine)
    assert any("steps planned" in event.get("message", "") for event in events)
    evals = metrics(run_dir, "eval")
    assert len(evals) >= 1 and result["best_eval_loss"] == pytest.approx(min(record["eval_loss"] for record in evals))
    assert json.loads((run_dir / "time-budget-plan.json").read_text())["steps"] == budget["planned_steps"]


@pytest.mark.parametrize("kind", ["linear", "cosine", "constant_with_warmup", "constant"])
def test_the_time_budget_schedule_is_the_trainers_schedule_over_its_total(kind):
    from transformers import get_scheduler

    from reviewtune_engine.train import _Schedule

    parameter = torch.nn.Parameter(torch.zeros(1))
    reference = get_scheduler(kind, torch.optim.SGD([parameter], lr=1.0), num_warmup_steps=5, num_training_steps=40)
    schedule = _Schedule(kind, 5, 40)
    for step in range(41):
        assert schedule.factor(step) == pytest.approx(reference.lr_lambdas[0](step), abs=1e-9), step


def slower_than_planned(monkeypatch, seconds_per_step: float):
    """The timed steps promise far more steps than fit (a CPU that got busy after the plan was
    made): each planned step is timed at 5 ms, each real one takes `seconds_per_step` more."""
    from reviewtune_engine import train as train_module

    monkeypatch.setattr(train_module, "time_one_step", lambda *args, **kwargs: 0.005)
    original = train_module._AtomicCheckpointTrainer.training_step

    def slow_step(self, *args, **kwargs):
        time.sleep(seconds_per_step)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(train_module._AtomicCheckpointTrainer, "training_step", slow_step)


def test_a_time_budget_run_slower_than_its_timed_steps_ends_its_schedule_on_the_steps_that_fit(tmp_path, tiny_model, monkeypatch):
    slower_than_planned(monkeypatch, 0.08)
    config = train_config(tiny_model)
    config["training"]["epochs"] = 50
    config["training"]["time_budget_seconds"] = 20.0
    result, events, run_dir = run_train(tmp_path, config, train_rows=sentiment_rows(64))
    budget = result["time_budget"]
    assert budget["planned_steps"] == 400  # 64 rows / 8 per step x 50 epochs: the plan's cap
    replanned = budget["replanned_steps"]
    assert replanned is not None and 10 < replanned < 400, budget
    assert result["global_step"] == replanned and not budget["stopped_by_budget"], result
    assert result["status"] == "completed", "the run did what its budget allowed: not an early stop"
    assert [event for event in events if event["kind"] == "progress"][-1]["max_steps"] == replanned
    assert result["wall_seconds"] < 20.0 + 15.0, result
    # The schedule decayed to the last step, which was evaluated and saved (the best checkpoint is one of those).
    lrs = [record["learning_rate"] for record in metrics(run_dir, "train")]
    assert lrs[-1] < 0.02 * 2 / replanned + 1e-9 and max(lrs) > 0.02 * 0.5, lrs[-5:]
    assert metrics(run_dir, "eval")[-1]["step"] == replanned
    assert any("of the 400 planned steps fit" in event.get("message", "") for event in events)
    assert json.loads((run_dir / "time-budget-plan.json").read_text())["replanned_steps"] == replanned


def test_a_time_budget_run_stopped_by_its_deadline_before_any_evaluation_still_ends_on_an_evaluated_checkpoint(tmp_path, tiny_model, monkeypatch):
    from reviewtune_engine import train as train_module

    # A plan of far more steps than fit, no re-planning, slow steps: the deadline stops the run
    # before the first planned evaluation (what a heavily loaded machine does to a short budget).
    slower_than_planned(monkeypatch, 0.3)
    monkeypatch.setattr(train_module, "REPLAN_AFTER_STEPS", 10**6)
    config = train_config(tiny_model)
    config["training"]["epochs"] = 50
    config["training"]["time_budget_seconds"] = 20.0  # loading included: at most ~60 steps of 0.3 s
    result, _, run_dir = run_train(tmp_path, config, train_rows=sentiment_rows(64))
    budget = result["time_budget"]
    assert budget["stopped_by_budget"] and result["global_step"] < 100, result  # the first evaluation was due at step 100
    assert result["status"] == "completed"
    evals = metrics(run_dir, "eval")
    assert [record["step"] for record in evals] == [result["global_step"]], evals
    assert result["best_eval_loss"] == pytest.approx(evals[0]["eval_loss"])


def test_an_adapter_of_the_embedded_model_names_its_hub_id_and_still_loads_over_it(tmp_path, tiny_model):
    import shutil

    from reviewtune_engine.adapters import _check_base
    from reviewtune_engine.testing import make_tiny_adapter

    adapter = make_tiny_adapter(tiny_model, tmp_path / "adapter", seed=1)
    # As if trained on the embedded model, whose base is a folder in this machine's cache.
    embedded = ResolvedModel("smollm2-135m-instruct", "embedded", str(tiny_model))
    record_base(adapter, embedded)
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == EMBEDDED_HUB_IDS["smollm2-135m-instruct"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    # PEFT's model card beside it names the hub id too, not the cache folder it was loaded from.
    card = (adapter / "README.md").read_text()
    assert "base_model: HuggingFaceTB/SmolLM2-135M-Instruct\n" in card and "- base_model:adapter:HuggingFaceTB/SmolLM2-135M-Instruct\n" in card
    assert str(tiny_model) not in card
    base = json.loads((adapter / BASE_FILE).read_text())
    assert base == {"source": "smollm2-135m-instruct", "kind": "embedded", "local_path": str(Path(tiny_model).resolve()), "hub_id": "HuggingFaceTB/SmolLM2-135M-Instruct", "revision": None}
    # The engine still takes it over the embedded model (it compares the hub id), and refuses another base.
    cache = ModelCache()
    cache.resolved = embedded
    _check_base(adapter, cache)
    cache.resolved = ResolvedModel("Qwen/Qwen2.5-0.5B-Instruct", "hub", "Qwen/Qwen2.5-0.5B-Instruct")
    with pytest.raises(EngineError) as error:
        _check_base(adapter, cache)
    assert error.value.code == "adapter_wrong_base"
    shutil.rmtree(adapter)


def test_the_final_evaluation_is_a_seeded_sample_sized_to_the_training(tmp_path, tiny_model):
    # 2 steps of 8 examples: without evaluation.max_examples, 256 of the 400 validation rows are scored, and the time is said first.
    config = train_config(tiny_model, training={"max_steps": 2}, evaluation={"strategy": "no"})
    result, events, _ = run_train(tmp_path, config, eval_rows=sentiment_rows(400, offset=1000))
    messages = [event["message"] for event in events if event["kind"] == "status"]
    assert any(message.startswith("evaluating on a seeded sample of 256 validation examples") for message in messages), messages
    assert any(message.startswith("final evaluation on 256 validation examples, about ") for message in messages), messages
    assert result["final_eval_loss"] is not None
    assert default_max_eval(480) == 256 and default_max_eval(80_000) == 20_000


def test_weights_evaluated_at_the_last_step_are_not_evaluated_again(tmp_path, tiny_model):
    # Evaluations at steps 2 and 4 of 4: the final figure is step 4's, said and logged, not a second pass over the same examples.
    config = train_config(tiny_model, training={"max_steps": 4}, evaluation={"strategy": "steps", "every_steps": 2})
    result, events, run_dir = run_train(tmp_path, config, eval_rows=sentiment_rows(40, offset=1000))
    last = metrics(run_dir, "eval")[-1]
    assert last["step"] == 4
    assert result["final_eval_loss"] == last["eval_loss"]
    assert [record["eval_loss"] for record in metrics(run_dir, "final_eval")] == [last["eval_loss"]]
    messages = [event["message"] for event in events if event["kind"] == "status"]
    assert f"final evaluation: step 4's evaluation was of these weights (eval loss {last['eval_loss']:.4f}), not run again" in messages, messages
    assert not any(message.startswith("final evaluation on") for message in messages), messages
    # Without an evaluation during training the final one runs: test_the_final_evaluation_is_a_seeded_sample_sized_to_the_training.


def test_cancel_reaches_the_final_evaluation_and_keeps_the_trained_weights(tmp_path, tiny_model):
    # Cancel as soon as the final evaluation is announced: it stops between batches, the adapter is still saved.
    config = train_config(tiny_model, training={"max_steps": 2}, evaluation={"strategy": "no", "max_examples": 400})
    cancelled = {"now": False}

    def watch(event: dict) -> None:
        if event["kind"] == "status" and event["message"].startswith("final evaluation on"):
            cancelled["now"] = True

    result, events, _ = run_train(tmp_path, config, eval_rows=sentiment_rows(400, offset=1000), watch=watch, is_cancelled=lambda: cancelled["now"])
    assert result["status"] == "completed" and result["final_eval_loss"] is None
    assert (tmp_path / "run" / "adapter" / "adapter_model.safetensors").is_file()
    assert any(event.get("message") == "final evaluation cancelled: the trained weights are saved without it" for event in events)


@pytest.mark.parametrize("seen, saved", [(4, 5), (5, 6)])
def test_a_cancel_saves_a_checkpoint_to_resume_from_and_keep_1_keeps_it(tmp_path, tiny_model, seen, saved):
    # checkpoints.keep=1 with evaluations: the Trainer's own limit of 1 deleted every checkpoint but the
    # best when training ended, the one saved at the cancel included, and --resume had nothing newer.
    # A cancel on an evaluation's step saves without evaluating (it evaluated, then dropped the step).
    config = train_config(tiny_model, training={"max_steps": 9, "batch_size": 4, "gradient_accumulation": 1}, evaluation={"strategy": "steps", "every_steps": 3}, checkpoints={"keep": 1})
    steps: list[int] = []

    def watch(event: dict) -> None:
        if event["kind"] == "progress":
            steps.append(event["step"])

    # Cancelled once step `seen` is reported, which the next step's end sees.
    result, _, _ = run_train(tmp_path, config, train_rows=sentiment_rows(40), watch=watch, is_cancelled=lambda: bool(steps) and steps[-1] >= seen)
    kept = sorted(folder.name for folder in (tmp_path / "run" / "checkpoints").iterdir())
    assert result["status"] == "cancelled"
    assert latest_complete_checkpoint(tmp_path / "run" / "checkpoints").name == f"checkpoint-{saved}", kept
    assert len(kept) <= 2, kept  # the newest and the best, no more


def test_cancel_during_an_evaluation_stops_it_between_batches(tmp_path, tiny_model):
    # is_cancelled is asked once per step end, then once per evaluation batch: the 5th ask falls inside
    # the first evaluation (after step 2, 16 batches of 4), which must stop there, not run to its end.
    config = train_config(tiny_model, training={"max_steps": 4}, evaluation={"strategy": "steps", "every_steps": 2})
    asked = {"count": 0}

    def is_cancelled() -> bool:
        asked["count"] += 1
        return asked["count"] >= 5

    result, events, _ = run_train(tmp_path, config, eval_rows=sentiment_rows(64, offset=1000), is_cancelled=is_cancelled)
    assert result["status"] == "cancelled" and result["global_step"] == 2
    assert asked["count"] == 5, "the evaluation stopped at the batch after the cancel"
    assert metrics(tmp_path / "run", "eval") == []
    assert any(event.get("message") == "cancelled during an evaluation; --resume continues from the last checkpoint" for event in events)


def test_activation_checkpointing_trains_the_same_curve_and_the_profile_names_each_stage(tmp_path, tiny_model):
    """Recomputing activations in the backward pass changes where memory goes, not what is learnt:
    the same losses to float tolerance (dropout off, so the recomputed forward is the same one)."""
    (tmp_path / "plain").mkdir()
    (tmp_path / "checkpointed").mkdir()
    plain, _, plain_dir = run_train(tmp_path / "plain", train_config(tiny_model, training={"max_steps": 4}))
    checkpointed, _, checkpointed_dir = run_train(tmp_path / "checkpointed", train_config(tiny_model, training={"max_steps": 4, "activation_checkpointing": True}))
    assert [record["loss"] for record in metrics(checkpointed_dir, "train")] == pytest.approx([record["loss"] for record in metrics(plain_dir, "train")], rel=1e-4)
    assert checkpointed["final_eval_loss"] == pytest.approx(plain["final_eval_loss"], rel=1e-4)
    phases = [mark["phase"] for mark in checkpointed["memory_profile"]]
    assert phases == ["start", "tokenizer and data", "model", "first training step", "training", "final evaluation and save"]
    assert all(mark["peak_bytes"] >= mark["bytes"] > 0 for mark in checkpointed["memory_profile"])
    peaks = [mark["peak_bytes"] for mark in checkpointed["memory_profile"]]
    assert peaks == sorted(peaks) and peaks[-1] == checkpointed["peak_memory_bytes"]


def test_activation_checkpointing_is_on_in_the_model_that_trains(tmp_path, tiny_model, monkeypatch):
    seen = {}
    original = train_module.Trainer.training_step

    def spy(self, model, *args, **kwargs):
        seen.setdefault("checkpointing", model.is_gradient_checkpointing)
        return original(self, model, *args, **kwargs)

    monkeypatch.setattr(train_module.Trainer, "training_step", spy)
    run_train(tmp_path, train_config(tiny_model, training={"max_steps": 1, "activation_checkpointing": True}), eval_rows=False)
    assert seen["checkpointing"] is True


def test_precision_auto_is_bf16_only_where_the_cpu_computes_it(monkeypatch):
    assert train_module.resolve_precision("fp32") == "fp32"
    assert train_module.resolve_precision("bf16") == "bf16"
    monkeypatch.setattr(train_module, "native_bf16", lambda: True)
    assert train_module.resolve_precision("auto") == ("fp32" if torch.cuda.is_available() else "bf16")
    monkeypatch.setattr(train_module, "native_bf16", lambda: False)
    assert train_module.resolve_precision("auto") == "fp32"


def test_a_bf16_run_learns_the_fp32_curve_within_bfloat16s_precision_and_says_so(tmp_path, tiny_model):
    """bf16 autocast computes the matmuls in bfloat16 (8 bits of mantissa): the curve is the fp32
    one's to a few percent, not to float tolerance, and the weights stay float32."""
    (tmp_path / "fp32").mkdir()
    (tmp_path / "bf16").mkdir()
    fp32, _, fp32_dir = run_train(tmp_path / "fp32", train_config(tiny_model, training={"max_steps": 6}))
    bf16, _, bf16_dir = run_train(tmp_path / "bf16", train_config(tiny_model, training={"max_steps": 6, "precision": "bf16"}))
    assert (fp32["precision"], bf16["precision"]) == ("fp32", "bf16")
    fp32_losses = [record["loss"] for record in metrics(fp32_dir, "train")]
    bf16_losses = [record["loss"] for record in metrics(bf16_dir, "train")]
    assert bf16_losses != fp32_losses  # it did compute in bf16
    assert bf16_losses == pytest.approx(fp32_losses, rel=0.05)
    assert bf16_losses[-1] < bf16_losses[0] * 0.8
    assert bf16["final_eval_loss"] == pytest.approx(fp32["final_eval_loss"], rel=0.05)
    from safetensors.torch import load_file

    assert {tensor.dtype for tensor in load_file(bf16_dir / "adapter" / "adapter_model.safetensors").values()} == {torch.float32}


def test_a_time_budget_times_its_steps_in_the_runs_precision(tmp_path, tiny_model, monkeypatch):
    seen = []
    original = train_module.time_one_step

    def spy(*args, **kwargs):
        seen.append(args[-1] if len(args) > 7 else kwargs.get("bf16"))
        return original(*args, **kwargs)

    monkeypatch.setattr(train_module, "time_one_step", spy)
    run_train(tmp_path, train_config(tiny_model, training={"time_budget_seconds": 30, "precision": "bf16"}))
    assert seen == [True]
