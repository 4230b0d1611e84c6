"""reviewtune's tensor engine: a long-lived process speaking JSON lines on stdio (see server.py)."""

import os as _os

__version__ = "0.1.0"

# oneDNN, which runs torch's bfloat16 matmuls on CPU, compiles a kernel for each matrix shape and keeps
# it in two caches (oneDNN's primitive cache and ideep's) of 1,024 entries each, about 0.65 MB an
# entry. Padding-free training meets new shapes at every step (the row's token count), so under
# bf16 the engine's memory grew by about 33 MB a step for hundreds of steps (SmolLM2-135M, 8 x 256).
# One step uses 30 to 50 shapes (each reused by every layer), so 128 entries keep the reuse and bound
# the growth near 80 MB. Set before torch is imported (each cache reads its variable when it is
# created); a value already in the environment wins.
ONEDNN_CACHE_ENTRIES = 128
for _name in ("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "LRU_CACHE_CAPACITY"):
    _os.environ.setdefault(_name, str(ONEDNN_CACHE_ENTRIES))
