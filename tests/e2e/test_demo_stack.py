"""End-to-end: the demo stack under a real container engine, driven only through `inv`.

The tests share one stack (bringing it up costs seconds) and run in file order: up, use,
rebuild, then reset.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import copy_demo, engine_missing, require, run_inv, started_stack

PROJECT = "stacktasks-e2e"
PORTS = {"APP_PORT": "28000", "DB_PORT": "25432", "REDIS_PORT": "26379"}
ENV = {"INVOKE_STACKTASKS_PROJECT_NAME": PROJECT}


def compose_state(project_dir: Path) -> dict[str, dict[str, str]]:
    result = subprocess.run(
        ["docker", "compose", "-p", PROJECT, "ps", "--all", "--format", "json"],
        cwd=project_dir,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return {row["Service"]: row for row in rows}


def labelled(kind: str) -> list[str]:
    result = subprocess.run(
        ["docker", kind, "ls", "-q", "--filter", f"label=com.docker.compose.project={PROJECT}"]
        + (["--all"] if kind == "container" else []),
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.split()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require(engine_missing())
    with started_stack(copy_demo(tmp_path_factory.mktemp("e2e") / "demo", PORTS), ENV) as project:
        yield project


def test_up_brings_every_service_up_and_healthy(demo: Path) -> None:
    state = compose_state(demo)
    assert {name: state[name]["Health"] for name in ("app", "db", "redis")} == {
        "app": "healthy",
        "db": "healthy",
        "redis": "healthy",
    }
    assert state["worker"]["State"] == "running"
    assert "frontend" not in state  # build-only, under a profile


def test_exec_runs_in_the_service_and_streams_its_output(demo: Path) -> None:
    result = run_inv(demo, "exec", "app", "--", "python", "-c", "print(6 * 7)", env=ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "42\n"


def test_exec_passes_the_commands_exit_code_through(demo: Path) -> None:
    result = run_inv(demo, "exec", "app", "--", "python", "-c", "raise SystemExit(7)", env=ENV)
    assert result.returncode == 7
    assert "command in app exited with 7" in result.stderr


def test_logs_show_a_services_output(demo: Path) -> None:
    result = run_inv(demo, "logs", "-s", "db", "--tail", "100", env=ENV)
    assert result.returncode == 0, result.stderr
    assert "database system is ready to accept connections" in result.stdout


def test_test_runs_the_demos_pytest_in_its_container_with_arguments(demo: Path) -> None:
    migrated = run_inv(demo, "exec", "app", "--", "alembic", "upgrade", "head", env=ENV)
    assert migrated.returncode == 0, migrated.stderr
    chosen = run_inv(demo, "test", "--", "-k", "redis or greeting", env=ENV)
    assert chosen.returncode == 0, chosen.stdout + chosen.stderr
    assert "2 passed, 1 deselected" in chosen.stdout
    everything = run_inv(demo, "test", env=ENV)
    assert "3 passed" in everything.stdout


def test_a_failing_test_run_fails_the_task_with_its_code(demo: Path) -> None:
    result = run_inv(demo, "test", "--", "-k", "no_such_test_name", env=ENV)
    assert result.returncode == 5  # pytest: no tests collected
    assert "tests failed (exit 5)" in result.stderr


def test_rebuild_recreates_the_service_from_a_fresh_image(demo: Path) -> None:
    before = compose_state(demo)["app"]["ID"]
    result = run_inv(demo, "rebuild", "-s", "app", env=ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "docker compose -p stacktasks-e2e build --no-cache app" in result.stderr
    after = compose_state(demo)["app"]
    assert after["ID"] != before
    assert after["Health"] == "healthy"


def test_reset_without_yes_and_without_a_terminal_changes_nothing(demo: Path) -> None:
    result = run_inv(demo, "reset", env=ENV)
    assert result.returncode == 3
    assert len(labelled("container")) == 4
    assert len(labelled("volume")) == 2


def test_reset_yes_leaves_no_container_or_volume_of_the_project(demo: Path) -> None:
    result = run_inv(demo, "reset", "--yes", env=ENV)
    assert result.returncode == 0, result.stderr
    assert labelled("container") == []
    assert labelled("volume") == []
