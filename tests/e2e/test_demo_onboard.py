"""End-to-end: a new teammate's first command on a fresh copy of the demo, with `stacktasks` (no
tasks.py needed), under a real engine; then the second run, and the build-only frontend."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.helpers import copy_demo, engine_missing, remove_stack, require

PROJECT = "stacktasks-e2e-onboard"
PORTS = {"APP_PORT": "32000", "DB_PORT": "32432", "REDIS_PORT": "32379"}
STACK = str(Path(sys.executable).with_name("stacktasks"))
ENV = {**os.environ, "INVOKE_STACKTASKS_PROJECT_NAME": PROJECT, **PORTS}


def stack(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [STACK, *args], cwd=project, env=ENV, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=900
    )


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require(engine_missing())
    project = copy_demo(tmp_path_factory.mktemp("onboard") / "demo", with_env=False)
    try:
        yield project
    finally:
        remove_stack(PROJECT, project)


def notes() -> int:
    url = f"postgresql://demo:demo-password@127.0.0.1:{PORTS['DB_PORT']}/demo"
    with psycopg.connect(url) as conn:
        row = conn.execute("select count(*) from notes").fetchone()
        return int(row[0]) if row else -1


def test_onboard_brings_a_fresh_clone_to_a_healthy_migrated_seeded_stack(fresh_clone: Path) -> None:
    result = stack(fresh_clone, "onboard", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "changed  env files: created .env" in lines
    assert "changed  migrations: applied" in lines
    assert "changed  seed: ran on the new database" in lines
    assert f"  app: http://127.0.0.1:{PORTS['APP_PORT']}/" in lines
    assert (fresh_clone / ".env").stat().st_mode & 0o077 == 0
    assert "DEMO_SECRET_KEY=\n" not in (fresh_clone / ".env").read_text()  # generated
    with urllib.request.urlopen(f"http://127.0.0.1:{PORTS['APP_PORT']}/health", timeout=10) as response:
        assert response.status == 200
    assert notes() == 1


def test_a_second_onboard_changes_nothing_and_says_so(fresh_clone: Path) -> None:
    env_before = (fresh_clone / ".env").read_text()
    result = stack(fresh_clone, "onboard", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "nothing changed: this stack was already onboarded" in result.stdout, [
        line for line in result.stdout.splitlines() if line.startswith("changed")
    ]
    assert "same     seed: skipped: the database was not new (--seed runs it)" in result.stdout
    assert (fresh_clone / ".env").read_text() == env_before
    assert notes() == 1


def test_front_build_runs_the_build_only_service_and_checks_its_output(fresh_clone: Path) -> None:
    result = stack(fresh_clone, "front.build")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "--profile build run --rm -T --build frontend" in result.stderr
    page = fresh_clone / "frontend" / "dist" / "index.html"
    assert page.is_file()
    assert result.stdout.splitlines()[-1].startswith("built frontend in ")
    state = subprocess.run(
        ["docker", "compose", "-p", PROJECT, "ps", "--all", "--format", "json"],
        cwd=fresh_clone,
        capture_output=True,
        text=True,
        check=True,
    )
    services = {json.loads(line)["Service"] for line in state.stdout.splitlines() if line.strip()}
    assert "frontend" not in services  # run --rm: nothing left behind
