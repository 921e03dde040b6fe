"""Reaching the database: URLs, poolers."""

from __future__ import annotations

import pytest

from stacktasks.db.target import parse_database_url
from stacktasks.errors import StackError


def test_a_driver_suffixed_url_is_read_with_its_escaped_password() -> None:
    target = parse_database_url("postgresql+asyncpg://app:p%40ss%2Fword@db.example.com:5433/shop", "DATABASE_URL")
    assert (target.user, target.password, target.host, target.port, target.dbname) == (
        "app",
        "p@ss/word",
        "db.example.com",
        5433,
        "shop",
    )


def test_libpq_options_in_the_query_are_kept_and_others_dropped() -> None:
    target = parse_database_url("postgres://u:p@h/d?sslmode=require&connection_limit=1", "DATABASE_URL")
    assert target.libpq_options == {"sslmode": "require"}
    assert target.client_env()["PGSSLMODE"] == "require"


def test_a_non_postgres_url_is_refused() -> None:
    with pytest.raises(StackError, match="not a PostgreSQL URL"):
        parse_database_url("mysql://u:p@h/d", "DATABASE_URL")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres.abc:secret@aws-0-eu-west-1.pooler.supabase.com:6543/postgres",
        "postgresql://u:secret@pgbouncer.internal:5432/app?pgbouncer=true",
    ],
)
def test_a_transaction_pooler_is_refused_for_dumps_with_the_way_out(url: str) -> None:
    target = parse_database_url(url, "DATABASE_URL")
    with pytest.raises(StackError) as caught:
        target.refuse_transaction_pooler("backup")
    assert "transaction pooler" in caught.value.message
    assert "DIRECT_URL" in (caught.value.hint or "")
    assert "secret" not in str(caught.value)


def test_a_session_pooler_url_is_accepted() -> None:
    target = parse_database_url("postgresql://u:p@aws-0-eu-west-1.pooler.supabase.com:5432/postgres", "DIRECT_URL")
    target.refuse_transaction_pooler("backup")  # no error: session mode keeps one backend per client
    assert not target.transaction_pooler


def test_a_socket_folder_in_the_query_is_the_host_libpq_uses() -> None:
    target = parse_database_url("postgresql:///app?host=/var/run/postgresql", "DATABASE_URL")
    assert (target.host, target.dbname) == ("/var/run/postgresql", "app")
    assert target.client_env()["PGHOST"] == "/var/run/postgresql"


def test_several_hosts_reach_libpq_as_it_reads_them() -> None:
    target = parse_database_url("postgresql://u@h1:5432,h2:5433/db?target_session_attrs=read-write", "DATABASE_URL")
    assert (target.host, target.port) == ("h1,h2", "5432,5433")
    env = target.client_env()
    assert (env["PGHOST"], env["PGPORT"], env["PGTARGETSESSIONATTRS"]) == ("h1,h2", "5432,5433", "read-write")
