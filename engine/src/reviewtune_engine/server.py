"""The engine process: JSON lines on stdio, one request per line, replies carrying the request's id.

stdout carries protocol messages only (library prints are redirected to stderr); logs go to stderr.
A reader thread takes requests so that `cancel`, `ping` and `shutdown` are answered while a job runs;
jobs (model_info, tokenize, generate, score, embed, load_adapter, train, classify...) run one at a time on the main thread. End of input
means shutdown: the running job is cancelled (training saves a checkpoint first) and the process exits.
"""

from __future__ import annotations

from pathlib import Path

import json
import logging
import os
import platform
import queue
import signal
import sys
import threading
import time
import traceback

from reviewtune_engine import __version__
from reviewtune_engine.errors import EngineError
from reviewtune_engine.protocol import protocol_version, validate_request

log = logging.getLogger("reviewtune.engine")

_IMMEDIATE = {"ping", "cancel", "shutdown"}


class Server:
    def __init__(self, out) -> None:
        self.out = out
        self.write_lock = threading.Lock()
        self.jobs: queue.Queue = queue.Queue()
        self.cancelled: set[str] = set()
        self.current: str | None = None
        self.stopping = threading.Event()
        from reviewtune_engine.models import ModelCache

        self.cache = ModelCache()
        from reviewtune_engine.classification import ClassifierCache

        self.classifiers = ClassifierCache()  # classification runs, kept apart from the generating model
        # The threads the engine started with, and whether serving requests follow the free cores (see serving_cores).
        self.threads = 1
        self.free_cores = None

    def follow_cores(self) -> None:
        """Serving on a shared CPU: torch's threads set to the cores other processes leave (cpu_share.py)."""
        message = self.free_cores and self.free_cores.follow_said("serving", "serve --threads N")
        if message:
            log.info("%s", message)

    # -- output
    def send(self, message: dict) -> None:
        line = json.dumps(message, ensure_ascii=False)
        with self.write_lock:
            self.out.write(line + "\n")
            self.out.flush()

    def send_error(self, request_id: str | None, error: EngineError) -> None:
        self.send({"type": "error", "id": request_id, "error": error.to_body()})

    # -- input
    def read_loop(self, stream) -> None:
        for line in stream:
            if not line.strip():
                continue
            request_id = None
            try:
                try:
                    request = json.loads(line)
                except json.JSONDecodeError as error:
                    raise EngineError("invalid_request", f"not valid JSON: {error.msg}") from error
                request_id = request.get("id") if isinstance(request, dict) and isinstance(request.get("id"), str) else None
                validate_request(request)
            except EngineError as error:
                self.send_error(request_id, error)
                continue
            method = request["method"]
            if method in _IMMEDIATE:
                self.handle_immediate(request)
            else:
                self.jobs.put(request)
            if self.stopping.is_set():
                return
        self.client_gone()

    def client_gone(self) -> None:
        """End of input, or the parent process died: cancel everything (training saves a checkpoint) and stop."""
        self.stopping.set()
        self.cancelled.update(job["id"] for job in list(self.jobs.queue) if job)
        if self.current is not None:
            self.cancelled.add(self.current)
        self.jobs.put(None)

    def handle_immediate(self, request: dict) -> None:
        method, request_id = request["method"], request["id"]
        if method == "ping":
            self.send({"type": "result", "id": request_id, "result": {"pong": True}})
        elif method == "cancel":
            target = request["params"]["target"]
            known = target == self.current or any(job and job["id"] == target for job in list(self.jobs.queue))
            self.cancelled.add(target)
            self.send({"type": "result", "id": request_id, "result": {"cancelled": known}})
        elif method == "shutdown":  # graceful: queued jobs finish first, nothing new is accepted
            self.stopping.set()
            self.send({"type": "result", "id": request_id, "result": {"stopping": True}})
            self.jobs.put(None)

    # -- jobs
    def run_jobs(self) -> None:
        while True:
            request = self.jobs.get()
            if request is None:
                if self.stopping.is_set():
                    return
                continue
            request_id = request["id"]
            if request_id in self.cancelled:
                self.send_error(request_id, EngineError("cancelled", "cancelled before it started"))
                continue
            self.current = request_id
            try:
                result = self.dispatch(request)
                self.send({"type": "result", "id": request_id, "result": result})
            except EngineError as error:
                self.send_error(request_id, error)
            except Exception as error:  # noqa: BLE001 - anything else is a bug: report it, keep serving
                log.error("request %s (%s) failed:\n%s", request_id, request["method"], traceback.format_exc())
                self.send_error(request_id, EngineError("internal", f"{type(error).__name__}: {error}"))
            finally:
                self.current = None
                self.cancelled.discard(request_id)

    def dispatch(self, request: dict):
        request_id, method, params = request["id"], request["method"], request["params"]

        def emit(event: dict) -> None:
            self.send({"type": "event", "id": request_id, "event": event})

        def is_cancelled() -> bool:
            return request_id in self.cancelled

        if method == "model_info":
            return model_info(params, self.cache)
        if method == "tokenize":
            _, tokenizer = self.cache.get(params["model"])
            ids = tokenizer(params["text"], add_special_tokens=params.get("add_special_tokens", False))["input_ids"]
            return {"ids": ids, "tokens": tokenizer.convert_ids_to_tokens(ids)}
        if method == "count_tokens":
            _, tokenizer = self.cache.get(params["model"])
            encoded = tokenizer(params["texts"], add_special_tokens=params.get("add_special_tokens", False))["input_ids"]
            return {"counts": [len(ids) for ids in encoded]}
        if method in ("generate", "embed", "nearest", "score", "classify"):
            self.follow_cores()
        if method == "generate":
            from reviewtune_engine.generate import generate

            return generate(params, self.cache, emit, is_cancelled, on_step=self.follow_cores)
        if method == "embed":
            from reviewtune_engine.embed import embed

            return embed(params)
        if method == "nearest":
            from reviewtune_engine.embed import nearest

            return nearest(params)
        if method == "load_adapter":
            from reviewtune_engine.adapters import load_adapter

            return load_adapter(params, self.cache)
        if method == "unload_adapter":
            from reviewtune_engine.adapters import unload_adapter

            return unload_adapter(params, self.cache)
        if method == "score":
            from reviewtune_engine.score import score

            return score(params, self.cache, is_cancelled)
        if method == "train":
            from reviewtune_engine import distributed
            from reviewtune_engine.train import train

            self.cache.clear()  # training loads its own copy; free the serving ones first
            self.classifiers.clear()
            import torch

            torch.set_num_threads(self.threads)  # a training starts from every thread (serving may have left fewer)
            if distributed.Launch.of(params["config"]) is not None:
                return distributed.launch(params, emit, is_cancelled)  # torchrun's workers train
            return train(params, emit, is_cancelled)
        if method == "classify":
            from reviewtune_engine.classification import classify

            return classify(params, self.classifiers)
        if method == "export_merged":
            from reviewtune_engine.export import export_merged

            return export_merged(params)
        if method == "requantize_gguf":
            from reviewtune_engine.gguf_quant import requantize_gguf

            return requantize_gguf(params)
        raise EngineError("unknown_method", f"unknown method {method}")


