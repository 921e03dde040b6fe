"""Swapping databases by name so that, whatever kills stacktasks, the name points at a whole database.

The states the server can hold, and how each is left:

1. before the swap: ``<db>`` is the old database; ``<db>__restoring`` (ours, never used by anyone)
   may exist. Killed here: the next run drops the scratch.
2. closed: ``<db>`` refuses new connections and carries our marker (``stacktasks.swapping``, a
   database-level setting, committed together with ``allow_connections false``), its sessions are
   ended. Killed here: the next run (or our own rollback on SIGINT/SIGTERM) re-opens it.
3. swapped: every rename of the swap and the re-opening of the database set aside happen in one
   transaction (``ALTER DATABASE … RENAME`` is transactional), under a ``lock_timeout``, so a
   killed client's transaction rolls back on the server instead of completing later.

Only one restore or undo of a database runs at a time: each holds a session-level advisory lock,
which the server releases when the holder dies, so recovery never touches a run in progress.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import StackError
from .admin import aside_name, database_exists, drop_database, end_sessions, statement
from .loadrole import can_drop_roles, drop_load_role, load_role_name

if TYPE_CHECKING:
    import psycopg

MARKER = "stacktasks.swapping"
LOCK_TIMEOUT = "2s"
ATTEMPTS = 20


def hold_lock(conn: psycopg.Connection[Any], database: str) -> None:
    """The advisory lock of ``database``'s restores and undos, for as long as ``conn`` lives."""
    row = conn.execute("select pg_try_advisory_lock(hashtext(%s))", [f"stacktasks swap {database}"]).fetchone()
    if not (row and row[0]):
        raise StackError(
            f"another restore or undo of {database} is running now",
            hint="wait for it to finish, then run this again",
        )


def marked_databases(conn: psycopg.Connection[Any], names: Sequence[str]) -> list[str]:
    """Which of ``names`` an interrupted swap of ours left closed (they carry the marker)."""
    rows = conn.execute(
        "select d.datname from pg_database d join pg_db_role_setting s "
        "on s.setdatabase = d.oid and s.setrole = 0 "
        "where d.datname = any(%s) and exists (select 1 from unnest(s.setconfig) c where c like %s)",
        [list(names), f"{MARKER}=%"],
    ).fetchall()
    return [str(row[0]) for row in rows]


def closed_databases(conn: psycopg.Connection[Any], names: Sequence[str]) -> list[str]:
    rows = conn.execute(
        "select datname from pg_database where datname = any(%s) and not datallowconn", [list(names)]
    ).fetchall()
    return [str(row[0]) for row in rows]


def close_database(conn: psycopg.Connection[Any], database: str) -> int:
    """State 2: no new connections (committed with our marker), then every session ended.

    Only a superuser may set the marker (a custom setting); for another owner, a closed database
    beside our scratch or undo database is taken as ours (see ``recover``).
    """
    import psycopg

    try:
        with conn.transaction():
            conn.execute(statement("alter database {} allow_connections false", database))
            conn.execute(statement("alter database {} set " + MARKER + " = 'on'", database))
    except psycopg.errors.InsufficientPrivilege:
        conn.execute(statement("alter database {} allow_connections false", database))
    ended = 0
    for _ in range(ATTEMPTS):
        ended += end_sessions(conn, database)
        if not _has_sessions(conn, database):
            break
        time.sleep(0.05)
    return ended


def reopen_database(conn: psycopg.Connection[Any], database: str) -> None:
    with conn.transaction():
        _reopen(conn, database)


def _reopen(conn: psycopg.Connection[Any], database: str) -> None:
    conn.execute(statement("alter database {} allow_connections true", database))
    if marked_databases(conn, [database]):
        conn.execute(statement("alter database {} reset " + MARKER, database))


def _has_sessions(conn: psycopg.Connection[Any], database: str) -> bool:
    row = conn.execute(
        "select count(*) from pg_stat_activity where datname = %s and pid <> pg_backend_pid()", [database]
    ).fetchone()
    return bool(row and row[0])


def swap(
    conn: psycopg.Connection[Any],
    renames: Sequence[tuple[str, str]],
    reopen: Sequence[str] = (),
    stop_requested: Callable[[], int | None] = lambda: None,
) -> None:
    """Every rename, and the re-opening of ``reopen`` (names after the renames), in one transaction.

    A rename blocked by another session's lock fails after ``LOCK_TIMEOUT`` and is tried again,
    unless a signal asked us to stop: then nothing was swapped and ``Interrupted`` says why.
    """
    import psycopg

    from ..errors import Interrupted

    for attempt in range(ATTEMPTS):
        for old, _ in renames:
            end_sessions(conn, old)
        try:
            with conn.transaction():
                conn.execute(f"set local lock_timeout = '{LOCK_TIMEOUT}'")
                for old, new in renames:
                    conn.execute(statement("alter database {} rename to {}", old, new))
                for name in reopen:
                    _reopen(conn, name)
            return
        except (psycopg.errors.ObjectInUse, psycopg.errors.LockNotAvailable):
            signum = stop_requested()
            if signum is not None:
                raise Interrupted(signum) from None
            if attempt == ATTEMPTS - 1:
                raise StackError(f"{renames[0][0]} is still in use; nothing was swapped") from None
            time.sleep(0.1)


def recover(conn: psycopg.Connection[Any], database: str, say: Callable[[str], None]) -> list[str]:
    """Put back what an interrupted restore or undo of ours left; what was done, in words.

    Call it holding the lock (``hold_lock``): then nothing of ours is running on these databases.
    """
    undo, scratch, aside = (aside_name(database, suffix) for suffix in ("__undo", "__restoring", "__swap"))
    snapping = aside_name(database, "__snapping")  # a snapshot's copy in progress (snapshot.py)
    done: list[str] = []
    if not database_exists(conn, database):
        for kept in (undo, aside):
            if database_exists(conn, kept):
                swap(conn, [(kept, database)])
                done.append(f"{database} was missing after an interrupted swap: {kept} is {database} again")
                break
    ours = set(marked_databases(conn, [database, undo, aside]))
    if any(database_exists(conn, name) for name in (scratch, undo, snapping)):
        ours.update(closed_databases(conn, [database]))
    for name in sorted(ours):
        reopen_database(conn, name)
        done.append(f"{name} was left closed by an interrupted swap: it accepts connections again")
    if database_exists(conn, aside):
        if database_exists(conn, undo):
            drop_database(conn, aside)
        else:
            swap(conn, [(aside, undo)])
        done.append(f"{aside} was left by an interrupted undo: cleared")
    if database_exists(conn, scratch):
        drop_database(conn, scratch)
        done.append(f"dropped {scratch}, left by an interrupted restore ({database} was never replaced)")
    if can_drop_roles(conn) and drop_load_role(conn, database):
        done.append(f"dropped {load_role_name(database)}, the load role of an interrupted restore")
    if database_exists(conn, snapping):
        drop_database(conn, snapping)
        done.append(f"dropped {snapping}, the copy of an interrupted snapshot")
    for line in done:
        say(line)
    return done
