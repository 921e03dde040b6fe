"""The admin session every flow that changes a database enters: a connection to the maintenance
database, proven to reach the stack's own server, holding the database's swap lock, after what an
interrupted run of ours left was put right (swap.py's ``recover``).

backup, restore, undo, snapshot and rollback all start here, so "connect, prove, lock, recover"
is decided once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..errors import StackError
from .admin import admin_database, connect
from .swap import hold_lock, recover
from .target import DbTarget

if TYPE_CHECKING:
    import psycopg

    from ..project import Project

IDENTITY_SQL = "select pg_postmaster_start_time()::text"


@contextlib.contextmanager
def guarded_admin(project: Project, target: DbTarget, *, locked: bool = True) -> Iterator[psycopg.Connection[Any]]:
    """The session, closed on leaving; ``locked=False`` only proves the server (a read)."""
    conn = connect(target, admin_database(target, project.settings.db.maintenance_db))
    try:
        prove_same_server(project, target, conn)
        if locked:
            hold_lock(conn, target.dbname)
            recover(conn, target.dbname, project.runner.note, dry=project.dry)
        yield conn
    finally:
        conn.close()


def prove_same_server(project: Project, target: DbTarget, conn: psycopg.Connection[Any]) -> None:
    """Refuse when the connection reaches another server than the stack's own db service: its
    published port may be another Postgres's (a remote engine's port read as this machine's, or
    another stack's). The server's start time, read inside the service and over the connection,
    must agree."""
    if target.kind != "service" or project.dry:
        return
    from .tools import choose_client

    client = choose_client(project, target, None)
    inside = project.runner.capture(
        client.argv("psql", ["-X", "-At", "-c", IDENTITY_SQL]), check=False, extra_env=client.env()
    )
    if inside.returncode == 0 and inside.stdout.strip() != server_identity(conn):
        raise StackError(
            f"{target.host}:{target.port} is not the {target.service} service's PostgreSQL: another server "
            "answers there, so nothing was changed",
            hint="is the engine remote (DOCKER_HOST, docker context)? inv doctor shows which engine and route",
        )


def server_identity(conn: psycopg.Connection[Any]) -> str:
    row = conn.execute(IDENTITY_SQL).fetchone()
    return str(row[0]) if row else ""
