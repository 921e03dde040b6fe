"""The swap's states (db/swap.py), each built on a real server as a killed run leaves it, and what
recovery makes of it: ours put right, anything else left as it is."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from stacktasks.db.swap import MARKER, hold_lock, recover, swap
from stacktasks.errors import StackError
from tests import pg
from tests.helpers import require


@pytest.fixture()
def server() -> Iterator[tuple[psycopg.Connection[Any], str]]:
    """An admin connection and a database name whose derived names are free; all dropped after."""
    require(pg.server_missing())
    name = pg.new_database_name()
    create(name)
    with pg.admin() as conn:
        yield conn, name
    pg.drop_databases(name)


def create(name: str) -> None:
    with pg.admin() as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))


def exists(conn: psycopg.Connection[Any], name: str) -> bool:
    return conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone() is not None


def allows_connections(conn: psycopg.Connection[Any], name: str) -> bool:
    row = conn.execute("select datallowconn from pg_database where datname = %s", [name]).fetchone()
    return bool(row and row[0])


def close(conn: psycopg.Connection[Any], name: str, *, marked: bool) -> None:
    conn.execute(sql.SQL("alter database {} allow_connections false").format(sql.Identifier(name)))
    if marked:
        conn.execute(sql.SQL("alter database {} set " + MARKER + " = 'on'").format(sql.Identifier(name)))


def recovered(conn: psycopg.Connection[Any], name: str, *, dry: bool = False) -> list[str]:
    said: list[str] = []
    hold_lock(conn, name)
    try:
        return recover(conn, name, said.append, dry=dry)
    finally:
        conn.execute("select pg_advisory_unlock_all()")


def test_state_1_a_scratch_left_before_the_swap_is_dropped_and_the_database_untouched(
    server: tuple[psycopg.Connection[Any], str],
) -> None:
    conn, name = server
    create(f"{name}__restoring")
    done = recovered(conn, name)
    assert not exists(conn, f"{name}__restoring") and exists(conn, name) and allows_connections(conn, name)
    assert any("left by an interrupted restore" in line for line in done)


def test_state_2_a_database_closed_with_our_marker_is_opened_again(server: tuple[psycopg.Connection[Any], str]) -> None:
    conn, name = server
    close(conn, name, marked=True)
    recovered(conn, name)
    assert allows_connections(conn, name)


def test_a_database_closed_beside_our_scratch_is_ours_without_a_marker(
    server: tuple[psycopg.Connection[Any], str],
) -> None:
    conn, name = server
    close(conn, name, marked=False)  # a role that may not set the marker closed it
    create(f"{name}__restoring")
    recovered(conn, name)
    assert allows_connections(conn, name)


def test_a_database_someone_else_closed_is_left_closed(server: tuple[psycopg.Connection[Any], str]) -> None:
    conn, name = server
    close(conn, name, marked=False)
    assert recovered(conn, name) == []
    assert not allows_connections(conn, name)


def test_an_undo_copy_set_aside_by_an_interrupted_undo_is_the_undo_copy_again(
    server: tuple[psycopg.Connection[Any], str],
) -> None:
    conn, name = server
    create(f"{name}__swap")
    recovered(conn, name)
    assert exists(conn, f"{name}__undo") and not exists(conn, f"{name}__swap")


def test_the_undo_copy_a_finished_restore_replaced_is_dropped(server: tuple[psycopg.Connection[Any], str]) -> None:
    conn, name = server
    create(f"{name}__undo")
    create(f"{name}__undo_prev")
    recovered(conn, name)
    assert not exists(conn, f"{name}__undo_prev") and exists(conn, f"{name}__undo")


def test_under_dry_recovery_says_what_it_would_do_and_changes_nothing(
    server: tuple[psycopg.Connection[Any], str],
) -> None:
    conn, name = server
    create(f"{name}__restoring")
    close(conn, name, marked=True)
    done = recovered(conn, name, dry=True)
    assert done and all(line.startswith("would put right: ") for line in done)
    assert exists(conn, f"{name}__restoring") and not allows_connections(conn, name)


def test_a_swap_whose_name_now_holds_another_database_renames_nothing(
    server: tuple[psycopg.Connection[Any], str],
) -> None:
    conn, name = server
    create(f"{name}__restoring")
    with pytest.raises(StackError, match="no longer the database this run set out to replace"):
        swap(conn, [(name, f"{name}__undo"), (f"{name}__restoring", name)], expect={name: 1})
    assert exists(conn, name) and exists(conn, f"{name}__restoring") and not exists(conn, f"{name}__undo")


def test_a_second_run_on_the_same_database_is_kept_out_by_the_lock(
    server: tuple[psycopg.Connection[Any], str],
) -> None:
    conn, name = server
    hold_lock(conn, name)
    with pg.admin() as other, pytest.raises(StackError, match=f"another restore or undo of {name} is running now"):
        hold_lock(other, name)
