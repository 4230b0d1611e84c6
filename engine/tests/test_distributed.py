"""Training on two processes (torchrun, gloo on this CPU): the engine's own launcher, the same
train() on each rank. The run is one distributed run (world size 2, accelerate's MULTI_CPU), its
loss curve is the one-process curve of the same global batch, and a cancel stops every rank on the
same step with a checkpoint that --resume continues to the same curve."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import sentiment_rows, train_config, write_jsonl
from reviewtune_engine import distributed
from reviewtune_engine.errors import EngineError
from reviewtune_engine.train import COMPLETE_MARKER, train

TWO = {"nproc_per_node": 2, "strategy": "ddp"}


def params(tmp_path: Path, run: str, config: dict, resume: bool = False) -> dict:
    return {
        "run_dir": str(tmp_path / run),
        "config": config,
        "train_file": write_jsonl(tmp_path / "train.jsonl", sentiment_rows(32)),
        "eval_file": write_jsonl(tmp_path / "val.jsonl", sentiment_rows(8, offset=100)),
        "resume": resume,
    }


def losses(run_dir: Path) -> list[tuple[int, float]]:
    records = map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines())
    return [(record["step"], record["loss"]) for record in records if record["kind"] == "train"]


def test_two_processes_train_as_one_with_the_same_global_batch(tmp_path, tiny_model):
    one = train(params(tmp_path, "one", train_config(tiny_model, training={"batch_size": 4})), lambda event: None, lambda: False)
    events: list[dict] = []
    two = distributed.launch(params(tmp_path, "two", train_config(tiny_model, training={"batch_size": 2}, distributed=TWO)), events.append, lambda: False)
    assert two["distributed"] == {"world_size": 2, "nnodes": 1, "nproc_per_node": 2, "strategy": "ddp", "backend": "gloo", "mode": "MULTI_CPU"}
    assert one.get("distributed") is None
    assert two["status"] == "completed" and two["global_step"] == one["global_step"] == 12
    curve_one, curve_two = losses(tmp_path / "one"), losses(tmp_path / "two")
    assert [step for step, _ in curve_two] == [step for step, _ in curve_one]  # rank 0 alone wrote metrics.jsonl, once a step
    assert [loss for _, loss in curve_two] == pytest.approx([loss for _, loss in curve_one], rel=1e-4)
    assert two["final_eval_loss"] == pytest.approx(one["final_eval_loss"], rel=1e-4)
    # Both ranks' tokens are counted: the same tokens as one process trained on.
    assert two["train_tokens"] == one["train_tokens"]
    assert (tmp_path / "two" / "adapter" / "adapter_model.safetensors").is_file()
    assert events[0]["kind"] == "status" and "torchrun --standalone --nproc-per-node=2" in events[0]["message"]
    assert [event["step"] for event in events if event["kind"] == "progress"][-1] == 12


def test_a_cancel_stops_both_ranks_on_one_step_and_resume_continues_the_curve(tmp_path, tiny_model):
    config = train_config(tiny_model, training={"batch_size": 2}, distributed=TWO, checkpoints={"keep": 2, "every_steps": 2})
    steps: list[int] = []

    def progress(event: dict) -> None:
        if event["kind"] == "progress":
            steps.append(event["step"])

    first = distributed.launch(params(tmp_path, "run", config), progress, lambda: bool(steps) and steps[-1] >= 5)
    assert first["status"] == "cancelled" and 5 <= first["global_step"] < 12
    checkpoint = tmp_path / "run" / "checkpoints" / f"checkpoint-{first['global_step']}"
    assert (checkpoint / COMPLETE_MARKER).is_file()
    assert {path.name for path in checkpoint.glob("rng_state_*.pth")} == {"rng_state_0.pth", "rng_state_1.pth"}  # each rank's own
    assert not (tmp_path / "run" / "adapter").exists()

    resumed = distributed.launch(params(tmp_path, "run", config, resume=True), lambda event: None, lambda: False)
    assert resumed["status"] == "completed" and resumed["resumed_from_step"] == first["global_step"] and resumed["global_step"] == 12
    whole = distributed.launch(params(tmp_path, "whole", train_config(tiny_model, training={"batch_size": 2}, distributed=TWO)), lambda event: None, lambda: False)
    assert [loss for _, loss in losses(tmp_path / "run")] == pytest.approx([loss for _, loss in losses(tmp_path / "whole")], rel=1e-4)
    assert resumed["final_eval_loss"] == pytest.approx(whole["final_eval_loss"], rel=1e-4)


def test_a_bad_config_fails_on_every_rank_with_the_engines_own_error(tmp_path, tiny_model):
    config = train_config(tiny_model, training={"batch_size": 2}, distributed=TWO, lora={"target_modules": ["no_such_module"]})
    with pytest.raises(EngineError) as raised:
        distributed.launch(params(tmp_path, "bad", config), lambda event: None, lambda: False)
    assert raised.value.code == "bad_config" and raised.value.field == "lora.target_modules"


def test_deepspeed_without_its_package_says_what_to_install(tmp_path, tiny_model):
    pytest.importorskip("torch")
    try:
        import deepspeed  # noqa: F401

        pytest.skip("deepspeed is installed here")
    except ImportError:
        pass
    config = train_config(tiny_model, distributed={"nproc_per_node": 2, "strategy": "deepspeed-zero2"})
    with pytest.raises(EngineError) as raised:
        distributed.launch(params(tmp_path, "ds", config), lambda event: None, lambda: False)
    assert raised.value.code == "missing_package" and "pip install deepspeed" in raised.value.hint


def test_launch_arguments_for_one_node_and_for_several():
    assert distributed.Launch.of({"distributed": {"nproc_per_node": 1}}) is None  # one process: no torchrun
    assert distributed.Launch.of({}) is None
    local = distributed.Launch.of({"distributed": TWO})
    assert local.torchrun_arguments() == ["--standalone", "--nproc-per-node=2"]
    nodes = distributed.Launch.of({"distributed": {"nproc_per_node": 4, "nnodes": 2, "node_rank": 1, "master_addr": "10.0.0.5", "master_port": 29400}})
    assert nodes.world_size == 8
    assert nodes.torchrun_arguments() == ["--nnodes=2", "--nproc-per-node=4", "--node-rank=1", "--master-addr=10.0.0.5", "--master-port=29400"]


def test_strategy_configs_are_the_stock_ones():
    fsdp = distributed.strategy_config("fsdp", "LlamaDecoderLayer")
    assert fsdp["version"] == 2 and fsdp["transformer_layer_cls_to_wrap"] == ["LlamaDecoderLayer"]
    zero3 = distributed.strategy_config("deepspeed-zero3", None)
    assert zero3["zero_optimization"]["stage"] == 3 and zero3["train_micro_batch_size_per_gpu"] == "auto"
    assert distributed.strategy_config("deepspeed-zero2", None)["zero_optimization"]["stage"] == 2
    assert distributed.strategy_config("ddp", None) is None


def test_a_time_budget_on_two_processes_plans_epochs_of_the_global_batch(tmp_path, tiny_model):
    config = train_config(tiny_model, training={"batch_size": 2, "epochs": 2, "time_budget_seconds": 20}, distributed=TWO)
    result = distributed.launch(params(tmp_path, "budget", config), lambda event: None, lambda: False)
    # 32 rows, 2 ranks x batch 2 x accumulation 2 = 8 rows a step: 4 steps an epoch, rank 0's plan for both.
    assert result["status"] == "completed" and result["time_budget"]["planned_steps"] == 8 and result["global_step"] == 8


def test_two_nodes_on_one_host_train_one_run_written_by_node_0(tmp_path, tiny_model):
    """Two launchers, as on two machines (each with its own run folder), meet at node 0's address."""
    import socket
    import threading

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    results: dict[int, dict] = {}
    errors: dict[int, BaseException] = {}

    def node(rank: int) -> None:
        nodes = {"nproc_per_node": 1, "nnodes": 2, "node_rank": rank, "master_addr": "127.0.0.1", "master_port": port}
        try:
            results[rank] = distributed.launch(params(tmp_path, f"node{rank}", train_config(tiny_model, training={"batch_size": 2}, distributed=nodes)), lambda event: None, lambda: False)
        except BaseException as error:  # noqa: BLE001 - the assertion below names it
            errors[rank] = error

    threads = [threading.Thread(target=node, args=(rank,), daemon=True) for rank in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    # torchrun's exit barrier waits 300 s for a node whose launcher failed: a launcher still running
    # at 240 s means one node's ranks did not end cleanly.
    assert not [rank for rank, thread in enumerate(threads) if thread.is_alive()], f"node launchers still running after 240 s; finished: {sorted(results)}, failed: {errors}"
    assert not errors, f"a node's launcher failed: {errors}"
    assert results[0]["distributed"]["world_size"] == 2 and results[0]["distributed"]["nnodes"] == 2
    assert results[0]["status"] == results[1]["status"] == "completed" and results[0]["global_step"] == results[1]["global_step"] == 12
    assert results[0]["adapter_dir"] and (tmp_path / "node0" / "adapter" / "adapter_model.safetensors").is_file()
    assert results[1]["adapter_dir"] is None and not (tmp_path / "node1" / "adapter").exists()
    assert (tmp_path / "node0" / "metrics.jsonl").is_file() and not (tmp_path / "node1" / "metrics.jsonl").exists()


def test_fsdp_on_two_processes_trains_the_same_curve_and_writes_a_whole_adapter(tmp_path, tiny_model):
    one = train(params(tmp_path, "one", train_config(tiny_model, training={"batch_size": 4})), lambda event: None, lambda: False)
    fsdp = distributed.launch(params(tmp_path, "fsdp", train_config(tiny_model, training={"batch_size": 2}, distributed={"nproc_per_node": 2, "strategy": "fsdp"})), lambda event: None, lambda: False)
    assert fsdp["distributed"]["strategy"] == "fsdp" and fsdp["distributed"]["world_size"] == 2
    config = json.loads((tmp_path / "fsdp" / "distributed" / "fsdp.json").read_text())
    assert config["transformer_layer_cls_to_wrap"] == ["LlamaDecoderLayer"]  # the run keeps the config it used
    assert [loss for _, loss in losses(tmp_path / "fsdp")] == pytest.approx([loss for _, loss in losses(tmp_path / "one")], rel=1e-3)
    from safetensors.torch import load_file

    one_weights = load_file(tmp_path / "one" / "adapter" / "adapter_model.safetensors")
    fsdp_weights = load_file(tmp_path / "fsdp" / "adapter" / "adapter_model.safetensors")
    assert fsdp_weights.keys() == one_weights.keys()  # gathered whole, not one rank's shard
    assert all(fsdp_weights[name].shape == one_weights[name].shape for name in one_weights)


def test_early_stopping_on_two_processes_stops_both_where_one_process_does(tmp_path, tiny_model):
    # Train on one answer, evaluate on its opposite: eval loss improves (shared format), then worsens.
    train_rows = [row | {"completion": "Sentiment: positive.<|im_end|>\n"} for row in sentiment_rows(32)]
    eval_rows = [row | {"completion": "Sentiment: negative.<|im_end|>\n"} for row in sentiment_rows(8, offset=100)]

    def run(name: str, batch_size: int, spread: dict | None) -> dict:
        config = train_config(
            tiny_model,
            training={"epochs": 30, "learning_rate": 0.02, "batch_size": batch_size, "gradient_accumulation": 1},
            evaluation={"strategy": "steps", "every_steps": 2},
            early_stopping={"patience": 2, "min_delta": 0.0},
            **({"distributed": spread} if spread else {}),
        )
        request = params(tmp_path, name, config) | {
            "train_file": write_jsonl(tmp_path / f"{name}-train.jsonl", train_rows),
            "eval_file": write_jsonl(tmp_path / f"{name}-val.jsonl", eval_rows),
        }
        return distributed.launch(request, lambda event: None, lambda: False) if spread else train(request, lambda event: None, lambda: False)

    one = run("one", 8, None)
    two = run("two", 4, TWO)
    assert one["status"] == two["status"] == "early_stopped"
    assert two["global_step"] == one["global_step"] < two["max_steps"]
    assert Path(two["best_checkpoint"]).name == Path(one["best_checkpoint"]).name  # the same best step, restored
    assert two["final_eval_loss"] == pytest.approx(one["final_eval_loss"], rel=1e-4)
