"""File modes of what the engine writes for the user to keep or share (adapters, merged weights).

safetensors writes its files with mode 0600 whatever the umask; an adapter or a merged model is
meant to be copied, served by another user or mounted into a container, so it gets the mode any
other file the user creates would get."""

from __future__ import annotations

import os
from pathlib import Path


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
