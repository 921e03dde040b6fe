"""db.backup --sanitize: a dump to share, made from a sanitised copy of the database.

The database is copied into ``<db>__sanitizing`` on the same server the way db.pull copies a
stage (its own pg_dump in a snapshot, streamed through the plain-dump checker into psql, applied
by the load role: no file of its rows is written), the rules run there (sanitize.py), that copy
is dumped as a backup whose manifest records the database it stands for and the rules' digest,
and the copy is dropped. A run killed on the way leaves the copy, which the next one drops first;
one runs at a time per database (an advisory lock of its own, released if its holder dies).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from ..errors import StackError, interrupts_deferred
from .admin import admin_database, aside_name, can_create_databases, connect, database_exists, drop_database
from .backup import BackupResult, Sanitized, default_backup_name, dump_database
from .pull import load_from_stage, read_source
from .sanitize import Rule, RuleResult, apply_rules, rules_digest, sanitizing_rules
from .session import guarded_admin
from .target import resolve_target

if TYPE_CHECKING:
    from ..project import Project
    from .dumpread import BackupFormat
    from .exclusions import Exclusions
    from .target import DbTarget


def backup_sanitized(
    project: Project, *, name: str | None, fmt: BackupFormat, exclude: Exclusions | None
) -> tuple[BackupResult, tuple[RuleResult, ...]] | None:
    """The sanitised backup and what each rule changed; None under dry-run."""
    rules = sanitizing_rules(project)
    target = resolve_target(project)
    copy = aside_name(target.dbname, "__sanitizing")
    if project.dry:
        labels = ", ".join(rule.label for rule in rules)
        project.runner.note(
            f"copy {target.dbname} into {copy} (pg_dump in a snapshot streamed into psql), run the sanitising "
            f"rules there in one transaction ({labels}), back {copy} up as a dump of {target.dbname}, drop {copy}"
        )
        return None
    guard = connect(target, admin_database(target, project.settings.db.maintenance_db))
    try:
        lock = [f"stacktasks sanitizing {target.dbname}"]
        found = guard.execute("select pg_try_advisory_lock(hashtext(%s))", lock).fetchone()
        if not found or not found[0]:
            raise StackError(
                f"another sanitised backup of {target.dbname} is running now", hint="wait for it to finish"
            )
        if database_exists(guard, copy):
            project.runner.note(f"dropped {copy}, the copy of an interrupted sanitised backup")
            drop_database(guard, copy)
        try:
            sanitized = _sanitised_copy(project, target, copy, rules, exclude)
            stem = name or default_backup_name(project, target, None) + "-sanitized"
            result = dump_database(
                project,
                name=stem,
                fmt=fmt,
                target=replace(target, dbname=copy),
                sanitized=Sanitized(target.dbname, rules_digest(rules)),
            )
        finally:
            with interrupts_deferred():  # the copy never outlives the run, a signal included
                drop_database(guard, copy)
    finally:
        guard.close()
    assert result is not None
    return result, sanitized


def _sanitised_copy(
    project: Project, target: DbTarget, copy: str, rules: tuple[Rule, ...], exclude: Exclusions | None
) -> tuple[RuleResult, ...]:
    """``copy`` made from the database, streamed, its counts checked, the rules run in it."""
    conn = connect(target, autocommit=False)
    try:
        source = read_source(project, target, conn)
        with guarded_admin(project, target) as admin:
            if not can_create_databases(admin):
                raise StackError(
                    f"--sanitize needs a role that may create databases: the rules run in a copy of "
                    f"{target.dbname}, and {target.user} may not create one; nothing was written"
                )
            load_from_stage(project, admin, target, source, copy, exclude)
            project.runner.note(f"run {len(rules)} sanitising rule(s) in {copy}, in one transaction")
            return apply_rules(target, copy, rules)
    finally:
        conn.close()
