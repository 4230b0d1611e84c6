"""A training's threads, and a serving engine's, follow the cores other processes leave (cpu_share.py)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from reviewtune_engine.cpu_share import CHANGES_SAID, CpuReader, FreeCores, SharedCpuCallback, threads_for
from reviewtune_engine.distributed import SINGLE, World
from reviewtune_engine.generate import generate
from reviewtune_engine.models import ModelCache
from reviewtune_engine.server import Server as Engine, serving_cores
from reviewtune_engine.train import TrainingSettings, shared_cpu_callback

linux = pytest.mark.skipif(not CpuReader.available(), reason="reads /proc (Linux)")


def process_ticks(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


@linux
def test_the_reader_counts_the_cores_another_process_kept_busy():
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)  # started
        reader = CpuReader(window_seconds=2.0)
        before = process_ticks(busy.pid)
        started = time.monotonic()
        assert reader.others() is None, "no reading before the window has passed"
        others = None
        while others is None:
            time.sleep(0.2)
            others = reader.others()
        child = (process_ticks(busy.pid) - before) / os.sysconf("SC_CLK_TCK") / (time.monotonic() - started)
    finally:
        busy.kill()
        busy.wait()
    assert child > 0.05, f"the busy process barely ran ({child:.2f} of a core): nothing to measure"
    # Everything else on the machine counts too, so at least the busy process's share (less a tick's rounding).
    assert others >= child - 0.05, (others, child)


def test_threads_follow_the_cores_the_other_processes_leave():
    assert threads_for(0.0, cores=2, most=2) == 2
    assert threads_for(0.4, cores=2, most=2) == 2, "a little background work holds no core"
    assert threads_for(0.7, cores=2, most=2) == 1, "a busy process that gets part of a core while we use both"
    assert threads_for(1.0, cores=2, most=2) == 1
    assert threads_for(2.0, cores=2, most=2) == 1, "never fewer than one"
    assert threads_for(1.0, cores=8, most=8) == 7
    assert threads_for(5.0, cores=8, most=2) == 2, "the cores left still hold the threads it started with"
    assert threads_for(7.0, cores=8, most=2) == 1


class Readings:
    """A CpuReader's answers, in turn."""

    def __init__(self, values, cores: int):
        self.values = list(values)
        self.cores = cores

    def others(self):
        return self.values.pop(0)


class Step:
    global_step = 0


def test_the_training_drops_threads_while_others_are_busy_and_takes_them_back():
    original = torch.get_num_threads()
    torch.set_num_threads(2)  # as a training on 2 cores starts (the suite may run on one thread: OMP_NUM_THREADS=1)
    messages: list[str] = []
    callback = SharedCpuCallback(lambda event: messages.append(event["message"]), Readings([None, 0.1, 0.9, 1.0, 0.2], cores=2), most=2)
    seen = []
    try:
        for _ in range(5):
            callback.on_step_end(None, Step(), None)
            seen.append(torch.get_num_threads())
    finally:
        torch.set_num_threads(original)
    assert seen[1:] == [2, 1, 1, 2] and callback.changes == 2, seen
    assert len(messages) == 2
    assert "other processes kept 0.9 of 2 cores busy, so the training uses 1 of its 2 threads" in messages[0]
    assert "training.threads=N" in messages[0]
    assert "the training uses its 2 threads again" in messages[1]


def test_a_load_that_comes_and_goes_is_logged_a_few_times_only():
    original = torch.get_num_threads()
    torch.set_num_threads(2)
    messages: list[str] = []
    callback = SharedCpuCallback(lambda event: messages.append(event["message"]), Readings([1.0, 0.0] * 20, cores=2), most=2)
    try:
        for _ in range(40):
            callback.on_step_end(None, Step(), None)
    finally:
        torch.set_num_threads(original)
    assert callback.changes == 40
    assert len(messages) == CHANGES_SAID and messages[-1].endswith("further changes are not logged")


def settings(threads: int) -> TrainingSettings:
    from conftest import train_config

    return TrainingSettings.of({**train_config(Path("unused"))["training"], "threads": threads})


@linux
@pytest.mark.skipif(torch.cuda.is_available(), reason="a CPU training's threads")
def test_only_a_one_process_training_without_a_thread_count_follows_the_cores():
    assert isinstance(shared_cpu_callback(settings(0), SINGLE, lambda event: None), SharedCpuCallback)
    assert shared_cpu_callback(settings(2), SINGLE, lambda event: None) is None, "training.threads set: that many, always"
    assert shared_cpu_callback(settings(0), World(0, 0, 2), lambda event: None) is None, "torchrun's processes divide the cores themselves"


class Server:
    """The engine's server as far as follow_cores reads it."""

    def __init__(self, free_cores):
        self.free_cores = free_cores

    follow_cores = Engine.follow_cores


def test_serving_drops_threads_while_others_are_busy_and_says_so_in_the_log(caplog):
    original = torch.get_num_threads()
    torch.set_num_threads(2)
    server = Server(FreeCores(Readings([None, 1.0, 0.0], cores=2), most=2))
    seen = []
    try:
        with caplog.at_level("INFO", logger="reviewtune.engine"):
            for _ in range(3):
                server.follow_cores()
                seen.append(torch.get_num_threads())
    finally:
        torch.set_num_threads(original)
    assert seen == [2, 1, 2], seen
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2, lines
    assert "so serving uses 1 of its 2 threads" in lines[0] and "serve --threads N fixes the number" in lines[0]
    assert "serving uses its 2 threads again" in lines[1]


def test_a_generation_follows_the_cores_at_every_decoding_step(tiny_model):
    steps = []
    request = {"model": {"source": str(tiny_model)}, "prompts": ["<|im_start|>user\nIs it good?<|im_end|>\n<|im_start|>assistant\n"], "max_new_tokens": 6}
    result = generate(request, ModelCache(), lambda event: None, lambda: False, on_step=lambda: steps.append(1))
    tokens = result["outputs"][0]["new_tokens"]
    assert tokens >= 1 and len(steps) in (tokens, tokens + 1), (len(steps), result["outputs"][0])  # + the end-of-sequence token's step


@linux
@pytest.mark.skipif(torch.cuda.is_available(), reason="a CPU engine's threads")
def test_only_a_cpu_engine_without_a_thread_count_follows_the_cores(monkeypatch):
    monkeypatch.delenv("REVIEWTUNE_THREADS", raising=False)
    assert isinstance(serving_cores(2), FreeCores)
    assert serving_cores(1) is None, "one thread: nothing to give back"
    monkeypatch.setenv("REVIEWTUNE_THREADS", "2")
    assert serving_cores(2) is None, "serve --threads N: that many, always"
