"""Instant snapshots: PostgreSQL's own file-level copy of a database, kept on the server beside it.

``db.snapshot`` copies ``<db>`` with ``CREATE DATABASE … TEMPLATE <db> STRATEGY FILE_COPY`` (the
files as they are, no dump or reload); ``db.rollback`` copies a snapshot back into
``<db>__restoring`` and swaps it in exactly as ``db.restore`` does, keeping the replaced database
as ``<db>__undo``; the snapshot stays, for the next rollback.

The states, as for a restore (swap.py), whatever kills stacktasks:

1. ``<db>`` closed (with our marker) while it is the template: the copy needs it without sessions.
   Killed here: the next run of any of ours re-opens it (``recover``).
2. the copy under ``<db>__snapping``, not yet a snapshot. Killed here: the next run drops it.
3. one transaction renames it to ``<db>__snap_<name>``, closes it to connections (nobody changes a
   snapshot) and writes its record (a JSON comment: name, database, time), then ``<db>`` re-opens.

A snapshot is listed by its record, never by its name, so no other database is taken for one.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..errors import StackError, interrupts_deferred
from .admin import (
    allow_connections,
    aside_name,
    can_create_databases,
    database_exists,
    database_oid,
    database_owner,
    drop_database,
    server_major,
    statement,
)
from .ours import project_key, seal, verifies
from .replace import replace_from_aside
from .session import guarded_admin
from .swap import close_database, reopen_database
from .target import resolve_target

if TYPE_CHECKING:
    import psycopg

    from ..project import Project
    from .target import DbTarget

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
RECORD = "stacktasks_snapshot"


@dataclass(frozen=True)
class Snapshot:
    name: str
    database: str  # the server's database holding it
    source: str
    created: datetime
    size: int

    def age(self, now: datetime | None = None) -> str:
        seconds = int(((now or datetime.now(UTC)) - self.created).total_seconds())
        for unit, length in (("d", 86400), ("h", 3600), ("m", 60)):
            if seconds >= length:
                return f"{seconds // length}{unit}"
        return f"{seconds}s"


@dataclass
class SnapshotResult:
    snapshot: str
    database: str
    ended: int  # sessions ended on the source
    seconds: float
    size: int  # bytes, as the server counts the snapshot database


def snapshot_database(project: Project, name: str = "") -> SnapshotResult | None:
    """Copy the database into a new snapshot; None under dry-run."""
    target = resolve_target(project)
    name = name or datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    if not NAME.fullmatch(name):
        raise StackError(f"snapshot name {name!r}: use letters, digits, '.', '_' or '-' (at most 40)")
    copy, scratch = snapshot_database_name(target.dbname, name), aside_name(target.dbname, "__snapping")
    if project.dry:
        project.runner.note(
            f"end the sessions on {target.dbname} and close it, copy it as {scratch} "
            f"(create database … template {target.dbname} strategy file_copy), rename that to {copy}, re-open"
        )
        return None
    started = time.monotonic()
    with _admin(project, target) as admin:
        if database_exists(admin, copy):
            raise StackError(f"a snapshot named {name} exists", hint="choose another --name, or inv db.snapshots")
        key = snapshot_key(project, create=True)
        ended = _copy_closed_source(project, admin, target.dbname, scratch)
        created = datetime.now(UTC).isoformat()
        oid = database_oid(admin, scratch)
        record = {
            RECORD: name,
            "database": target.dbname,
            "created": created,
            "seal": seal(key, "snapshot", oid, copy, name, target.dbname, created),
        }
        with interrupts_deferred(), admin.transaction():  # the record goes with the rename, at once
            admin.execute(statement("alter database {} rename to {}", scratch, copy))
            allow_connections(admin, copy, False)
            admin.execute(statement("comment on database {} is ", copy) + _literal(json.dumps(record)))
        row = admin.execute("select pg_database_size(%s)", [copy]).fetchone()
    return SnapshotResult(name, target.dbname, ended, time.monotonic() - started, int(row[0]) if row else 0)


def _copy_closed_source(project: Project, admin: psycopg.Connection[Any], database: str, scratch: str) -> int:
    """States 1 and 2: ``database`` closed and without sessions while it is copied, re-opened after."""
    project.runner.note(f"close {database} and end its sessions: a database is copied only without them")
    ended = close_database(admin, database)
    try:
        create_copy(admin, scratch, database)
    except BaseException:
        with interrupts_deferred():
            drop_database(admin, scratch)
            reopen_database(admin, database)
        raise
    with interrupts_deferred():
        reopen_database(admin, database)
    return ended


def create_copy(admin: psycopg.Connection[Any], name: str, template: str) -> None:
    """``name`` as a file-level copy of ``template`` (STRATEGY FILE_COPY from PostgreSQL 15, where
    the default became WAL_LOG, several times slower for a database of any size)."""
    import psycopg

    query = statement("create database {} template {}", name, template)
    if server_major(admin) >= 15:
        query += statement(" strategy file_copy")
    try:
        admin.execute(query)
    except psycopg.errors.ObjectInUse:
        raise StackError(f"{template} is in use again: a session reconnected during the copy; try again") from None


def list_snapshots(project: Project) -> list[Snapshot]:
    """The database's snapshots, oldest first, with size."""
    target = resolve_target(project)
    if project.dry:
        return []
    with _admin(project, target, locked=False) as admin:
        return snapshots_of(admin, target.dbname, snapshot_key(project))


