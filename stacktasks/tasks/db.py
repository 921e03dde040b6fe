"""The db namespace: migrate, makemigrations, shell, backup, backups, restore, undo."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from . import shown_path, stack_task
from .hooks import NO_HOOKS_HELP, RESTORED, prepared_hooks

if TYPE_CHECKING:
    from ..db.dumpread import BackupFormat
    from ..db.exclusions import Exclusions
    from ..project import Project


@stack_task(help={"args": "more arguments for the migration command (or give them after --)"})
def migrate(project: Project, args: str = "") -> None:
    """Apply migrations in the app service once the database accepts connections.

    Django migrate, alembic upgrade head, or app.migrate; for Alembic, arguments name the revision.
    """
    from ..migrations import apply_migrations

    apply_migrations(project, args)


@stack_task(
    help={
        "message": "the migration's name (required for Alembic: revision -m)",
        "args": "more arguments (or give them after --)",
    }
)
def makemigrations(project: Project, message: str = "", args: str = "") -> None:
    """Make migrations from model changes: Django makemigrations, alembic revision --autogenerate."""
    from ..migrations import make_migrations

    make_migrations(project, message, args)


@stack_task(help={"args": "arguments for psql, e.g. -c 'select 1' (or give them after --)"})
def shell(project: Project, args: str = "") -> None:
    """Open psql on the project's database (in its container, or on the host for a URL)."""
    from ..db.tools import open_psql

    open_psql(project, args)


@stack_task(
    help={
        "name": "file name without suffix (default: DATABASE-STAGE-TIMESTAMP)",
        "format": "custom (default: compressed, restorable in parallel) or plain (SQL text)",
        "output": "- writes the dump to stdout instead (for | gzip, | ssh …): no file, no manifest",
        "exclude_table_data": "leave out this table's rows, keep its definition (pg_dump pattern; repeatable)",
        "exclude_table": "leave out this table entirely (pg_dump pattern; repeatable)",
        "sanitize": "a dump to share: made from a copy on the same server where the sanitising rules"
        " (db.sanitize, db.sanitize_file) ran; the manifest says so",
    },
    iterable=["exclude_table_data", "exclude_table"],
)
def backup(
    project: Project,
    name: str = "",
    format: str = "custom",  # noqa: A002 - the flag is --format
    output: str = "",
    exclude_table_data: list[str] | None = None,
    exclude_table: list[str] | None = None,
    sanitize: bool = False,
) -> None:
    """Dump the database to backups/ (streamed, atomic, 0600) with a manifest of row counts.

    With --sanitize the dump is made from a sanitised copy (dropped after), to share.
    """
    from ..db.backup import backup_format, dump_database
    from ..db.dumpfiles import human_size
    from ..safety import has_terminal

    to_stdout = output == "-"
    if output and not to_stdout:
        from ..errors import USAGE, StackError

        raise StackError(f"--output takes - (stdout) only, not {output!r}; name a file with --name", code=USAGE)
    progress = has_terminal(sys.stderr) and not to_stdout
    from ..db.exclusions import Exclusions

    exclude = Exclusions.of(exclude_table or [], exclude_table_data or [])
    if sanitize:
        return _backup_sanitized(project, name, backup_format(format), exclude or None, to_stdout)
    result = dump_database(
        project,
        name=name or None,
        fmt=backup_format(format),
        progress=progress,
        to_stdout=to_stdout,
        exclude=exclude or None,
    )
    if result is None:
        return
    where = "stdout" if result.path is None else shown_path(result.path)
    summary = f"backup: {where} ({human_size(result.size)}, {result.tables} tables, {result.seconds:.1f}s)"
    print(summary, file=sys.stderr if to_stdout else sys.stdout)


def _backup_sanitized(
    project: Project, name: str, fmt: BackupFormat, exclude: Exclusions | None, to_stdout: bool
) -> None:
    from ..db.dumpfiles import human_size
    from ..db.sanitized_dump import backup_sanitized

    if to_stdout:
        from ..errors import USAGE, StackError

        raise StackError("--sanitize writes a backup file with its manifest: it takes no --output -", code=USAGE)
    made = backup_sanitized(project, name=name or None, fmt=fmt, exclude=exclude)
    if made is not None:
        done, rules = made
        where = shown_path(done.path) if done.path else "-"
        print(f"backup: {where} ({human_size(done.size)}, {done.tables} tables)")
        print("sanitised: " + ", ".join(rule.describe() for rule in rules))


@stack_task(
    help={
        "json": "print the backups as JSON (for scripts and CI)",
        "prune": "remove manual backups: beyond --keep, or older than --older-than (asks first)",
        "keep": "with --prune: how many of the newest manual backups stay",
        "older_than": "with --prune: remove manual backups older than this (30d, 12h, 2w)",
        "yes": "confirm the prune without asking (for scripts)",
    }
)
def backups(
    project: Project, json: bool = False, prune: bool = False, keep: int = -1, older_than: str = "", yes: bool = False
) -> None:
    """List the backups, oldest first, with size, database and why each was taken."""
    from ..db.backup import backup_directory
    from ..db.backupfiles import incomplete_backups, list_backups
    from ..db.backups import backup_record, prune_backups
    from ..db.dumpfiles import human_size

    if prune:
        pruned = prune_backups(project, keep=keep if keep >= 0 else None, older_than=older_than or None)
        verb = "would remove" if project.dry else "removed"
        names = ", ".join(path.name for path in pruned.removed)
        print(f"{verb} {len(pruned.removed)} manual backup(s){': ' + names if names else ''}; {pruned.kept} kept")
        return
    directory = backup_directory(project)
    found = list_backups(directory)
    if json:
        import json as json_module

        records = {
            "backups": [backup_record(item) for item in found],
            "incomplete": [str(path) for path in incomplete_backups(directory)],
        }
        print(json_module.dumps(records, indent=2))
        return
    if not found:
        print(f"no backups in {directory}")
    for item in found:
        why = item.reason
        size = human_size(item.path.stat().st_size)
        print(f"{item.created:<25}  {size:>9}  {item.database:<16}  {why:<15}  {shown_path(item.path)}")
    for partial in incomplete_backups(directory):
        print(f"incomplete (interrupted, not restorable): {shown_path(partial)}")


