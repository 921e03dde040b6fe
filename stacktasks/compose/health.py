"""Waiting where compose cannot: v1 has no `up --wait`, so container health is polled."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..engine.docker import inspect_argv
from ..errors import StackError

if TYPE_CHECKING:
    from .client import Compose


def wait_healthy(compose: Compose, services: Sequence[str], timeout: int = 120) -> None:
    """Poll container health: for v1, which has no `up --wait`."""
    compose.runner.note(f"wait until {' '.join(services) or 'the stack'} is healthy")
    if compose.runner.dry:
        return
    deadline = time.monotonic() + timeout
    fmt = "{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}"
    while True:
        ids = compose.container_ids(services)
        result = compose.runner.capture(inspect_argv(fmt, ids)) if ids else None
        pending = []
        for line in result.stdout.splitlines() if result else []:
            name, status, *health = line.split()
            if status in ("exited", "dead") or health == ["unhealthy"]:
                raise StackError(
                    f"container {name.lstrip('/')} is {health[0] if health else status}",
                    hint=f"see its logs: inv logs {name.lstrip('/')}",
                )
            if status != "running" or health not in ([], ["healthy"]):
                pending.append(name.lstrip("/"))
        if ids and not pending:
            return
        if time.monotonic() > deadline:
            raise StackError(f"not healthy after {timeout}s: {', '.join(pending) or 'no containers'}")
        time.sleep(1)
