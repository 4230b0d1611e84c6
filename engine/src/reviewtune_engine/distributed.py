"""Training on several processes, GPUs or nodes: the engine launches `torchrun`, whose workers run
the same train() as one process does; the Trainer (through accelerate) then trains with DDP, FSDP or
DeepSpeed ZeRO over NCCL on GPUs or gloo on CPUs.

The launcher (the engine process the client talks to) writes the request into the run folder,
starts `python -m torch.distributed.run ... -m reviewtune_engine.distributed <request>` in its own
session (so the terminal's Ctrl-C reaches the client, which turns it into a `cancel`, and not
torchrun, which would kill its workers without a checkpoint), relays the protocol lines of the
global rank 0 (events, then the result), and turns a cancel into a file the workers watch. The
workers agree on every decision that ends or shapes a step (cancel, the time budget's schedule)
through a collective, so no rank waits alone in an all-reduce; only rank 0 writes the run folder's
metrics, checkpoints' markers and the adapter (each rank writes its own RNG state into checkpoints,
which resume reads back).

Facts this relies on (transformers 5 / accelerate 1.x sources): on a host without CUDA, accelerate
chooses MULTI_CPU (gloo) only with use_cpu (ACCELERATE_USE_CPU=true), otherwise each rank trains
alone; LoRA under DDP wants ddp_find_unused_parameters=False; the Trainer divides the loss by the
labelled tokens of all ranks (average_tokens_across_devices), so two processes of batch b train as
one of batch 2b; accelerate shards a seeded sampler's batches, so the global batches are the same.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from reviewtune_engine import files
from reviewtune_engine.errors import EngineError

log = logging.getLogger("reviewtune.engine.distributed")

STRATEGIES = ("ddp", "fsdp", "deepspeed-zero2", "deepspeed-zero3")
FOLDER = "distributed"  # in the run folder: the request, the strategy's config, the cancel flag
REQUEST_FILE = "request.json"
CANCEL_FILE = "cancel"
LAUNCHER_PID = "REVIEWTUNE_LAUNCHER_PID"
CANCEL_POLL_SECONDS = 0.2


# ---- where a process stands -------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    """This process's place among the training processes. One process is rank 0 of 1, and every
    collective is then the identity, so train() reads the same either way."""

    rank: int = 0
    local_rank: int = 0
    size: int = 1

    @classmethod
    def from_environment(cls) -> World:
        """The place torchrun gave this process (RANK, LOCAL_RANK, WORLD_SIZE)."""
        return cls(int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0")), int(os.environ.get("WORLD_SIZE", "1")))

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @property
    def writer(self) -> bool:
        """The one process that writes the run folder (metrics, markers, the adapter)."""
        return self.rank == 0

    def barrier(self) -> None:
        if self.distributed:
            import torch.distributed as dist

            dist.barrier()

    def _reduce(self, values: list[float], op: str) -> list[float]:
        if not self.distributed:
            return list(values)
        import torch
        import torch.distributed as dist

        tensor = torch.tensor(values, dtype=torch.float64)
        if dist.get_backend() == "nccl":
            tensor = tensor.cuda()
        dist.all_reduce(tensor, op=getattr(dist.ReduceOp, op))
        return tensor.cpu().tolist()

    def sum(self, values: list[float]) -> list[float]:
        return self._reduce(values, "SUM")

    def max(self, values: list[float]) -> list[float]:
        return self._reduce(values, "MAX")

    def any(self, flag: bool) -> bool:
        return self.max([1.0 if flag else 0.0])[0] > 0

    def from_writer(self, value):
        """Rank 0's `value` on every rank (decisions that depend on its clock, such as a time budget's)."""
        if not self.distributed:
            return value
        import torch.distributed as dist

        holder = [value]
        dist.broadcast_object_list(holder, src=0)
        return holder[0]


SINGLE = World()


# ---- what was asked for -----------------------------------------------------------------------


@dataclass(frozen=True)
class Launch:
    """config.distributed as the engine reads it (contracts DistributedConfigSchema)."""

    nproc_per_node: int = 1
    nnodes: int = 1
    node_rank: int = 0
    master_addr: str = "127.0.0.1"
    master_port: int | None = None
    strategy: str = "ddp"

    @classmethod
    def of(cls, config: dict) -> Launch | None:
        """The launch a training config asks for; None for one process."""
        raw = config.get("distributed")
        if not raw:
            return None
        launch = cls(
            nproc_per_node=raw.get("nproc_per_node", 1),
            nnodes=raw.get("nnodes", 1),
            node_rank=raw.get("node_rank", 0),
            master_addr=raw.get("master_addr", "127.0.0.1"),
            master_port=raw.get("master_port"),
            strategy=raw.get("strategy", "ddp"),
        )
        return launch if launch.world_size > 1 or launch.strategy != "ddp" else None

    @property
    def world_size(self) -> int:
        return self.nproc_per_node * self.nnodes

    def torchrun_arguments(self) -> list[str]:
        """torchrun's options. One node without a port: --standalone (a free local port, so two runs
        on one machine never collide); otherwise the static rendezvous every node is given."""
        if self.nnodes == 1 and self.master_port is None:
            return ["--standalone", f"--nproc-per-node={self.nproc_per_node}"]
        return [
            f"--nnodes={self.nnodes}",
            f"--nproc-per-node={self.nproc_per_node}",
            f"--node-rank={self.node_rank}",
            f"--master-addr={self.master_addr}",
            f"--master-port={self.master_port or 29500}",
        ]


def backend() -> str:
    import torch

    return "nccl" if torch.cuda.is_available() else "gloo"


# The stock configurations: accelerate's FSDP defaults for a transformers model (wrap each decoder
# layer, FSDP2, full state dict for saving) and DeepSpeed's ZeRO configs with "auto" values that the
# Trainer fills from its own arguments (batch sizes, accumulation, clipping, precision).
def strategy_config(strategy: str, layer_class: str | None) -> dict | None:
    if strategy == "fsdp":
        config = {"version": 2, "auto_wrap_policy": "TRANSFORMER_BASED_WRAP", "reshard_after_forward": True, "state_dict_type": "FULL_STATE_DICT", "cpu_ram_efficient_loading": False}
        if layer_class:
            config["transformer_layer_cls_to_wrap"] = [layer_class]
        return config
    if strategy in ("deepspeed-zero2", "deepspeed-zero3"):
        stage = 2 if strategy == "deepspeed-zero2" else 3
        zero: dict = {"stage": stage, "overlap_comm": True, "contiguous_gradients": True, "reduce_bucket_size": "auto"}
        if stage == 3:
            zero.update(stage3_prefetch_bucket_size="auto", stage3_param_persistence_threshold="auto", stage3_gather_16bit_weights_on_model_save=True)
        return {
            "zero_optimization": zero,
            "bf16": {"enabled": "auto"},
            "fp16": {"enabled": "auto"},
            "train_micro_batch_size_per_gpu": "auto",
            "gradient_accumulation_steps": "auto",
            "gradient_clipping": "auto",
            "train_batch_size": "auto",
        }
    return None


def strategy_file(run_dir: Path, strategy: str) -> Path:
    return run_dir / FOLDER / ("fsdp.json" if strategy == "fsdp" else "deepspeed.json")


def training_arguments(launch: Launch | None, world: World, run_dir: Path) -> dict:
    """What TrainingArguments gets for the launch: DDP's settings, or the strategy's config file."""
    if launch is None or not world.distributed:
        return {}
    # With several nodes each keeps its own checkpoints (run folders need not be shared), so every
    # node can resume; the metrics and the final weights are node 0's.
    arguments: dict = {"ddp_find_unused_parameters": False, "ddp_backend": backend(), "save_on_each_node": launch.nnodes > 1}
    if launch.strategy == "fsdp":
        config = json.loads(strategy_file(run_dir, "fsdp").read_text())
        arguments.update(fsdp="full_shard auto_wrap", fsdp_config=config)
    elif launch.strategy.startswith("deepspeed"):
        arguments["deepspeed"] = str(strategy_file(run_dir, launch.strategy))
    return arguments


def _check_strategy(launch: Launch) -> None:
    if launch.strategy.startswith("deepspeed"):
        try:
            import deepspeed  # noqa: F401
        except ImportError as error:
            raise EngineError(
                "missing_package",
                f"--distributed {launch.strategy} needs the deepspeed package, which the engine environment does not have",
                hint="pip install deepspeed into the engine environment (it builds CUDA kernels: a GPU machine), or use --distributed ddp or fsdp",
                field="distributed.strategy",
            ) from error


def _decoder_layer_class(config: dict) -> str | None:
    """The class of the model's decoder layer (what FSDP wraps), from its config without loading weights."""
    try:
        from transformers import AutoConfig

        from reviewtune_engine import models

        reference = config["model"]
        resolved = models.resolve(reference["source"], allow_pickle=reference.get("allow_pickle", False), revision=reference.get("revision"))
        architecture = (AutoConfig.from_pretrained(resolved.path, gguf_file=resolved.gguf_file).architectures or [""])[0]
        return architecture.replace("ForCausalLM", "DecoderLayer").replace("ForSequenceClassification", "DecoderLayer") or None
    except Exception:  # noqa: BLE001 - FSDP then wraps by accelerate's own default policy
        return None


