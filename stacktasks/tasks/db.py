"""The db namespace: migrate, makemigrations, shell, backup, backups, restore, undo."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from invoke.context import Context

from ..errors import StackError
from . import remainder_argv, shown_path, stack_task

if TYPE_CHECKING:
    from ..dumps import Confirm
    from ..project import Project


def _confirmer(project: Project, yes: bool) -> Confirm:
    from ..safety import confirm

    def ask(action: str, name: str) -> None:
        confirm(action, yes=yes, protected=project.settings.is_protected, expected=name, dry=project.runner.dry)

    return ask


def _wait_for_database(project: Project) -> None:
    from ..postgres import resolve_target, wait_until_ready

    try:
        target = resolve_target(project)
    except StackError as error:
        project.runner.note(f"not waiting for a database: {error.message}")
        return
    wait_until_ready(project, target, project.settings.db.wait_timeout)


def _in_app(project: Project, command: list[str], what: str) -> None:
    from ..project import interactive_terminal

    code = project.run_in_service(project.service("app"), command, interactive=interactive_terminal())
    if code:
        raise StackError(f"{what} exited with {code}", code=code)


@stack_task(help={"args": "more arguments for the migration command (or give them after --)"})
def migrate(c: Context, args: str = "") -> None:
    """Apply migrations in the app service (Django migrate, alembic upgrade head, or app.migrate),
    once the database accepts connections. For Alembic, arguments name the revision."""
    from ..migrations import migrate_command
    from ..project import Project

    project = Project.from_context(c)
    command = migrate_command(project.settings, shlex.split(args) + remainder_argv(c))
    _wait_for_database(project)
    _in_app(project, command, "migrations")


@stack_task(
    help={
        "message": "the migration's name (required for Alembic: revision -m)",
        "args": "more arguments (or give them after --)",
    }
)
def makemigrations(c: Context, message: str = "", args: str = "") -> None:
    """Make migrations from model changes: Django makemigrations, alembic revision --autogenerate."""
    from ..migrations import makemigrations_command
    from ..project import Project

    project = Project.from_context(c)
    command = makemigrations_command(project.settings, message, shlex.split(args) + remainder_argv(c))
    _wait_for_database(project)
    _in_app(project, command, "makemigrations")


@stack_task(help={"args": "arguments for psql, e.g. -c 'select 1' (or give them after --)"})
def shell(c: Context, args: str = "") -> None:
    """Open psql on the project's database (in its container, or on the host for a URL)."""
    from ..postgres import choose_client, resolve_target
    from ..project import Project, interactive_terminal

    project = Project.from_context(c)
    target = resolve_target(project)
    extra = shlex.split(args) + remainder_argv(c)
    client = choose_client(project, target, None)
    interactive = interactive_terminal()
    argv = client.argv("psql", extra, stdin=True)
    if client.where == "service" and interactive:
        argv.remove("-T")
    elif client.where == "container" and interactive:
        argv.insert(argv.index("-i") + 1, "-t")
    code = project.runner.run(argv, check=False, extra_env=client.env())
    if code:
        raise StackError(f"psql exited with {code}", code=code)


@stack_task(
    help={
        "name": "file name without suffix (default: DATABASE-STAGE-TIMESTAMP)",
        "format": "custom (default: compressed, restorable in parallel) or plain (SQL text)",
    }
)
def backup(c: Context, name: str = "", format: str = "custom") -> None:  # noqa: A002 - the flag is --format
    """Dump the database to backups/ (streamed, atomic, 0600) with a manifest of row counts."""
    from ..dumpfiles import human_size
    from ..dumps import dump_database
    from ..project import Project
    from ..safety import has_terminal

    project = Project.from_context(c)
    result = dump_database(project, name=name or None, fmt=format, progress=has_terminal(sys.stderr))
    if result is None:
        return
    print(
        f"backup: {shown_path(result.path)} ({human_size(result.size)}, "
        f"{result.tables} tables, {result.seconds:.1f}s)"
    )


@stack_task()
def backups(c: Context) -> None:
    """List the backups, oldest first, with size, database and why each was taken."""
    from ..dumpfiles import human_size, incomplete_backups, list_backups
    from ..dumps import backup_directory
    from ..project import Project

    project = Project.from_context(c)
    directory = backup_directory(project)
    found = list_backups(directory)
    if not found:
        print(f"no backups in {directory}")
    for item in found:
        manifest = item.manifest or {}
        why = manifest.get("reason", "no manifest")
        print(f"{item.created:<25}  {human_size(item.path.stat().st_size):>9}  {item.database:<16}  "
              f"{why:<15}  {shown_path(item.path)}")
    for partial in incomplete_backups(directory):
        print(f"incomplete (interrupted, not restorable): {shown_path(partial)}")


@stack_task(
    help={
        "file": "the dump to restore (or give it after --); custom, tar, plain SQL, gzipped or not",
        "latest": "restore the newest backup in backups/",
        "yes": "confirm without asking (for scripts)",
        "jobs": "parallel pg_restore jobs (default: db.jobs, else up to 4 by CPU count)",
    }
)
def restore(c: Context, file: str = "", latest: bool = False, yes: bool = False, jobs: int = 0) -> None:
    """Replace the database with a dump, atomically: restored aside, checked, then swapped in.
    The replaced database is kept until the next restore (inv db.undo)."""
    from ..dumps import restore_database
    from ..project import Project

    project = Project.from_context(c)
    path = _dump_path(project, file, remainder_argv(c), latest)
    result = restore_database(project, path, confirm=_confirmer(project, yes), jobs=jobs or None)
    if result is None:
        return
    lines = [f"restored {shown_path(path)} into {result.database} in {result.seconds:.1f}s"]
    if result.verified_tables:
        lines.append(f"row counts of {result.verified_tables} tables match the manifest")
    if result.ended_sessions:
        lines.append(f"ended {result.ended_sessions} other sessions")
    if result.kept_as:
        lines.append(f"the previous database is kept as {result.kept_as}: inv db.undo puts it back")
    if result.safety_dump:
        lines.append(f"safety dump: {shown_path(result.safety_dump)} (inv db.undo restores it)")
    print("\n".join(lines))


def _dump_path(project: Project, file: str, rest: list[str], latest: bool) -> Path:
    from ..dumps import backup_directory, latest_backup

    given = [item for item in [file, *rest] if item]
    if latest and given:
        raise StackError("give a file or --latest, not both", code=2)
    if latest:
        return latest_backup(project)
    if len(given) != 1:
        raise StackError("which dump? give one file, or --latest", hint="inv db.backups lists them", code=2)
    path = Path(given[0]).expanduser()
    if not path.exists() and not path.is_absolute():
        in_backups = backup_directory(project) / path
        if in_backups.exists():
            return in_backups
    return path.resolve()


@stack_task(help={"yes": "confirm without asking (for scripts)"})
def undo(c: Context, yes: bool = False) -> None:
    """Put back the database the last restore replaced (or the latest safety dump)."""
    from ..dumps import undo_restore
    from ..project import Project

    project = Project.from_context(c)
    message = undo_restore(project, confirm=_confirmer(project, yes))
    if message:
        print(message)
