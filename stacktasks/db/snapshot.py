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
4. a ready spare of the snapshot is made beside it (spare.py), which ``db.rollback`` renames into
   the database's place; ``--no-spare`` records that the snapshot wants none.

A snapshot is listed by its record, never by its name, so no other database is taken for one.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..errors import StackError, interrupts_deferred
from .admin import (
    allow_connections,
    aside_name,
    can_create_databases,
    create_copy,
    database_exists,
    database_oid,
    database_owner,
    drop_database,
    statement,
)
from .ours import project_key, seal, verifies
from .replace import replace_from_aside, replace_with_spare
from .session import guarded_admin
from .spare import MadeSpare, Spare, make_spare, spare_database_name, spares_of
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
    oid: int = 0
    wants_spare: bool = True
    spare: Spare | None = None

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
    reopened_after: float = 0.0  # seconds from the start until the database took sessions again
    spares: list[MadeSpare] = field(default_factory=list)


def snapshot_database(project: Project, name: str = "", *, spare: bool = True) -> SnapshotResult | None:
    """Copy the database into a new snapshot, then its ready spare (unless ``spare`` is False);
    None under dry-run."""
    target = resolve_target(project)
    name = name or datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    if not NAME.fullmatch(name):
        raise StackError(f"snapshot name {name!r}: use letters, digits, '.', '_' or '-' (at most 40)")
    copy, scratch = snapshot_database_name(target.dbname, name), aside_name(target.dbname, "__snapping")
    if project.dry:
        project.runner.note(
            f"end the sessions on {target.dbname} and close it, copy it as {scratch} "
            f"(create database … template {target.dbname} strategy file_copy), rename that to {copy}, re-open"
            + (f"; then copy {copy} as its ready spare {spare_database_name(target.dbname, name)}" if spare else "")
        )
        return None
    started = time.monotonic()
    with _admin(project, target) as admin:
        if database_exists(admin, copy):
            raise StackError(f"a snapshot named {name} exists", hint="choose another --name, or inv db.snapshots")
        key = snapshot_key(project, create=True)
        ended = _copy_closed_source(project, admin, target.dbname, scratch)
        reopened_after = time.monotonic() - started
        created = datetime.now(UTC).isoformat()
        oid = database_oid(admin, scratch)
        record: dict[str, object] = {RECORD: name, "database": target.dbname, "created": created}
        if not spare:
            record["spare"] = False
        record["seal"] = seal(key, *_sealed_parts(oid, copy, name, target.dbname, created, spare))
        with interrupts_deferred(), admin.transaction():  # the record goes with the rename, at once
            admin.execute(statement("alter database {} rename to {}", scratch, copy))
            allow_connections(admin, copy, False)
            admin.execute(statement("comment on database {} is ", copy) + _literal(json.dumps(record)))
        row = admin.execute("select pg_database_size(%s)", [copy]).fetchone()
        seconds = time.monotonic() - started
        made = make_missing_spares(project, admin, target.dbname, key)
    size = int(row[0]) if row else 0
    return SnapshotResult(name, target.dbname, ended, seconds, size, reopened_after, made)


def _sealed_parts(oid: int | None, datname: str, name: str, database: str, created: str, spare: bool) -> list[object]:
    """What a snapshot's seal covers; a snapshot that wants no spare says so under its seal."""
    return ["snapshot", oid, datname, name, database, created, *([] if spare else ["no-spare"])]


def make_missing_spares(project: Project, admin: psycopg.Connection[Any], database: str, key: bytes) -> list[MadeSpare]:
    """A ready spare for every snapshot of ``database`` that wants one and has none (an older
    snapshot, a making cut short, or one just taken)."""
    made = []
    for snapshot in snapshots_of(admin, database, key):
        if snapshot.wants_spare and not (snapshot.spare and snapshot.spare.ready):
            made.append(make_spare(project, admin, database, snapshot.name, snapshot.database, key, snapshot.spare))
    return made


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
        wants_spare = record.get("spare", True) is not False
        parts = _sealed_parts(oid, datname, name, database, created, wants_spare)
        if datname == database or not verifies(key or None, record.get("seal"), *parts):
            continue
        found.append(Snapshot(name, str(datname), database, moment, int(size), int(oid), wants_spare))
    spares = spares_of(admin, database, {snapshot.name: snapshot.oid for snapshot in found}, key) if found else {}
    found = [replace(snapshot, spare=spares.get(snapshot.name)) for snapshot in found]
    return sorted(found, key=lambda snapshot: snapshot.created)


@dataclass(frozen=True)
class RolledBack:
    snapshot: Snapshot
    undo: str  # where the replaced database is kept
    back_after: float  # seconds from the start until the database was back under its name
    from_spare: bool  # the ready spare was renamed into place (no copy on the way)
    spares: list[MadeSpare]  # the spares made after, while the database was already back


def rollback_database(project: Project, name: str = "") -> RolledBack | None:
    """Replace the database with a snapshot (the latest by default): its ready spare renamed into
    place, or where it has none a copy; the replaced one is kept as ``<db>__undo``. The next spare
    is made after, while the database already works. None under dry-run."""
    started = time.monotonic()
    target = resolve_target(project)
    database = target.dbname
    scratch, undo = aside_name(database, "__restoring"), aside_name(database, "__undo")
    if project.dry:
        project.runner.note(
            f"close {database}, end its sessions and in one transaction rename it to {undo} and the snapshot "
            f"{name or '(the latest)'}'s ready spare to {database} (without a spare: copy the snapshot as "
            f"{scratch} first); then copy the snapshot as its next spare"
        )
        return None
    with _admin(project, target) as admin:
        key = snapshot_key(project)
        snapshot = _chosen(snapshots_of(admin, database, key), name, database)
        project.confirm(f"replace {target.describe()} with its snapshot {snapshot.name} ({snapshot.age()} old)")
        what = f"its snapshot {snapshot.name}"
        spare = snapshot.spare if snapshot.spare and snapshot.spare.ready else None
        if spare is not None:
            replace_with_spare(project, admin, database, spare.database, what)
        else:
            if snapshot.wants_spare:
                project.runner.note(f"snapshot {snapshot.name} has no ready spare: copying it, as without spares")

            def fill(scratch: str) -> int:
                create_copy(admin, scratch, snapshot.database)
                owner = database_owner(admin, database)
                if owner:
                    admin.execute(statement("alter database {} owner to {}", scratch, owner))
                allow_connections(admin, scratch, True)
                return 0

            replace_from_aside(project, admin, database, fill, f"a copy of {what}")
        back_after = time.monotonic() - started
        made = make_missing_spares(project, admin, database, key)
    return RolledBack(snapshot, undo, back_after, spare is not None, made)


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
            if snapshot.spare:
                drop_database(admin, snapshot.spare.database)
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
