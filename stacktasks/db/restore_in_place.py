"""db.restore for a role that may not create databases: a safety dump, then the restore in place.

The dump's SQL (``pg_restore --clean`` for custom dumps) runs in one psql transaction that only
stacktasks commits, after every line was checked and the producer exited 0: a failure, a cut dump
or a signal leaves the database as it was. The safety dump is what ``db.undo`` restores.
"""

from __future__ import annotations

import subprocess
import threading
from typing import TYPE_CHECKING, Any

from .admin import connect, end_sessions_we_may, statement
from .backup import dump_database
from .feed import PSQL_ARGS, feed_checked, pipe_into
from .load import dump_for_tool, feed_stream
from .loadrole import say_rights_used
from .manifest import Reason
from .plan import Applied, RestorePlan, verify_restored
from .target import DbTarget
from .tools import PgClient

if TYPE_CHECKING:
    import psycopg

    from ..project import Project


def restore_in_place(
    project: Project, admin: psycopg.Connection[Any], client: PgClient, target: DbTarget, plan: RestorePlan
) -> Applied:
    project.runner.note(f"this role may not create databases: taking a safety dump of {target.dbname} first")
    safety = dump_database(project, reason=Reason.BEFORE_RESTORE, target=target, in_use=(plan.path,))
    assert safety is not None
    say_rights_used(project, admin, target)
    ended, left = end_sessions_we_may(admin, target.dbname)
    if left:
        # An idle session holds no lock, so the restore can go on beside it; one that holds a lock
        # makes the restore wait for it, which the user can see and end.
        project.runner.note(
            f"{left} session(s) on {target.dbname} belong to roles {target.user} may not signal "
            "(a superuser's, or another role's): they stay open, and the restore waits for any lock they hold"
        )
    if plan.format.kind == "plain":
        pipe_into(project, client, "psql", PSQL_ARGS, target.dbname, plan, prologue=schema_reset_sql(target))
    else:
        restore_custom_in_place(project, client, plan, target.dbname)
    verified = verify_restored(target, target.dbname, plan)
    return Applied(kept_as=None, safety_dump=safety.path, verified_tables=verified, ended_sessions=ended)


def schema_reset_sql(target: DbTarget) -> bytes:
    """Drop the schemas this role owns, in the restore's own transaction; the dump creates them
    again (all but ``public``, which pg_dump assumes exists, so it is created here)."""
    from psycopg import sql

    conn = connect(target)
    try:
        rows = conn.execute(
            "select nspname from pg_namespace where pg_has_role(current_user, nspowner, 'USAGE') "
            "and nspname not in ('information_schema') and nspname not like 'pg\\_%'"
        ).fetchall()
        statements = [statement("DROP SCHEMA {} CASCADE;", row[0]) for row in rows]
        if any(row[0] == "public" for row in rows):
            statements.append(sql.SQL("CREATE SCHEMA public;"))
        # Rendered with the connection: psycopg 3.1 quotes identifiers only with one.
        return (str(sql.SQL("\n").join(statements).as_string(conn)) + "\n").encode()
    finally:
        conn.close()


def restore_custom_in_place(project: Project, client: PgClient, plan: RestorePlan, dbname: str) -> None:
    """pg_restore --clean writes the dump as SQL; it is checked like a plain dump on its way to psql,
    which commits only when pg_restore exited 0 and every line passed (see ``feed_checked``)."""
    args = ["--clean", "--if-exists", "--no-owner", "--no-acl", "-f", "-"]
    with dump_for_tool(project, client, plan) as (dump_arg, mounts):  # decided where the swap's is
        _apply_in_one_transaction(project, client, plan, dbname, args, dump_arg, mounts)


def _apply_in_one_transaction(
    project: Project,
    client: PgClient,
    plan: RestorePlan,
    dbname: str,
    args: list[str],
    dump_arg: str | None,
    mounts: dict[str, str],
) -> None:
    fed = dump_arg is None  # pg_restore -f - reads the dump from its stdin
    producer_argv = client.argv(
        "pg_restore", [*args, *([dump_arg] if dump_arg else [])], mounts=mounts or None, database=False, stdin=fed
    )
    runner = project.runner
    producer = runner.start(
        producer_argv,
        extra_env=client.env(),
        stdin=subprocess.PIPE if fed else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        what="pg_restore",
    )
    consumer = runner.start(
        client.argv("psql", PSQL_ARGS, dbname=dbname, stdin=True),
        extra_env=client.env(dbname),
        stdin=subprocess.PIPE,
        what="psql",
    )
    with runner.stopping(producer, consumer):
        if fed:
            threading.Thread(target=feed_stream, args=(producer, plan), daemon=True).start()
        feed_checked(consumer.stdin, producer.stdout, plan.path.name, producer=producer)
        consumer.wait()
