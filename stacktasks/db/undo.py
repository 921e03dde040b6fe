"""db.undo: put back the database the last restore replaced, or restore the latest safety dump."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import StackError, interrupts_deferred
from . import backupfiles
from .admin import aside_name, database_exists, database_oid
from .backup import backup_directory
from .manifest import Reason
from .restore import restore_database
from .session import guarded_admin
from .swap import close_database, reopen_database, swap
from .target import resolve_target

if TYPE_CHECKING:
    import psycopg

    from ..project import Project


def undo_restore(project: Project) -> str | None:
    """Swap the database kept by the last restore back in (the current one becomes the undo point)."""
    target = resolve_target(project)
    database = target.dbname
    undo = aside_name(database, "__undo")
    if project.dry:
        project.runner.note(
            f"end the sessions on {database}; swap it with {undo} in one transaction "
            "(or restore the latest safety dump where there is no such database)"
        )
        return None
    with guarded_admin(project, target) as admin:
        if database_exists(admin, undo):
            project.confirm(f"put back {undo} as {database} (the current {database} becomes {undo})")
            swap_back(project, admin, database, undo)
            return f"{undo} is {database} again; what was {database} is now {undo}"
    return restore_safety_dump(project, database, undo)


def swap_back(project: Project, admin: psycopg.Connection[Any], database: str, undo: str) -> None:
    """Three renames in one transaction: ``database`` and ``undo`` trade names, or nothing happens."""
    aside = aside_name(database, "__swap")
    expect = {database: database_oid(admin, database), undo: database_oid(admin, undo)}
    with interrupts_deferred() as deferred:  # the swap completes or rolls back; then a signal stops us
        try:
            close_database(admin, database)
            renames = [(database, aside), (undo, database), (aside, undo)]
            swap(admin, renames, reopen=[undo], stop_requested=deferred.stop_requested, expect=expect)
        except BaseException:
            if database_exists(admin, database):
                reopen_database(admin, database)
            raise


def restore_safety_dump(project: Project, database: str, undo: str) -> str:
    safety = [
        b
        for b in backupfiles.list_backups(backup_directory(project))
        if b.manifest and b.manifest.reason is Reason.BEFORE_RESTORE and b.database == database
    ]
    if not safety:
        raise StackError(f"nothing to undo: no {undo} database and no safety dump of {database}")
    result = restore_database(project, safety[-1].path)
    assert result is not None
    return f"restored the safety dump {safety[-1].path.name}"
