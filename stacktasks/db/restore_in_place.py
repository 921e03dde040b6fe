"""db.restore for a role that may not create databases: a safety dump, then the restore in place.

The dump's SQL (``pg_restore --clean`` for custom dumps) runs in one psql transaction, so a
failure leaves the database as it was; the safety dump is what ``db.undo`` restores.
"""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING, Any

from .admin import connect, end_sessions, statement
from .backup import dump_database
from .restore import PSQL_ARGS, RestorePlan, RestoreResult, feed, pipe_into, verify_restored
from .target import DbTarget
from .tools import PgClient

if TYPE_CHECKING:
    import psycopg

    from ..project import Project


def restore_in_place(
    project: Project, admin: psycopg.Connection[Any], client: PgClient, target: DbTarget, plan: RestorePlan
) -> RestoreResult:
    project.runner.note(f"this role may not create databases: taking a safety dump of {target.dbname} first")
    safety = dump_database(project, reason="before restore", target=target)
    assert safety is not None
    ended = end_sessions(admin, target.dbname)
    if plan.format.kind == "plain":
        pipe_into(project, client, "psql", PSQL_ARGS, target.dbname, plan, prologue=schema_reset_sql(target))
    else:
        restore_custom_in_place(project, client, plan, target.dbname)
    verified = verify_restored(target, target.dbname, plan)
    return RestoreResult(target.dbname, 0.0, None, safety.path, verified, ended)


def schema_reset_sql(target: DbTarget) -> bytes:
    """Drop and recreate the schemas this role owns, in the restore's own transaction."""
    conn = connect(target)
    try:
        rows = conn.execute(
            "select nspname from pg_namespace where pg_has_role(current_user, nspowner, 'USAGE') "
            "and nspname not in ('information_schema') and nspname not like 'pg\\_%'"
        ).fetchall()
    finally:
        conn.close()
    from psycopg import sql

    script = sql.SQL("\n").join(statement("DROP SCHEMA {} CASCADE; CREATE SCHEMA {};", row[0], row[0]) for row in rows)
    return (str(script.as_string(None)) + "\n").encode()


def restore_custom_in_place(project: Project, client: PgClient, plan: RestorePlan, dbname: str) -> None:
    """pg_restore --clean writes SQL to a pipe; psql applies it in one transaction."""
    args = ["--clean", "--if-exists", "--no-owner", "--no-acl", "-f", "-"]
    mounts = None
    if client.where == "container":
        mounts = {str(plan.path.resolve()): "/stacktasks/dump"}
        producer = client.argv("pg_restore", [*args, "/stacktasks/dump"], mounts=mounts, database=False)
        fed = False
    elif client.where == "host" and not plan.format.gzipped:
        producer = client.argv("pg_restore", [*args, str(plan.path)], database=False)
        fed = False
    else:  # pg_restore -f - reads the dump from its stdin
        producer = client.argv("pg_restore", args, stdin=True, database=False)
        fed = True
    consumer = client.argv("psql", PSQL_ARGS, dbname=dbname, stdin=True)
    source, sink = project.runner.pipe(
        producer,
        consumer,
        producer_env=client.env(),
        consumer_env=client.env(dbname),
        producer_stdin=subprocess.PIPE if fed else subprocess.DEVNULL,
        what=("pg_restore", "psql"),
    )
    with project.runner.stopping(source, sink):
        if fed:
            feed(source.stdin, plan)
        produced = source.wait(check=False)
        consumed = sink.wait(check=False)
    if produced != 0:
        raise source.failure(produced)
    if consumed != 0:
        raise sink.failure(consumed)