def serving_cores(threads: int):
    """Threads that follow the cores other processes leave while serving (cpu_share.FreeCores), on a
    CPU engine whose thread count was not set (serve/studio --threads sets REVIEWTUNE_THREADS); None
    otherwise. torch's threads wait for each other at every operation: two of them beside a busy
    process decoded 2.5-3x slower than one."""
    import torch

    from reviewtune_engine.cpu_share import CpuReader, FreeCores

    if int(os.environ.get("REVIEWTUNE_THREADS", "0")) or torch.cuda.is_available() or not CpuReader.available() or threads < 2:
        return None
    return FreeCores(most=threads)


def model_info(params: dict, cache) -> dict:
    model, tokenizer = cache.get(params["model"])
    resolved = cache.resolved
    config = model.config
    return {
        "source": resolved.source,
        "kind": resolved.kind,
        "architecture": (config.architectures or [type(model).__name__])[0],
        "parameters": sum(p.numel() for p in model.parameters()),
        "context_length": getattr(config, "max_position_embeddings", None),
        "chat_template": tokenizer.chat_template if isinstance(tokenizer.chat_template, str) else None,
        "bos_token": tokenizer.bos_token,
        "eos_token": tokenizer.eos_token,
        "pad_token": tokenizer.pad_token,
        "load_seconds": round(cache.load_seconds, 3),
        "gguf": _gguf_of(resolved),
    }


