"""Which migration tool the app uses, and its argv."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacktasks.errors import StackError
from stacktasks.migrations import makemigrations_command, migrate_command
from stacktasks.settings import Settings, resolve


def _settings(tmp_path: Path, **app: object) -> Settings:
    return resolve(tmp_path, collection_overrides={"app": app} if app else None)


def test_migrate_is_django_when_the_project_has_manage_py(tmp_path: Path) -> None:
    (tmp_path / "backend").mkdir()
    (tmp_path / "backend" / "manage.py").write_text("")
    settings = _settings(tmp_path, prefix=["uv", "run"])
    assert migrate_command(settings, []) == ["uv", "run", "python", "manage.py", "migrate"]


def test_migrate_is_alembic_upgrade_head_and_takes_a_revision(tmp_path: Path) -> None:
    (tmp_path / "alembic.ini").write_text("")
    assert migrate_command(_settings(tmp_path), []) == ["alembic", "upgrade", "head"]
    assert migrate_command(_settings(tmp_path), ["+1"]) == ["alembic", "upgrade", "+1"]


def test_a_configured_migrate_command_wins_over_detection(tmp_path: Path) -> None:
    (tmp_path / "manage.py").write_text("")
    settings = _settings(tmp_path, migrate="npm run migrate")
    assert migrate_command(settings, []) == ["npm", "run", "migrate"]


def test_no_migration_tool_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="no migration tool found"):
        migrate_command(_settings(tmp_path), [])


def test_alembic_makemigrations_needs_a_message(tmp_path: Path) -> None:
    (tmp_path / "alembic.ini").write_text("")
    with pytest.raises(StackError, match="needs a message"):
        makemigrations_command(_settings(tmp_path), "", [])
    assert makemigrations_command(_settings(tmp_path), "add users", []) == [
        "alembic",
        "revision",
        "--autogenerate",
        "-m",
        "add users",
    ]
