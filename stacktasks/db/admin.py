"""The admin SQL stacktasks runs with psycopg: sizes, row counts, sessions, and database renames.

Identifiers are always quoted by psycopg (``statement``), never by hand.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import StackError, first_line
from .target import DbTarget

if TYPE_CHECKING:
    import psycopg


#: Identifiers are cut at 63 bytes by the server; suffixes must survive that.
MAX_IDENTIFIER = 63


def connect(target: DbTarget, dbname: str | None = None, *, autocommit: bool = True) -> psycopg.Connection[Any]:
    """A psycopg connection; a failure says what to check, never the password."""
    import psycopg

    try:
        return psycopg.connect(**target.connect_args(dbname), autocommit=autocommit)
    except psycopg.OperationalError as error:
        reason = first_line(str(error))
        if target.password:
            reason = reason.replace(target.password, "***")
        hint = "is the stack up? inv up" if target.kind == "service" else f"check {target.url_variable}"
        raise StackError(f"cannot connect to {target.describe()}: {reason}", hint=hint) from None


def server_major(conn: psycopg.Connection[Any]) -> int:
    return conn.info.server_version // 10000


def statement(template: str, *names: str) -> Any:
    """SQL with identifiers (database, schema, table names) quoted by psycopg, never by hand."""
    from psycopg import sql

    return sql.SQL(template).format(*(sql.Identifier(name) for name in names))


#: Ordinary tables (not partitioned parents, not extension-owned), each counted on its own.
TABLES_SQL = """
select n.nspname, c.relname
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where c.relkind = 'r'
  and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_%'
  and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass
                  and d.objid = c.oid and d.deptype = 'e')
order by 1, 2
"""


def row_counts(
    conn: psycopg.Connection[Any], left_out: Callable[[str, str], str | None] | None = None
) -> dict[str, int]:
    """Exact row count of every user table, as ``schema.table``; ``left_out`` says which tables a
    dump leaves out ("table": not listed) or holds without rows ("data": 0, not counted)."""
    counts: dict[str, int] = {}
    with conn.cursor() as cursor:
        tables = cursor.execute(TABLES_SQL).fetchall()
        for schema, table in tables:
            kind = left_out(schema, table) if left_out else None
            if kind == "table":
                continue
            if kind == "data":
                counts[f"{schema}.{table}"] = 0
                continue
            row = cursor.execute(statement("select count(*) from only {}.{}", schema, table)).fetchone()
            counts[f"{schema}.{table}"] = int(row[0]) if row else 0
    return counts


def verify_counts(conn: psycopg.Connection[Any], expected: Mapping[str, int]) -> dict[str, int | None]:
    """Each expected table's row count in a freshly loaded database (None where it is missing).

    Every table was just created and filled by COPY, so the server's per-table counters
    (inserted minus deleted) already hold the count: reading them costs nothing where a
    count(*) scans the whole table. Where a counter disagrees (the statistics of a backend that
    is still exiting may lag), the table is counted exactly.
    """
    rows = conn.execute("select schemaname, relname, n_tup_ins - n_tup_del from pg_stat_user_tables").fetchall()
    counters = {f"{schema}.{table}": int(count) for schema, table, count in rows}
    existing = {f"{schema}.{table}": (schema, table) for schema, table in conn.execute(TABLES_SQL).fetchall()}
    actual: dict[str, int | None] = {}
    for table, count in expected.items():
        if table not in existing:
            actual[table] = None
        elif counters.get(table) == count:
            actual[table] = count
        else:
            row = conn.execute(statement("select count(*) from only {}.{}", *existing[table])).fetchone()
            actual[table] = int(row[0]) if row else 0
    return actual


def database_exists(conn: psycopg.Connection[Any], name: str) -> bool:
    return conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone() is not None


def can_create_databases(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("select rolsuper or rolcreatedb from pg_roles where rolname = current_user").fetchone()
    return bool(row and row[0])


# An autovacuum worker runs as the bootstrap superuser, so a role that is none may not end it; the
# server ends it by itself when the database is renamed or dropped. So it is no session of ours to end.
OTHER_SESSIONS = (
    "from pg_stat_activity where datname = %s and pid <> pg_backend_pid()"
    " and backend_type is distinct from 'autovacuum worker'"
)


def end_sessions(conn: psycopg.Connection[Any], dbname: str) -> int:
    """Terminate every other session on ``dbname``; return how many there were."""
    rows = conn.execute("select pg_terminate_backend(pid) " + OTHER_SESSIONS, [dbname]).fetchall()
    return len(rows)


# The server's own rule for who may end a session (a superuser's only by a superuser; another
# role's by a role with its privileges or pg_signal_backend's), as a filter.
MAY_END = (
    " and (pg_has_role('pg_signal_backend', 'USAGE') or pg_has_role(usesysid, 'USAGE'))"
    " and not coalesce((select rolsuper from pg_roles r where r.oid = usesysid), true)"
)


def end_sessions_we_may(conn: psycopg.Connection[Any], dbname: str) -> tuple[int, int]:
    """Terminate the other sessions on ``dbname`` this role may end; return (ended, left open).
    A superuser may end every one."""
    if is_superuser(conn):
        return end_sessions(conn, dbname), 0
    before = other_sessions(conn, dbname)
    ended = len(conn.execute("select pg_terminate_backend(pid) " + OTHER_SESSIONS + MAY_END, [dbname]).fetchall())
    return ended, max(before - ended, 0)


def is_superuser(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("select rolsuper from pg_roles where rolname = current_user").fetchone()
    return bool(row and row[0])


def other_sessions(conn: psycopg.Connection[Any], dbname: str) -> int:
    row = conn.execute("select count(*) " + OTHER_SESSIONS, [dbname]).fetchone()
    return int(row[0]) if row else 0


def aside_name(dbname: str, suffix: str) -> str:
    """``dbname`` with a suffix. Where the whole would pass the server's identifier limit (which
    would cut it, and two long names sharing a prefix would then share every derived name), the
    name is cut and a digest of the whole name keeps it apart from every other database's."""
    whole = dbname + suffix
    if len(whole.encode()) <= MAX_IDENTIFIER:
        return whole
    digest = "~" + hashlib.sha256(dbname.encode()).hexdigest()[:12]
    room = MAX_IDENTIFIER - len(suffix.encode()) - len(digest)
    head = dbname.encode()[:room].decode(errors="ignore")
    return head + digest + suffix


