"""On a protected stage a restore asks, on the terminal, for the project's name typed in full:
anything else changes nothing."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests import pg
from tests.helpers import INV, run_inv
from tests.terminal import on_a_terminal

PROMPT = re.compile(rb"Type the project name \(([^)]*)\) to go on: ")


def answer_on_a_terminal(project: Path, answer: str, *args: str) -> tuple[int, str]:
    """`inv ARGS` on a pseudo-terminal, with ``answer`` typed at the protected stage's prompt."""

    def respond(seen: bytes) -> bytes | None:
        asked = PROMPT.search(seen)
        if asked is None:
            return None
        return (asked.group(1).decode() if answer == "the project's name" else answer).encode() + b"\n"

    env = {**os.environ, "INVOKE_STACKTASKS_STAGE": "staging"}
    return on_a_terminal([INV, *args], project, env=env, stdin_too=True, respond=respond, timeout=60)


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