# ---- the launcher -----------------------------------------------------------------------------


def launch(params: dict, emit: Callable[[dict], None], is_cancelled: Callable[[], bool]) -> dict:
    """Runs the train request under torchrun and returns rank 0's result (or raises its error)."""
    import torch

    plan = Launch.of(params["config"])
    assert plan is not None
    _check_strategy(plan)
    run_dir = Path(params["run_dir"])
    folder = run_dir / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    cancel_file = folder / CANCEL_FILE
    cancel_file.unlink(missing_ok=True)
    request_file = folder / REQUEST_FILE
    files.write_json_atomic(request_file, params)
    config = strategy_config(plan.strategy, _decoder_layer_class(params["config"]) if plan.strategy == "fsdp" else None)
    if config is not None:
        files.write_json_atomic(strategy_file(run_dir, plan.strategy), config)

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    threads = params["config"]["training"].get("threads") or max(1, cores // plan.nproc_per_node)
    env = {**os.environ, LAUNCHER_PID: str(os.getpid()), "OMP_NUM_THREADS": str(threads), "PYTHONUNBUFFERED": "1"}
    if not torch.cuda.is_available():
        env["ACCELERATE_USE_CPU"] = "true"  # else accelerate leaves each rank to train alone
    command = [sys.executable, "-m", "torch.distributed.run", *plan.torchrun_arguments(), "--max-restarts=0", "-m", "reviewtune_engine.distributed", str(request_file)]
    emit({"kind": "status", "message": f"launching {plan.world_size} training processes ({plan.strategy}, {backend()}): torchrun {' '.join(plan.torchrun_arguments())}"})
    log.info("launching: %s", " ".join(command))
    # Its own session: the terminal's Ctrl-C goes to the client (a cancel, which saves a checkpoint),
    # not to torchrun (which would kill the workers on the spot).
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, text=True, start_new_session=True)
    done = threading.Event()

    def relay_cancel() -> None:
        while not done.wait(CANCEL_POLL_SECONDS):
            if is_cancelled() and not cancel_file.exists():
                cancel_file.touch()

    threading.Thread(target=relay_cancel, daemon=True).start()
    result, error = None, None
    try:
        for line in process.stdout:
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                sys.stderr.write(line)
                continue
            if message.get("type") == "event":
                emit(message["event"])
            elif message.get("type") == "result":
                result = message["result"]
            elif message.get("type") == "error":
                error = message["error"]
        code = process.wait()
    except BaseException:
        os.killpg(process.pid, signal.SIGTERM)
        raise
    finally:
        done.set()
        cancel_file.unlink(missing_ok=True)
    if error is not None:
        raise EngineError(error["code"], error["message"], hint=error.get("hint"), field=error.get("field"), file=error.get("file"))
    if result is None:
        raise EngineError(
            "distributed_failed",
            f"the {plan.world_size} training processes ended (torchrun exit code {code}) without a result",
            hint="the engine log (--verbose) has each rank's traceback; a rank that died takes the others with it",
        )
    return result