def _gguf_of(resolved) -> str | None:
    """The GGUF file the weights came from (the embedded model's packaged file, or a .gguf source): what llama.cpp loads."""
    from reviewtune_engine.models import EMBEDDED_MODELS, embedded_gguf_path

    if resolved.kind == "embedded" and resolved.source in EMBEDDED_MODELS:
        return str(embedded_gguf_path(resolved.source))
    if resolved.gguf_file:
        return str(Path(resolved.path) / resolved.gguf_file)
    return None


def versions() -> dict:
    import accelerate
    import peft
    import torch
    import transformers
    import trl

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "trl": trl.__version__,
        "accelerate": accelerate.__version__,
    }


PARENT_POLL_SECONDS = 1.0
# After the client is gone, a job has this long to end on its cancel (a checkpoint save) before the
# process exits anyway: an engine nobody reads must not keep the CPU busy.
ORPHAN_GRACE_SECONDS = 60.0


def watch_parent(server: Server, parent: int) -> None:
    """Stops the engine when its parent dies even if stdin stays open (another process holding it):
    the parent is polled (the process is re-parented when it dies); then the job is cancelled and,
    if it has not ended within ORPHAN_GRACE_SECONDS, the process exits."""
    while os.getppid() == parent and not server.stopping.is_set():
        time.sleep(PARENT_POLL_SECONDS)
    if os.getppid() != parent and not server.stopping.is_set():
        log.warning("the parent process (pid %d) is gone: cancelling and stopping", parent)
        server.client_gone()
    deadline = time.monotonic() + ORPHAN_GRACE_SECONDS
    while server.current is not None and time.monotonic() < deadline:
        time.sleep(PARENT_POLL_SECONDS)
    if server.current is not None and os.getppid() != parent:
        log.error("the job did not stop within %.0f s of its client leaving: exiting", ORPHAN_GRACE_SECONDS)
        os._exit(1)


def main() -> None:
    parent = os.getppid()  # taken first: the imports below take seconds, and the parent may die meanwhile
    # Ctrl-C in a terminal reaches the whole process group: the client turns it into a `cancel`
    # request (which saves a checkpoint), so the engine itself must not die of it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Keep stdout for the protocol: anything a library prints goes to stderr.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", buffering=1)
    sys.stdout = sys.stderr
    logging.basicConfig(level=os.environ.get("REVIEWTUNE_ENGINE_LOG", "INFO"), stream=sys.stderr, format="[engine] %(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # bitsandbytes (imported by peft) warns on CPU about an optional kernel package; QLoRA is CUDA-only.
    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    # The cores this process may run on (affinity, cpusets), not the machine's: more threads than that
    # only wait for each other. REVIEWTUNE_THREADS (serve/studio --threads) bounds it further.
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    threads = min(int(os.environ.get("REVIEWTUNE_THREADS", "0")) or cores, cores)
    torch.set_num_threads(threads)
    server = Server(out)
    server.threads = threads
    server.free_cores = serving_cores(threads)
    server.send(
        {
            "type": "ready",
            "protocol": protocol_version(),
            "engine_version": __version__,
            "versions": versions(),
            "device": "cuda" if torch.cuda.is_available() else "cpu",
            "threads": torch.get_num_threads(),
            "pid": os.getpid(),
        }
    )
    reader = threading.Thread(target=server.read_loop, args=(sys.stdin,), daemon=True)
    reader.start()
    threading.Thread(target=watch_parent, args=(server, parent), daemon=True).start()
    server.run_jobs()
    out.flush()
    # Exit without waiting for the reader thread (stdin may stay open after a shutdown request).
    os._exit(0)