def database_oid(conn: psycopg.Connection[Any], name: str) -> int | None:
    row = conn.execute("select oid from pg_database where datname = %s", [name]).fetchone()
    return int(row[0]) if row else None


def allow_connections(conn: psycopg.Connection[Any], dbname: str, allowed: bool) -> None:
    value = "true" if allowed else "false"
    conn.execute(statement("alter database {} allow_connections " + value, dbname))


def drop_database(conn: psycopg.Connection[Any], name: str) -> None:
    if database_exists(conn, name):
        allow_connections(conn, name, False)
        end_sessions(conn, name)
        conn.execute(statement("drop database {}", name))


def create_database_like(conn: psycopg.Connection[Any], name: str, model: str | None) -> None:
    """An empty database with the encoding and locale of ``model`` (when it exists)."""
    from psycopg import sql

    query = statement("create database {} template template0", name)
    if model is not None:
        row = conn.execute(
            "select pg_encoding_to_char(encoding), datcollate, datctype from pg_database where datname = %s",
            [model],
        ).fetchone()
        if row:
            query += sql.SQL(" encoding {} lc_collate {} lc_ctype {}").format(*map(sql.Literal, row))
    conn.execute(query)


def database_owner(conn: psycopg.Connection[Any], database: str) -> str | None:
    row = conn.execute("select pg_get_userbyid(datdba) from pg_database where datname = %s", [database]).fetchone()
    return str(row[0]) if row else None


def admin_database(target: DbTarget, maintenance_db: str) -> str:
    """Where the admin connection goes: never the database being replaced (a stack without
    POSTGRES_DB keeps its data in ``postgres``, the usual maintenance database)."""
    return maintenance_db if maintenance_db != target.dbname else "template1"


def create_copy(admin: psycopg.Connection[Any], name: str, template: str, *, allow_connections: bool = True) -> None:
    """``name`` as a file-level copy of ``template`` (STRATEGY FILE_COPY from PostgreSQL 15, where
    the default became WAL_LOG, several times slower for a database of any size); closed to
    connections from its creation where ``allow_connections`` is False."""
    import psycopg

    query = statement("create database {} template {}", name, template)
    if server_major(admin) >= 15:
        query += statement(" strategy file_copy")
    if not allow_connections:
        query += statement(" allow_connections false")
    try:
        admin.execute(query)
    except psycopg.errors.ObjectInUse:
        raise StackError(f"{template} is in use again: a session reconnected during the copy; try again") from None
