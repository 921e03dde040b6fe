"""A project on a recording runner, with a compose model given as data (no engine, no compose)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stacktasks.project import Project
from stacktasks.settings import resolve
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
    (root / "compose.yaml").write_text("services: {}\n")  # the model itself comes from the runner
    if pyproject:
        (root / "pyproject.toml").write_text(pyproject)
    runner.dry = dry
    runner.answer("version", "--short", stdout="2.30.0")
    runner.answer("config", "--format", "json", stdout=json.dumps(model or DEMO_MODEL))
    return Project(resolve(root, flags=flags), runner=runner, assume_yes=yes, dry=dry)
