"""Helpers for the tests that run examples/shapes under a real engine (the fixture is in conftest)."""

from __future__ import annotations

import os
import subprocess
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