# ---- a worker (one rank, started by torchrun) ---------------------------------------------------


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def worker(request_file: str) -> int:
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", buffering=1)
    sys.stdout = sys.stderr  # stdout carries protocol lines only
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # cancel arrives as a file, so that every rank stops on the same step
    world = World.from_environment()
    logging.basicConfig(level=os.environ.get("REVIEWTUNE_ENGINE_LOG", "INFO"), stream=sys.stderr, format=f"[engine rank {world.rank}] %(levelname)s %(name)s: %(message)s")
    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    import torch.distributed as dist
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    if torch.cuda.is_available():
        torch.cuda.set_device(world.local_rank)
    dist.init_process_group(backend=backend())

    def send(message: dict) -> None:
        out.write(json.dumps(message, ensure_ascii=False) + "\n")
        out.flush()

    params = json.loads(Path(request_file).read_text())
    cancel_file = Path(params["run_dir"]) / FOLDER / CANCEL_FILE
    launcher = int(os.environ.get(LAUNCHER_PID, "0"))
    warned = []

    def is_cancelled() -> bool:
        if cancel_file.exists():
            return True
        if launcher and not _alive(launcher):  # the engine that launched us died: stop with a checkpoint
            if not warned:
                warned.append(True)
                log.warning("the launching engine (pid %d) is gone: cancelling", launcher)
            return True
        return False

    def emit(event: dict) -> None:
        if world.writer:
            send({"type": "event", "event": event})

    from reviewtune_engine.train import train

    code = 0
    try:
        result = train(params, emit, is_cancelled, world=world)
        # Node 0's launcher gets rank 0's result; another node's gets its first rank's (no weights: node 0 wrote them).
        if world.local_rank == 0:
            send({"type": "result", "result": result})
    except EngineError as error:
        if world.local_rank == 0:
            send({"type": "error", "error": error.to_body()})
        code = 1
    except Exception as error:  # noqa: BLE001 - reported, then the rank exits and torchrun stops the rest
        log.error("rank %d failed:\n%s", world.rank, traceback.format_exc())
        if world.local_rank == 0:
            send({"type": "error", "error": EngineError("internal", f"rank {world.rank}: {type(error).__name__}: {error}").to_body()})
        code = 1
    finally:
        out.flush()
    if code == 0:
        dist.destroy_process_group()
    return code


def _exit_now(code: int) -> None:
    """Ends a rank without the interpreter's teardown. DDP's reducer keeps the gloo process group
    alive past destroy_process_group (its two pt_gloo_runloop threads still run: checked on torch
    2.11 with a bare DDP step), and tearing those down at exit can abort the rank ("terminate called
    without an active exception", SIGABRT) after its work is done. On two nodes that abort fails the
    other node's torchrun, whose exit barrier then waits 300 s for a launcher that is gone. Every
    file is written and every message sent by now (worker() flushed the protocol stream; its
    sys.stdout is sys.stderr), so flush the log and leave."""
    logging.shutdown()
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    _exit_now(worker(sys.argv[1]))
