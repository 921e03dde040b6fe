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
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import StackError
from .admin import (
    allow_connections,
    aside_name,
    database_exists,
    database_oid,
    drop_database,
    end_sessions,
    other_sessions,
    statement,
)
from .loadrole import can_drop_roles, drop_load_role, load_role_left, load_role_name

if TYPE_CHECKING:
    import psycopg

MARKER = "stacktasks.swapping"
LOCK_TIMEOUT = "2s"
ATTEMPTS = 20


#: The names a restore, undo, rollback or snapshot of a database derives from its name.
DERIVED = ("__undo", "__restoring", "__swap", "__snapping", "__sparing", "__sanitizing", "__undo_prev")


def derived_names(database: str) -> list[str]:
    return [aside_name(database, suffix) for suffix in DERIVED]


def hold_lock(conn: psycopg.Connection[Any], database: str) -> None:
    """The advisory locks of ``database`` and of every name derived from it, for as long as
    ``conn`` lives: a run on another database whose own name is one of these (``a__undo``) is
    kept out as surely as a second run on this one."""
    names = [database, *derived_names(database)]
    keys = [f"stacktasks swap {name}" for name in names]
    row = conn.execute(
        "select array_agg(pg_try_advisory_lock(hashtext(k))) from unnest(%s::text[]) k", [keys]
    ).fetchone()
    taken = list(row[0]) if row and row[0] else []
    if not all(taken):
        conn.execute(
            "select pg_advisory_unlock(hashtext(k)) from unnest(%s::text[]) with ordinality u(k, i) where %s[i]",
            [keys, taken],
        )
        busy = names[taken.index(False)] if False in taken else database
        raise StackError(
            f"another restore or undo of {database} is running now"
            + (f" (it holds the name {busy})" if busy != database else ""),
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
            allow_connections(conn, database, False)
            conn.execute(statement("alter database {} set " + MARKER + " = 'on'", database))
    except psycopg.errors.InsufficientPrivilege:
        allow_connections(conn, database, False)
    ended = 0
    try:
        for _ in range(ATTEMPTS):
            ended += end_sessions(conn, database)
            if not other_sessions(conn, database):
                break
            time.sleep(0.05)
    except psycopg.Error as error:
        # Ending a session may be refused (a superuser's, for a role that is none): the database
        # is opened again before the error goes on, so no failure leaves it closed.
        reopen_database(conn, database)
        if isinstance(error, psycopg.errors.InsufficientPrivilege):
            raise StackError(
                f"{database} has a session this role may not end: {error.diag.message_primary}",
                hint="close that session (a superuser's), or run this as a superuser; nothing was changed",
            ) from error
        raise
    return ended


def reopen_database(conn: psycopg.Connection[Any], database: str) -> None:
    with conn.transaction():
        _reopen(conn, database)


def _reopen(conn: psycopg.Connection[Any], database: str) -> None:
    allow_connections(conn, database, True)
    if marked_databases(conn, [database]):
        conn.execute(statement("alter database {} reset " + MARKER, database))


def swap(
    conn: psycopg.Connection[Any],
    renames: Sequence[tuple[str, str]],
    reopen: Sequence[str] = (),
    stop_requested: Callable[[], int | None] = lambda: None,
    expect: Mapping[str, int | None] | None = None,
    after: Sequence[Any] = (),
) -> None:
    """Every rename, the re-opening of ``reopen`` (names after the renames) and the statements
    ``after``, in one transaction.

    ``expect`` names the database each name must still be (by oid, None: no database) when the
    transaction runs: where another took its place since the run looked, nothing is swapped.
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
                check_still(conn, expect or {})
                for old, new in renames:
                    conn.execute(statement("alter database {} rename to {}", old, new))
                for name in reopen:
                    _reopen(conn, name)
                for query in after:
                    conn.execute(query)
            return
        except (psycopg.errors.ObjectInUse, psycopg.errors.LockNotAvailable):
            signum = stop_requested()
            if signum is not None:
                raise Interrupted(signum) from None
            if attempt == ATTEMPTS - 1:
                raise StackError(f"{renames[0][0]} is still in use; nothing was swapped") from None
            time.sleep(0.1)


def check_still(conn: psycopg.Connection[Any], expect: Mapping[str, int | None]) -> None:
    """Refuse when a name no longer holds the database the run set out to change."""
    for name, oid in expect.items():
        now = database_oid(conn, name)
        if now != oid:
            raise StackError(
                f"{name} is no longer the database this run set out to replace (another took its name "
                "meanwhile): nothing was swapped",
                hint="see what holds the name now (inv db.snapshots, \\l in inv db.psql), then run this again",
            )


def recover(
    conn: psycopg.Connection[Any], database: str, say: Callable[[str], None], *, dry: bool = False
) -> list[str]:
    """Put back what an interrupted restore or undo of ours left; what was done, in words. Under
    ``dry`` it says what it would do and changes nothing.

    Call it holding the lock (``hold_lock``): then nothing of ours is running on these databases.
    Every swap renames in one transaction, so the database is never missing because of us: a
    missing one was dropped on purpose, and its undo copy stays where it is.
    """
    undo, scratch, aside, snapping, sparing, spare = (
        aside_name(database, suffix)
        for suffix in ("__undo", "__restoring", "__swap", "__snapping", "__sparing", "__undo_prev")
    )
    done: list[str] = []

    def act(line: str, change: Callable[[], object]) -> None:
        if not dry:
            change()
        done.append(f"would put right: {line}" if dry else line)

    ours = set(marked_databases(conn, [database, undo, aside]))
    if any(database_exists(conn, name) for name in (scratch, undo, snapping)):
        ours.update(closed_databases(conn, [database]))
    for name in sorted(ours):
        act(
            f"{name} was left closed by an interrupted swap: it accepts connections again",
            lambda name=name: reopen_database(conn, name),  # type: ignore[misc]
        )
    if database_exists(conn, aside) and not database_exists(conn, undo):
        act(f"{aside} was left by an interrupted undo: it is {undo} again", lambda: swap(conn, [(aside, undo)]))
    if database_exists(conn, spare):
        act(f"dropped {spare}, the undo copy a finished restore replaced", lambda: drop_database(conn, spare))
    if database_exists(conn, scratch):
        act(
            f"dropped {scratch}, left by an interrupted restore ({database} was never replaced)",
            lambda: drop_database(conn, scratch),
        )
    if database_exists(conn, snapping):
        act(f"dropped {snapping}, the copy of an interrupted snapshot", lambda: drop_database(conn, snapping))
    if database_exists(conn, sparing):
        act(f"dropped {sparing}, a snapshot's spare whose making was cut short", lambda: drop_database(conn, sparing))
    if can_drop_roles(conn) and load_role_left(conn, database):
        act(
            f"dropped {load_role_name(database)}, the load role of an interrupted restore",
            lambda: drop_load_role(conn, database),
        )
    for line in done:
        say(line)
    return done
