"""How the engine reads and writes files: JSONL inputs (one reader, naming the file and line of a bad
row), outputs written whole or not at all (staged beside the target, then renamed over it), and
the file modes of what the user keeps or shares.

safetensors writes its files with mode 0600 whatever the umask; an adapter or a merged model is
meant to be copied, served by another user or mounted into a container, so it gets the mode any
other file the user creates would get."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

from reviewtune_engine.errors import EngineError


def staging_path(target: Path) -> Path:
    """Where a file or folder is written before it is renamed over `target`: beside it (the same
    filesystem, so the rename is atomic), hidden, and named after this process (two writers never
    share one): `.<name>.partial-<pid>`, as the Node side (core/src/files.ts)."""
    return target.with_name(f".{target.name}.partial-{os.getpid()}")


def write_json_atomic(path: Path, value) -> None:
    """`value` as indented JSON at `path`, whole or not at all."""
    staging = staging_path(path)
    staging.write_text(json.dumps(value, indent=2))
    os.replace(staging, path)


def read_jsonl(path: str, label: str, row: Callable[[object], dict | str]) -> list[dict]:
    """The rows of a JSONL file (blank lines skipped), each made by `row` from the parsed line, which
    returns the row or, for a line that is not one, what it needs: the error then names the file and
    line. `label` (train, validation) names the file in errors about the file itself."""
    file = Path(path)
    if not file.is_file():
        raise EngineError("data_not_found", f"{label} file {path} does not exist", file=path, field=f"data.{label}")
    rows = []
    with open(file, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as error:
                raise EngineError("bad_data", f"{path}:{number}: not valid JSON ({error.msg})", file=path) from error
            made = row(value)
            if isinstance(made, str):
                raise EngineError("bad_data", f"{path}:{number}: {made}", file=path)
            rows.append(made)
    if not rows:
        raise EngineError("bad_data", f"{path} has no rows", file=path)
    return rows


def current_umask() -> int:
    """The process umask (Linux reports it in /proc; elsewhere it is read by setting it and back)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def honour_umask(folder: Path) -> None:
    """Gives every file under `folder` mode 0666 and every folder 0777, less the umask."""
    mask = current_umask()
    for root, folders, files in os.walk(folder):
        os.chmod(root, 0o777 & ~mask)
        for name in files:
            os.chmod(os.path.join(root, name), 0o666 & ~mask)
        for name in folders:
            os.chmod(os.path.join(root, name), 0o777 & ~mask)