@stack_task(
    help={
        "file": "the dump to restore (or after --); custom, tar or plain SQL, plain or compressed"
        " (gzip, zstd, xz, bzip2, a zip of one); - reads it from stdin",
        "latest": "restore the newest backup in backups/",
        "yes": "confirm without asking (for scripts)",
        "jobs": "parallel pg_restore jobs (default: db.jobs, else up to 4 by CPU count)",
        "sanitize": "run the project's sanitising rules (db.sanitize, db.sanitize_file) in the restored copy"
        " before it replaces the database",
        "no-hooks": NO_HOOKS_HELP,
    }
)
def restore(
    project: Project,
    file: str = "",
    latest: bool = False,
    yes: bool = False,
    jobs: int = 0,
    sanitize: bool = False,
    no_hooks: bool = False,
) -> None:
    """Replace the database with a dump, atomically: restored aside, checked, then swapped in.

    The replaced database is kept until the next restore (inv db.undo). With --sanitize the
    project's rules run in the restored copy (one transaction) before it replaces the database.
    """
    from ..db.inputs import STDIN, readable_dump
    from ..db.restore import dump_to_restore, restore_database

    hooks = prepared_hooks(project, "after_restore", no_hooks)
    path = dump_to_restore(project, file, latest)
    if path == STDIN and project.dry:
        project.runner.note("read the dump from stdin into a private file in backups/, then restore it as below")
        return
    if path is None:  # --latest: a backup stacktasks wrote, chosen once the database is known
        result = restore_database(project, None, jobs=jobs or None, sanitize=sanitize)
    else:
        with readable_dump(project, path) as readable:
            result = restore_database(project, readable, jobs=jobs or None, sanitize=sanitize)
    if result is None:
        hooks.run()
        return
    chosen = path if path is not None else result.source
    assert chosen is not None
    source = "the dump from stdin" if chosen == STDIN else shown_path(chosen)
    lines = [f"restored {source} into {result.database} in {result.seconds:.1f}s"]
    if result.origin.database and result.origin.database != result.database:
        lines.append(f"note: this is a dump of another database, {result.origin.database} ({result.origin.describe()})")
    if result.verified_tables:
        lines.append(f"row counts of {result.verified_tables} tables match the manifest")
    if result.sanitized:
        lines.append("sanitised: " + ", ".join(rule.describe() for rule in result.sanitized))
    if result.ended_sessions:
        lines.append(f"ended {result.ended_sessions} other sessions")
    if result.kept_as:
        lines.append(f"the previous database is kept as {result.kept_as}: inv db.undo puts it back")
    if result.safety_dump:
        lines.append(f"safety dump: {shown_path(result.safety_dump)} (inv db.undo restores it)")
    print("\n".join(lines))
    hooks.run(done=RESTORED.format(what="restore", database=result.database))


@stack_task(
    help={
        "from": "the stage to pull from (its own env files, compose files and docker context locate its database)",
        "yes": "confirm without asking (for scripts)",
        "no_sanitize": "bring the stage's rows as they are (by default the project's sanitising rules run)",
        "exclude_table_data": "leave out this table's rows on the stage's side (pg_dump pattern; repeatable)",
        "no-hooks": NO_HOOKS_HELP,
    },
    iterable=["exclude_table_data"],
)
def pull(
    project: Project,
    from_: str = "",
    yes: bool = False,
    no_sanitize: bool = False,
    exclude_table_data: list[str] | None = None,
    no_hooks: bool = False,
) -> None:
    """Replace the database with a stage's, streamed and sanitised: no file of its rows here.

    The stage's pg_dump (in a snapshot, read-only) streams into a copy here, whose row counts are
    checked against the stage's; the sanitising rules (db.sanitize, db.sanitize_file) run in it;
    then it is swapped in as db.restore does (inv db.undo puts the old one back).
    """
    from ..db.exclusions import Exclusions
    from ..db.pull import pull_database

    exclude = Exclusions.of((), exclude_table_data or [])
    hooks = prepared_hooks(project, "after_restore", no_hooks)
    result = pull_database(project, from_, sanitize=not no_sanitize, exclude=exclude or None)
    if result is None:
        hooks.run()
        return
    lines = [f"pulled {result.stage}'s {result.source} into {result.database} in {result.seconds:.1f}s"]
    lines.append(f"row counts of {result.verified_tables} tables match {result.stage}'s")
    if result.sanitized:
        lines.append("sanitised: " + ", ".join(rule.describe() for rule in result.sanitized))
    if result.kept_as:
        lines.append(f"the previous database is kept as {result.kept_as}: inv db.undo puts it back")
    print("\n".join(lines))
    hooks.run(done=RESTORED.format(what="pull", database=result.database))


@stack_task(help={"yes": "confirm without asking (for scripts)", "no-hooks": NO_HOOKS_HELP})
def undo(project: Project, yes: bool = False, no_hooks: bool = False) -> None:
    """Put back the database the last restore replaced (or the latest safety dump).

    Then the after_restore hooks run ([tool.stacktasks.hooks]).
    """
    from ..db.undo import undo_restore

    hooks = prepared_hooks(project, "after_restore", no_hooks)
    message = undo_restore(project)
    if message:
        print(message)
    hooks.run(done="the undo itself is complete" if message else "")
