"""db.undo: put back the database the last restore replaced, or restore the latest safety dump."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import StackError
from . import dumpfiles
from .admin import allow_connections, aside_name, connect, database_exists, drop_database, rename_database
from .backup import backup_directory
from .restore import restore_database
from .target import resolve_target

if TYPE_CHECKING:
    from ..project import Project


def undo_restore(project: Project) -> str | None:
    """Swap the database kept by the last restore back in (the current one becomes the undo point)."""
    target = resolve_target(project)
    database = target.dbname
    undo = aside_name(database, "__undo")
    if project.dry:
        project.runner.note(
            f"end the sessions on {database}; swap it with {undo} "
            "(or restore the latest safety dump where there is no such database)"
        )
        return None
    admin = connect(target, project.settings.db.maintenance_db)
    try:
        if database_exists(admin, undo):
            project.confirm(f"put back {undo} as {database} (the current {database} becomes {undo})")
            swap = aside_name(database, "__swap")
            drop_database(admin, swap)
            allow_connections(admin, database, False)
            try:
                rename_database(admin, database, swap)
            finally:
                allow_connections(admin, swap if database_exists(admin, swap) else database, True)
            rename_database(admin, undo, database)
            rename_database(admin, swap, undo)
            return f"{undo} is {database} again; what was {database} is now {undo}"
    finally:
        admin.close()
    safety = [
        b
        for b in dumpfiles.list_backups(backup_directory(project))
        if b.manifest and b.manifest.get("reason") == "before restore" and b.database == database
    ]
    if not safety:
        raise StackError(f"nothing to undo: no {undo} database and no safety dump of {database}")
    result = restore_database(project, safety[-1].path)
    assert result is not None
    return f"restored the safety dump {safety[-1].path.name}"
