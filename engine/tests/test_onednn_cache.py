"""The engine bounds oneDNN's per-shape kernel caches (reviewtune_engine/__init__.py): bfloat16
matmuls of many shapes, as padding-free training makes, must not grow the process without bound."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

# 800 matmuls, each of a new shape; printed: the RSS growth in MB over the last 400, once a bounded
# cache would be full. Run in a fresh process: the caches are per process.
PROBE = """
import sys
if sys.argv[1] == "engine":
    import reviewtune_engine
import torch
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
weight = torch.randn(1536, 576, dtype=torch.bfloat16)
for rows in range(200, 600):
    torch.randn(rows, 576, dtype=torch.bfloat16) @ weight.t()
before = rss()
for rows in range(600, 1000):
    torch.randn(rows, 576, dtype=torch.bfloat16) @ weight.t()
print(rss() - before)
"""

# The engine runs with TCMalloc (core/src/engine/allocator.ts, the same paths); under glibc's malloc
# the resident set of this probe moves by tens of MB either way from run to run (-32 to +92 MB
# measured for the bounded caches), too much to read a bound from.
TCMALLOC = next(
    (path for path in ("/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4", "/usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4", "/usr/lib64/libtcmalloc_minimal.so.4", "/usr/lib/libtcmalloc_minimal.so.4") if os.path.exists(path)),
    None,
)

needs_onednn_bf16 = pytest.mark.skipif(
    not torch.ops.mkldnn._is_mkldnn_bf16_supported() or not sys.platform.startswith("linux") or TCMALLOC is None,
    reason="needs a CPU whose bf16 matmuls go to oneDNN (native bf16), /proc for RSS, and TCMalloc (apt-get install libtcmalloc-minimal4)",
)


def growth_mb(mode: str, env: dict[str, str]) -> float:
    env = {**env, "LD_PRELOAD": TCMALLOC, "TCMALLOC_LARGE_ALLOC_REPORT_THRESHOLD": str(2**40)}
    completed = subprocess.run([sys.executable, "-c", PROBE, mode], env=env, capture_output=True, text=True, timeout=300, check=True)
    return float(completed.stdout.strip().splitlines()[-1])


@needs_onednn_bf16
def test_bf16_matmuls_of_new_shapes_stay_within_the_cache_bound():
    env = {name: value for name, value in os.environ.items() if name not in ("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "LRU_CACHE_CAPACITY")}
    bounded = growth_mb("engine", env)
    # Without the engine's bound (torch's defaults) every new shape's kernel stays: about 0.65 MB each.
    unbounded = growth_mb("torch", env)
    assert unbounded > 150, (bounded, unbounded)
    assert bounded < 40, (bounded, unbounded)


def test_a_setting_in_the_environment_wins():
    env = {**os.environ, "ONEDNN_PRIMITIVE_CACHE_CAPACITY": "7"}
    script = "import os, reviewtune_engine; print(os.environ['ONEDNN_PRIMITIVE_CACHE_CAPACITY'], os.environ['LRU_CACHE_CAPACITY'])"
    env.pop("LRU_CACHE_CAPACITY", None)
    completed = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120, check=True)
    assert completed.stdout.split() == ["7", "128"]
