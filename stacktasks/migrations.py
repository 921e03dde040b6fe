"""Which migration tool the app uses (Django, Alembic or a configured command), and its argv."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .errors import StackError
from .settings import Settings

if TYPE_CHECKING:
    from .project import Project

SKIPPED_DIRECTORIES = {".git", ".venv", "venv", "node_modules", "__pycache__", ".tox", "backups"}
#: Django's or Alembic's own commands, or the command app.migrate gives.
MigrationTool = Literal["django", "alembic", "command"]
MARKERS: tuple[tuple[str, MigrationTool], ...] = (("manage.py", "django"), ("alembic.ini", "alembic"))


def detect_tool(settings: Settings, max_depth: int = 3) -> tuple[MigrationTool, str]:
    """(tool, why): app.migrate when set, else the first manage.py that is Django's or alembic.ini
    under the project. A ``manage.py`` that is not Django's (a shell script wrapping ``docker
    compose exec``, as some stacks keep at their root) is not taken for Django."""
    if settings.app.migrate == "django":
        return "django", "app.migrate"
    if settings.app.migrate == "alembic":
        return "alembic", "app.migrate"
    if settings.app.migrate:
        return "command", "app.migrate"
    start = settings.directory
    not_django: list[str] = []
    for directory, names, files in os.walk(start):
        depth = len(Path(directory).relative_to(start).parts)
        names[:] = sorted(n for n in names if n not in SKIPPED_DIRECTORIES and depth < max_depth)
        for marker, tool in MARKERS:
            if marker not in files:
                continue
            found = Path(directory, marker)
            if tool == "django" and not is_djangos_manage_py(found):
                not_django.append(str(found.relative_to(start)))
                continue
            return tool, f"found {found.relative_to(start)}"
    if not_django:
        raise StackError(
            f"{not_django[0]} is not Django's manage.py (it does not start Django's command line), and no "
            "other migration tool was found: stacktasks does not guess the command",
            hint='set app.migrate to the command the stack\'s README gives for migrations (or "django", "alembic")',
        )
    raise StackError(
        "no migration tool found (no manage.py or alembic.ini under the project)",
        hint='set app.migrate to "django", "alembic" or the command to run',
    )


def is_djangos_manage_py(path: Path) -> bool:
    """Whether ``path`` is Django's manage.py: Python (no shell's #! line) that runs Django's
    command line, as ``django-admin startproject`` writes it."""
    try:
        with path.open("rb") as handle:
            head = handle.read(64 * 1024)
    except OSError:
        return False
    first = head.split(b"\n", 1)[0]
    if first.startswith(b"#!") and b"python" not in first:
        return False
    return b"django" in head and (b"execute_from_command_line" in head or b"DJANGO_SETTINGS_MODULE" in head)


def migrate_command(settings: Settings, extra: list[str]) -> list[str]:
    tool, _ = detect_tool(settings)
    if tool == "django":
        command = ["python", "manage.py", "migrate"]
    elif tool == "alembic":
        command = ["alembic", "upgrade", "head"] if not extra else ["alembic", "upgrade"]
    else:
        command = shlex.split(settings.app.migrate or "")
    return [*settings.app.prefix, *command, *extra]


def makemigrations_command(settings: Settings, message: str, extra: list[str]) -> list[str]:
    if settings.app.makemigrations:
        return [*settings.app.prefix, *shlex.split(settings.app.makemigrations), *extra]
    tool, _ = detect_tool(settings)
    if tool == "django":
        command = ["python", "manage.py", "makemigrations", *(["--name", message] if message else [])]
    elif tool == "alembic":
        if not message:
            raise StackError(
                "alembic needs a message for the revision",
                hint='inv db.makemigrations -m "add users"',
                code=2,
            )
        command = ["alembic", "revision", "--autogenerate", "-m", message]
    else:
        raise StackError(
            "app.migrate is a custom command, so there is no known way to make migrations",
            hint="set app.makemigrations to the command",
        )
    return [*settings.app.prefix, *command, *extra]


def wait_for_database(project: Project) -> None:
    """Migrations need the database: wait until it accepts connections (when there is one)."""
    from .db.target import resolve_target, wait_until_ready

    try:
        target = resolve_target(project)
    except StackError as error:
        project.runner.note(f"not waiting for a database: {error.message}")
        return
    wait_until_ready(project, target, project.settings.db.wait_timeout)


def _in_app(project: Project, command: list[str], what: str) -> None:
    from .lifecycle import run_in_service
    from .project import interactive_terminal

    code = run_in_service(project, project.service("app"), command, interactive=interactive_terminal())
    if code:
        raise StackError(f"{what} exited with {code}", code=code)


def apply_migrations(project: Project, args: str) -> None:
    command = migrate_command(project.settings, shlex.split(args) + project.extra_args)
    wait_for_database(project)
    _in_app(project, command, "migrations")


def make_migrations(project: Project, message: str, args: str) -> None:
    command = makemigrations_command(project.settings, message, shlex.split(args) + project.extra_args)
    wait_for_database(project)
    _in_app(project, command, "makemigrations")
