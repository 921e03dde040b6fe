"""Helpers for the tests that run examples/shapes under a real engine (the fixture is in conftest)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import REPO, run_inv

SHAPES = REPO / "examples" / "shapes"


def shaped(name: str, **ports: str) -> pytest.MarkDecorator:
    """Run the test on a copy of shape ``name``, with these variables (its ports) set."""
    return pytest.mark.parametrize("shape", [(name, ports)], ids=[name], indirect=True)


def inv(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = run_inv(project, *args, env=env)
    assert result.returncode == 0, f"inv {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


def compose(project: Path, env: dict[str, str], *args: str) -> str:
    name = env["INVOKE_STACKTASKS_PROJECT_NAME"]
    result = subprocess.run(
        ["docker", "compose", "-p", name, *args], cwd=project, capture_output=True, text=True, env={**os.environ, **env}
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def psql_in(project: Path, env: dict[str, str], service: str, user: str, dbname: str) -> Callable[[str], str]:
    """A statement run by psql inside ``service``, as the stack's own user; its output."""
    return lambda statement: compose(
        project, env, "exec", "-T", service, "psql", "-U", user, "-d", dbname, "-c", statement
    )


def restore_round_trip(project: Path, env: dict[str, str], psql: Callable[[str], str], rows: int) -> str:
    """A table of ``rows`` rows backed up, emptied, restored: its rows counted back (asserted);
    the restore's whole output returned."""
    psql(f"create table round_trip (id int); insert into round_trip select generate_series(1, {rows})")
    inv(project, env, "db.backup", "--name", "round-trip")
    psql("delete from round_trip")
    restored = inv(project, env, "db.restore", "--yes", "--file", "round-trip")
    assert f" {rows}\n" in psql("select count(*) from round_trip")
    return restored.stdout + restored.stderr
