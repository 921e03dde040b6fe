"""A command run on a pseudo-terminal, as a person at it sees it (and answers it)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path


def on_a_terminal(
    argv: list[str],
    cwd: Path,
    *,
    env: Mapping[str, str] | None = None,
    stdin_too: bool = False,
    respond: Callable[[bytes], bytes | None] | None = None,
    timeout: float = 120,
) -> tuple[int, str]:
    """Run ``argv`` with stderr (and stdout and stdin, with ``stdin_too``) on a pseudo-terminal:
    its exit code and all it showed. ``respond`` sees what was shown so far and may answer once."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdin=follower if stdin_too else subprocess.DEVNULL,
        stdout=follower if stdin_too else subprocess.PIPE,
        stderr=follower,
    )
    os.close(follower)
    seen, answered = b"", False
    while True:
        ready, _, _ = select.select([leader], [], [], timeout)
        if not ready:
            process.kill()
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed its side
            break
        if not chunk:
            break
        seen += chunk
        if respond is not None and not answered and (answer := respond(seen)) is not None:
            os.write(leader, answer)
            answered = True
    os.close(leader)
    return process.wait(timeout=timeout), seen.decode(errors="replace")
