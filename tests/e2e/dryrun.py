"""Comparing `inv --dry TASK` with `inv TASK` from one state.

The dry run goes first (it changes nothing), then the real run; the commands each shows
(`[dry-run] …` and `$ …`) must be the same list, once the values only the real run can know (the
exported snapshot, a temporary file's random name) are masked.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.helpers import run_inv

TOOLS = ("docker ", "docker-compose ", "pg_dump ", "pg_restore ", "psql ", "redis-cli ")
UNKNOWABLE = [
    (re.compile(r"--snapshot=\S+"), "--snapshot=SNAPSHOT"),
    (re.compile(r"/tmp/stacktasks-restore-[\w.-]+"), "/tmp/stacktasks-restore-FILE"),
]


def commands(lines: str, prefix: str) -> list[str]:
    """The commands in a run's output (not its notes), with the unknowable values masked."""
    found = []
    for line in lines.splitlines():
        if line.startswith(prefix) and line[len(prefix) :].startswith(TOOLS):
            command = line[len(prefix) :]
            for pattern, replacement in UNKNOWABLE:
                command = pattern.sub(replacement, command)
            found.append(command)
    return found


def dry_and_real(project: Path, env: dict[str, str], *args: str) -> list[str]:
    """Both runs of one task; their commands must agree. Returns them."""
    dry = run_inv(project, "--dry", *args, env=env)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    real = run_inv(project, *args, env=env)
    assert real.returncode == 0, real.stdout + real.stderr
    planned, ran = commands(dry.stdout, "[dry-run] "), commands(real.stderr, "$ ")
    assert planned == ran, f"inv {' '.join(args)}\n--dry planned:\n" + "\n".join(planned) + "\nran:\n" + "\n".join(ran)
    return ran
