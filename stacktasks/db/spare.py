"""Ready spares: a second copy of each snapshot, kept closed beside it, so that ``db.rollback``
renames the spare into the database's place instead of copying the snapshot while the app waits.

The states, whatever kills stacktasks:

1. ``<db>__sparing``: a copy of the snapshot being made, closed to connections from its creation.
   Killed here: the next run drops it (swap.py's ``recover``).
2. one transaction renames it to ``<db>__spare_<name>`` and writes its record, sealed over the
   spare's oid and its snapshot's: it is a spare only once that commits.
3. a rollback renames the spare to ``<db>`` in the swap's one transaction (replace.py), which also
   opens it, gives it the database's owner and removes its record. Only then is the next spare
   made (1, 2), while the app already works on the database.

A snapshot without a ready spare (taken before spares, or its spare's making was cut short) gets
one from the next ``db.snapshot`` or ``db.rollback``; a rollback without one copies the snapshot as
before, and says so. ``db.snapshot --no-spare`` records that the snapshot wants none.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import StackError, first_line, interrupts_deferred
from .admin import aside_name, create_copy, database_exists, database_oid, drop_database, statement
from .ours import seal, verifies

if TYPE_CHECKING:
    import psycopg

    from ..project import Project

RECORD = "stacktasks_spare"


@dataclass(frozen=True)
class Spare:
    database: str  # the server's database holding it
    size: int  # bytes, as the server counts it
    ready: bool  # closed and still the copy of the snapshot it was made from


@dataclass(frozen=True)
class MadeSpare:
    snapshot: str
    seconds: float
    failure: str = ""  # why none was made (the disk, a lock): the next rollback copies the snapshot


def spare_database_name(database: str, snapshot: str) -> str:
    return aside_name(database, f"__spare_{snapshot}")


def spares_of(admin: psycopg.Connection[Any], database: str, snapshots: dict[str, int], key: bytes) -> dict[str, Spare]:
    """The spares of ``database``'s snapshots (name -> the snapshot's oid) that this project made:
    its record's seal verifies for the spare's own oid and its snapshot's. A spare whose snapshot
    was replaced since, or that was opened to connections (it may differ now), is not ready."""
    rows = admin.execute(
        "select oid, datname, datallowconn, shobj_description(oid, 'pg_database'), pg_database_size(oid) "
        "from pg_database where shobj_description(oid, 'pg_database') like %s",
        [f'{{"{RECORD}"%'],
    ).fetchall()
    found: dict[str, Spare] = {}
    for oid, datname, allowed, comment, size in rows:
        try:
            record = json.loads(comment)
            name, of = str(record[RECORD]), int(record["snapshot_oid"])
        except (ValueError, KeyError, TypeError):
            continue
        if record.get("database") != database or datname != spare_database_name(database, name):
            continue
        if not verifies(key or None, record.get("seal"), "spare", oid, datname, name, database, of):
            continue
        found[name] = Spare(str(datname), int(size), ready=not allowed and snapshots.get(name) == of)
    return found


def make_spare(
    project: Project,
    admin: psycopg.Connection[Any],
    database: str,
    snapshot: str,
    snapshot_db: str,
    key: bytes,
    stale: Spare | None = None,
) -> MadeSpare:
    """States 1 and 2 for one snapshot, in place of ``stale`` (a spare of ours that is not ready).
    A failure of the copy itself is said, not raised: the task's own work is done, and a rollback
    without a spare still works (by copying)."""
    import psycopg

    sparing, spare = aside_name(database, "__sparing"), spare_database_name(database, snapshot)
    started = time.monotonic()
    if stale is None and database_exists(admin, spare):
        return MadeSpare(snapshot, 0.0, f"{spare} is a database stacktasks did not make; it is left alone")
    project.runner.note(f"make the ready spare of snapshot {snapshot} ({spare}): a copy of the closed snapshot")
    if stale is not None:
        drop_database(admin, stale.database)
    try:
        create_copy(admin, sparing, snapshot_db, allow_connections=False)
    except BaseException as error:
        with interrupts_deferred():
            drop_database(admin, sparing)
        if isinstance(error, psycopg.Error | StackError):
            return MadeSpare(snapshot, time.monotonic() - started, first_line(str(error)) or type(error).__name__)
        raise
    oid, of = database_oid(admin, sparing), database_oid(admin, snapshot_db)
    record = {
        RECORD: snapshot,
        "database": database,
        "snapshot_oid": of,
        "seal": seal(key, "spare", oid, spare, snapshot, database, of),
    }
    from psycopg import sql

    with interrupts_deferred(), admin.transaction():  # a spare only with its record, at once
        admin.execute(statement("alter database {} rename to {}", sparing, spare))
        admin.execute(statement("comment on database {} is ", spare) + sql.Literal(json.dumps(record)))
    return MadeSpare(snapshot, time.monotonic() - started)


def taken_into_place(database: str, owner: str | None) -> list[Any]:
    """What the swap's transaction does to the spare once it holds the name ``database``: the
    database's owner, connections allowed (with the other renames' reopening), no record."""
    statements = [statement("comment on database {} is null", database)]
    if owner:
        statements.append(statement("alter database {} owner to {}", database, owner))
    return statements
