"""A training on a CPU that other processes use too: torch's threads follow the free cores.

torch's CPU threads (OpenMP) wait for each other at the end of every operation, so a training on
every core stalls whenever another busy process takes one of them: beside one busy process on 2
cores, a LoRA step of the embedded SmolLM2 at batch 8 x 256 took 41.7 s on 2 threads, 30.5 s on 1,
and 14.8 s on 2 with the machine to itself. Between optimizer steps the training reads how many
cores the other processes kept busy (Linux: /proc/stat less this process's own time) and trains on
the cores they leave, up to the threads it started with; when they go quiet it takes them back.
A training whose `training.threads` is set keeps that number, as do multi-process trainings.

The engine's serving requests (generate, score, classify, embed) do the same (FreeCores), between
decoding steps: 64 greedy tokens of the embedded SmolLM2 took 4.1 s on 2 threads alone, 10.7-13.4 s
on 2 beside one busy process, and 4.3 s on 1 beside it. `serve --threads N` keeps N.
"""
from __future__ import annotations

import math
import os
from typing import Callable

import torch
from transformers import TrainerCallback

# Another process counts as holding a core once it keeps at least this share of one busy.
HELD_CORE = 0.5
# Changes said in the log; a load that comes and goes could otherwise fill it (one a step at most).
CHANGES_SAID = 10


class CpuReader:
    """Cores that other processes kept busy since the last reading, from the kernel's counters."""

    def __init__(self, cores: int | None = None, window_seconds: float = 1.0):
        self.cores = cores or os.cpu_count() or 1
        # The counters move in clock ticks (100 a second): a shorter window would read mostly rounding.
        self.window_ticks = window_seconds * os.sysconf("SC_CLK_TCK") * self.cores
        self._last = self._read()

    @staticmethod
    def available() -> bool:
        return os.path.exists("/proc/stat") and os.path.exists("/proc/self/stat")

    @staticmethod
    def _read() -> tuple[int, int, int]:
        """(all CPUs' ticks, their idle ticks, this process's ticks), in clock ticks."""
        with open("/proc/stat") as handle:
            values = [int(value) for value in handle.readline().split()[1:9]]  # user nice system idle iowait irq softirq steal
        with open("/proc/self/stat") as handle:
            stat = handle.read()
        # After the command name in parentheses (which may hold spaces): utime and stime are fields 14 and 15.
        fields = stat[stat.rindex(")") + 2 :].split()
        return sum(values), values[3] + values[4], int(fields[11]) + int(fields[12])

    def others(self) -> float | None:
        """Cores the other processes kept busy on average since the last reading; None (and the
        window goes on) until the window has passed."""
        total, idle, own = self._read()
        last_total, last_idle, last_own = self._last
        elapsed = total - last_total  # ticks of every CPU together
        if elapsed < self.window_ticks:
            return None
        self._last = (total, idle, own)
        busy = elapsed - (idle - last_idle)
        return max(0.0, self.cores * (busy - (own - last_own)) / elapsed)


def threads_for(others: float, cores: int, most: int) -> int:
    """Threads to train on when other processes keep `others` cores busy: the cores they leave, at most `most`, at least one."""
    held = max(0, math.ceil(others - HELD_CORE))
    return max(1, min(most, cores - held))


class FreeCores:
    """torch's threads set to the cores other processes leave, at most `most` (the threads the process
    started with), at least one, each time `follow` is called after at least the reader's window."""

    def __init__(self, reader: CpuReader | None = None, most: int | None = None):
        self.reader = reader or CpuReader()
        self.most = most or torch.get_num_threads()
        self.changes = 0

    def follow(self) -> tuple[float, int, int] | None:
        """(the other processes' busy cores, threads before, threads now) when it changed the threads, else None."""
        others = self.reader.others()
        if others is None:
            return None
        wanted = threads_for(others, self.reader.cores, self.most)
        threads = torch.get_num_threads()
        if wanted == threads:
            return None
        torch.set_num_threads(wanted)
        self.changes += 1
        return others, threads, wanted

    def follow_said(self, what: str, fix: str) -> str | None:
        """`follow`, and the change as a log line (`what` uses...) for the first CHANGES_SAID changes; None otherwise."""
        change = self.follow()
        if change is None or self.changes > CHANGES_SAID:
            return None
        others, before, after = change
        cores = self.reader.cores
        uses = f"its {self.most} threads" if after == self.most else f"{after} of its {self.most} threads"
        if after < before:
            message = (f"the CPU is shared: other processes kept {others:.1f} of {cores} cores busy, so {what} "
                       f"uses {uses} while they do (threads that share a core wait for each other; {fix} fixes the number)")
        else:
            message = f"other processes keep {others:.1f} of {cores} cores busy now: {what} uses {uses} again"
        return message + ("; further changes are not logged" if self.changes == CHANGES_SAID else "")


class SharedCpuCallback(TrainerCallback):
    """After each optimizer step, sets torch's threads to the cores the other processes leave."""

    def __init__(self, emit: Callable[[dict], None], reader: CpuReader | None = None, most: int | None = None):
        self.emit = emit
        self.cores = FreeCores(reader, most)

    @property
    def changes(self) -> int:
        return self.cores.changes

    def on_step_end(self, args, state, control, **kwargs):
        message = self.cores.follow_said("the training", "--set training.threads=N")
        if message:
            self.emit({"kind": "status", "message": f"step {state.global_step}: {message}"})
