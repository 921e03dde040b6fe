"""A project on a recording runner, with a compose model given as data (no engine, no compose)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stacktasks.project import Project
from stacktasks.testing import project_for_test
from tests.recording import RecordingRunner

DEMO_MODEL: dict[str, Any] = {
    "name": "shop",
    "services": {
        "app": {"build": {"context": "."}, "depends_on": {"db": {"condition": "service_healthy"}}},
        "db": {
            "image": "postgres:16-alpine",
            "environment": {"POSTGRES_USER": "shop", "POSTGRES_PASSWORD": "pw", "POSTGRES_DB": "shop"},
            "healthcheck": {"test": ["CMD", "pg_isready"]},
        },
        "redis": {"image": "redis:7-alpine"},
    },
}


def project_on(
    root: Path,
    runner: RecordingRunner,
    model: dict[str, Any] | None = None,
    *,
    yes: bool = False,
    dry: bool = False,
    flags: dict[str, Any] | None = None,
    pyproject: str = "",
) -> Project:
    if pyproject:
        (root / "pyproject.toml").write_text(pyproject)
    return project_for_test(root, runner, model or DEMO_MODEL, yes=yes, dry=dry, flags=flags)


def nothing_running(runner: RecordingRunner) -> RecordingRunner:
    """The engine's answers for a stack with no container and no volume: nothing runs, no port
    is published, no volume holds data."""
    runner.answer("ps", stdout="")
    runner.answer("volume", "ls", stdout="")
    runner.answer("compose", "port", code=1)
    return runner


def allowing(runner: RecordingRunner, *commands: tuple[str, ...]) -> RecordingRunner:
    """Commands that change something, each allowed to run (and succeed)."""
    for words in commands:
        runner.answer(*words)
    return runner
