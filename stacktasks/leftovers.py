"""What a task leaves on this machine while it runs (socket folders, unpacked dumps), marked with
its pid, and how what a killed task left is told apart: its pid is gone. SIGKILL leaves a task no
chance to clean up; the next one does, and only after that proof."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path


def private_directory(prefix: str) -> Path:
    """A new 0700 directory of ours for sockets, marked with our pid; those a killed task left
    (its pid gone) are removed first, since a SIGKILL leaves no chance to."""
    for stale in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        with contextlib.suppress(OSError, ValueError):
            pid = int((stale / "pid").read_text())
            if stale.stat().st_uid == os.getuid() and not pid_alive(pid):
                shutil.rmtree(stale, ignore_errors=True)
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    (directory / "pid").write_text(str(os.getpid()))
    return directory


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
