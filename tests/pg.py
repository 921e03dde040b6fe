"""Real PostgreSQL for the tests: a server to reach, databases worth backing up, and a way to
compare two databases (tables' contents, sequences, extensions)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

#: The host server scripts/setup --for-tests starts, with its test role.
ADMIN_URL = os.environ.get("STACKTASKS_TEST_PG_URL", "postgresql://stacktasks:stacktasks@127.0.0.1:5432/postgres")

SAMPLE_SCHEMA = """
create extension if not exists pgcrypto;
create extension if not exists hstore;
create schema billing;
create table customers (
    id serial primary key,
    name text not null,
    tags hstore,
    token bytea default gen_random_bytes(8),
    profile jsonb,
    created timestamptz default now()
);
create table billing.invoices (
    id bigserial primary key,
    customer_id int references customers(id),
    amount numeric(10, 2),
    note text
);
create sequence ticket_numbers start 100;
create view big_invoices as select * from billing.invoices where amount > 100;
insert into customers (name, tags, profile)
    select 'customer ' || i || ' é✓', hstore('tier', (i % 3)::text), jsonb_build_object('n', i)
    from generate_series(1, 500) i;
insert into billing.invoices (customer_id, amount, note)
    select 1 + i % 500, (i * 7 % 1000) / 3.0, case when i % 10 = 0 then null else 'note ' || i end
    from generate_series(1, 2000) i;
select nextval('ticket_numbers') from generate_series(1, 7);
"""


def server_missing() -> str | None:
    """Why the host PostgreSQL tier cannot run, or None."""
    try:
        psycopg.connect(ADMIN_URL, connect_timeout=3).close()
    except psycopg.OperationalError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else "no answer"
        return f"no PostgreSQL at {ADMIN_URL.split('@')[-1]} ({first}); scripts/setup --for-tests starts one"
    return None


def url_for(dbname: str, *, user: str = "stacktasks", password: str = "stacktasks") -> str:
    base = ADMIN_URL.rsplit("/", 1)[0]
    scheme, rest = base.split("://", 1)
    host = rest.split("@", 1)[1]
    return f"{scheme}://{user}:{password}@{host}/{dbname}"


def admin() -> psycopg.Connection[Any]:
    return psycopg.connect(ADMIN_URL, autocommit=True)


def new_database_name(prefix: str = "st") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def create_sample_database(name: str, owner: str = "stacktasks", password: str = "stacktasks") -> None:
    """The sample, created by ``owner`` (pgcrypto and hstore are trusted: a database owner may)."""
    with admin() as conn:
        conn.execute(sql.SQL("create database {} owner {}").format(sql.Identifier(name), sql.Identifier(owner)))
    with psycopg.connect(url_for(name, user=owner, password=password), autocommit=True) as conn:
        conn.execute(SAMPLE_SCHEMA.encode())


def drop_databases(*names: str) -> None:
    """``names`` and every database stacktasks derives from them (undo, scratch, …), and the load
    role a killed restore of them may have left."""
    from stacktasks.db.loadrole import load_role_name
    from stacktasks.db.swap import derived_names

    with admin() as conn:
        for name in names:
            for each in (name, *derived_names(name)):
                conn.execute("select pg_terminate_backend(pid) from pg_stat_activity where datname = %s", [each])
                conn.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(each)))
            conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(load_role_name(name))))


def drop_snapshots(name: str) -> None:
    with admin() as conn:
        for (datname,) in conn.execute(
            "select datname from pg_database where datname like %s or datname like %s",
            [f"{name}__snap%", f"{name}__spare%"],
        ):
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(datname)))


def databases() -> set[str]:
    with admin() as conn:
        return {row[0] for row in conn.execute("select datname from pg_database").fetchall()}


def fingerprint(dbname: str) -> dict[str, Any]:
    """Every table's full contents (as a digest), every sequence's state, the extensions."""
    with psycopg.connect(url_for(dbname)) as conn:
        tables = conn.execute(
            "select schemaname, tablename from pg_tables "
            "where schemaname not in ('pg_catalog', 'information_schema') order by 1, 2"
        ).fetchall()
        result: dict[str, Any] = {}
        for schema, table in tables:
            query = sql.SQL(
                "select count(*), md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from {}.{} t"
            )
            result[f"table {schema}.{table}"] = conn.execute(
                query.format(sql.Identifier(schema), sql.Identifier(table))
            ).fetchone()
        for schema, name in conn.execute("select schemaname, sequencename from pg_sequences order by 1, 2").fetchall():
            query = sql.SQL("select last_value, is_called from {}.{}")
            result[f"sequence {schema}.{name}"] = conn.execute(
                query.format(sql.Identifier(schema), sql.Identifier(name))
            ).fetchone()
        result["extensions"] = conn.execute("select extname, extversion from pg_extension order by 1").fetchall()
        result["views"] = conn.execute(
            "select schemaname, viewname from pg_views where schemaname = 'public' order by 2"
        ).fetchall()
        return result


def gate() -> Any:
    """A gate (tests/gate.py) on this host's server, installed by the test role (a superuser)."""
    from tests.gate import new_gate

    return new_gate(lambda dbname: psycopg.connect(url_for(dbname)))


def sessions_of(application: str, dbname: str) -> int:
    """How many sessions ``application`` has on ``dbname`` now."""
    with admin() as conn:
        row = conn.execute(
            "select count(*) from pg_stat_activity where application_name = %s and datname = %s", [application, dbname]
        ).fetchone()
        return int(row[0]) if row else 0


def execute(dbname: str, statement: str) -> None:
    with psycopg.connect(url_for(dbname), autocommit=True) as conn:
        conn.execute(statement.encode())


def scalar(dbname: str, query: str, params: Sequence[object] | None = None) -> Any:
    with psycopg.connect(url_for(dbname)) as conn:
        row = conn.execute(query.encode(), params).fetchone()
        return row[0] if row else None


def url_project(root: Path, url: str, pyproject: str = "") -> Path:
    """A project whose database is an external URL in its .env (no compose file)."""
    from tests.helpers import env_project

    return env_project(root, {"DATABASE_URL": url}, pyproject)


@contextlib.contextmanager
def owned_by_a_non_superuser(role: str, tmp_path: Path, *, createdb: bool = False) -> Iterator[tuple[str, Path]]:
    """The sample database owned by ``role`` (login, no superuser; without CREATEDB restores go in
    place) and a URL project connecting as it; both removed afterwards."""
    name = new_database_name()
    with admin() as conn:
        conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))
        conn.execute(
            sql.SQL("create role {} login {} nosuperuser password 'owner-pw'").format(
                sql.Identifier(role), sql.SQL("createdb" if createdb else "nocreatedb")
            )
        )
    try:
        create_sample_database(name, owner=role, password="owner-pw")
        yield name, url_project(tmp_path / "p", url_for(name, user=role, password="owner-pw"))
    finally:
        drop_databases(name)
        with admin() as conn:
            conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))
