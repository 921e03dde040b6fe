"""Which migration tool the app uses, and its argv."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacktasks.errors import StackError
from stacktasks.migrations import detect_tool, makemigrations_command, migrate_command
from stacktasks.settings import Settings, resolve


def _settings(tmp_path: Path, **app: object) -> Settings:
    return resolve(tmp_path, collection_overrides={"app": app} if app else None)


#: Django's manage.py, as django-admin startproject writes it.
DJANGO_MANAGE = (
    "#!/usr/bin/env python\nimport os\nimport sys\n\n"
    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'site.settings')\n"
    "from django.core.management import execute_from_command_line\n\nexecute_from_command_line(sys.argv)\n"
)
#: A host-side wrapper some stacks keep at their root under the same name.
WRAPPER = '#!/bin/sh\nexec docker compose exec -T web python manage.py "$@"\n'


def test_migrate_is_django_when_the_project_has_manage_py(tmp_path: Path) -> None:
    (tmp_path / "backend").mkdir()
    (tmp_path / "backend" / "manage.py").write_text(DJANGO_MANAGE)
    settings = _settings(tmp_path, prefix=["uv", "run"])
    assert migrate_command(settings, []) == ["uv", "run", "python", "manage.py", "migrate"]


def test_migrate_is_alembic_upgrade_head_and_takes_a_revision(tmp_path: Path) -> None:
    (tmp_path / "alembic.ini").write_text("")
    assert migrate_command(_settings(tmp_path), []) == ["alembic", "upgrade", "head"]
    assert migrate_command(_settings(tmp_path), ["+1"]) == ["alembic", "upgrade", "+1"]


def test_a_configured_migrate_command_wins_over_detection(tmp_path: Path) -> None:
    (tmp_path / "manage.py").write_text(DJANGO_MANAGE)
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


def test_a_shell_script_named_manage_py_is_not_taken_for_django(tmp_path: Path) -> None:
    (tmp_path / "manage.py").write_text(WRAPPER)
    with pytest.raises(StackError, match=r"is not Django's manage\.py") as raised:
        detect_tool(Settings(root=tmp_path))
    assert "app.migrate" in (raised.value.hint or "")


def test_past_a_wrapper_named_manage_py_the_real_tool_is_found(tmp_path: Path) -> None:
    (tmp_path / "manage.py").write_text(WRAPPER)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "manage.py").write_text(DJANGO_MANAGE)
    assert detect_tool(Settings(root=tmp_path)) == ("django", "found app/manage.py")