def snapshot_key(project: Project, *, create: bool = False) -> bytes:
    """The project's key (ours.py): a snapshot is ours only where its record's seal verifies."""
    from .backup import backup_directory

    key = project_key(backup_directory(project), create=create)
    return key or b""


def snapshots_of(admin: psycopg.Connection[Any], database: str, key: bytes) -> list[Snapshot]:
    """The snapshots of ``database`` this project made: a database whose name has the snapshot
    form and whose record's seal verifies for that very database (its oid). A record written or
    copied by anyone else (a restored dump's ``COMMENT ON DATABASE``) names nothing of ours."""
    rows = admin.execute(
        "select oid, datname, shobj_description(oid, 'pg_database'), pg_database_size(oid) from pg_database "
        "where shobj_description(oid, 'pg_database') like %s",
        [f'{{"{RECORD}"%'],
    ).fetchall()
    found = []
    for oid, datname, comment, size in rows:
        try:
            record = json.loads(comment)
            name, created = str(record[RECORD]), str(record["created"])
            moment = datetime.fromisoformat(created)
        except (ValueError, KeyError, TypeError):
            continue
        if record.get("database") != database or datname != snapshot_database_name(database, name):
            continue
        if datname == database or not verifies(
            key or None, record.get("seal"), "snapshot", oid, datname, name, database, created
        ):
            continue
        found.append(Snapshot(name, str(datname), database, moment, int(size)))
    return sorted(found, key=lambda snapshot: snapshot.created)


def rollback_database(project: Project, name: str = "") -> tuple[Snapshot, str] | None:
    """Replace the database with a copy of a snapshot (the latest by default); the replaced one is
    kept as ``<db>__undo``. None under dry-run."""
    target = resolve_target(project)
    database = target.dbname
    scratch, undo = aside_name(database, "__restoring"), aside_name(database, "__undo")
    if project.dry:
        project.runner.note(
            f"copy the snapshot {name or '(the latest)'} as {scratch} (file copy), then close {database}, end "
            f"its sessions and in one transaction rename it to {undo} and {scratch} to {database}"
        )
        return None
    with _admin(project, target) as admin:
        snapshot = _chosen(snapshots_of(admin, database, snapshot_key(project)), name, database)
        project.confirm(f"replace {target.describe()} with its snapshot {snapshot.name} ({snapshot.age()} old)")

        def fill(scratch: str) -> int:
            create_copy(admin, scratch, snapshot.database)
            owner = database_owner(admin, database)
            if owner:
                admin.execute(statement("alter database {} owner to {}", scratch, owner))
            allow_connections(admin, scratch, True)
            return 0

        replace_from_aside(project, admin, database, fill, f"a copy of its snapshot {snapshot.name}")
    return snapshot, undo


def prune_snapshots(project: Project, keep: int) -> list[Snapshot]:
    """Drop all but the ``keep`` newest snapshots, after asking; what was (or would be) dropped."""
    if keep < 0:
        raise StackError("--keep must be 0 or more")
    target = resolve_target(project)
    with _admin(project, target) as admin:
        snapshots = snapshots_of(admin, target.dbname, snapshot_key(project))
        doomed = snapshots[: max(0, len(snapshots) - keep)]
        if not doomed:
            return []
        listed = ", ".join(snapshot.name for snapshot in doomed)
        if project.dry:
            project.runner.note(f"drop the snapshots {listed}")
            return doomed
        project.confirm(f"drop {len(doomed)} snapshot(s) of {target.dbname}: {listed}")
        for snapshot in doomed:
            drop_database(admin, snapshot.database)
    return doomed


def snapshot_database_name(database: str, name: str) -> str:
    return aside_name(database, f"__snap_{name}")


def _chosen(snapshots: list[Snapshot], name: str, database: str) -> Snapshot:
    if not snapshots:
        raise StackError(f"{database} has no snapshot", hint="inv db.snapshot takes one")
    if not name:
        return snapshots[-1]
    for snapshot in snapshots:
        if snapshot.name == name:
            return snapshot
    raise StackError(f"no snapshot named {name} of {database}", hint="inv db.snapshots lists them")


def _literal(text: str) -> Any:
    from psycopg import sql

    return sql.Literal(text)


@contextlib.contextmanager
def _admin(project: Project, target: DbTarget, *, locked: bool = True) -> Iterator[psycopg.Connection[Any]]:
    """The guarded admin session (session.py), for a role that may create databases."""
    with guarded_admin(project, target, locked=locked) as conn:
        if not can_create_databases(conn):
            raise StackError(
                "this role may not create databases, which a snapshot is", hint="inv db.backup makes a dump instead"
            )
        yield conn
