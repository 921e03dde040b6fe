"""On a protected stage a restore asks, on the terminal, for the project's name typed in full:
anything else changes nothing."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
from pathlib import Path

from tests import pg
from tests.helpers import INV, run_inv

PROMPT = re.compile(rb"Type the project name \(([^)]*)\) to go on: ")


def answer_on_a_terminal(project: Path, answer: str, *args: str) -> tuple[int, str]:
    """`inv ARGS` on a pseudo-terminal, with ``answer`` typed at the protected stage's prompt."""
    leader, follower = pty.openpty()
    env = {**os.environ, "INVOKE_STACKTASKS_STAGE": "staging"}
    process = subprocess.Popen([INV, *args], cwd=project, stdin=follower, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    seen, answered = b"", False
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
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
        if not answered and (asked := PROMPT.search(seen)):
            typed = asked.group(1).decode() if answer == "the project's name" else answer
            os.write(leader, typed.encode() + b"\n")
            answered = True
    os.close(leader)
    return process.wait(timeout=60), seen.decode(errors="replace")


def test_a_protected_restore_refuses_any_answer_but_the_projects_name(sample_database: tuple[str, Path]) -> None:
    name, project = sample_database
    assert run_inv(project, "db.backup", "--name", "before").returncode == 0
    pg.execute(name, "delete from billing.invoices")
    code, seen = answer_on_a_terminal(project, name, "db.restore", "--file", "before")
    assert code == 3, seen
    assert "This is a protected stage." in seen and "not confirmed" in seen
    assert pg.scalar(name, "select count(*) from billing.invoices") == 0


def test_a_protected_restore_goes_on_when_the_projects_name_is_typed(sample_database: tuple[str, Path]) -> None:
    name, project = sample_database
    assert run_inv(project, "db.backup", "--name", "before").returncode == 0
    pg.execute(name, "delete from billing.invoices")
    code, seen = answer_on_a_terminal(project, "the project's name", "db.restore", "--file", "before")
    assert code == 0, seen
    assert f"Type the project name ({project.name}) to go on: " in seen
    assert pg.scalar(name, "select count(*) from billing.invoices") > 0
