"""Nothing is dropped or replaced that stacktasks cannot prove it made, and names never collide,
on a real PostgreSQL on this host."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from psycopg import sql

from stacktasks.db.admin import aside_name
from tests import pg
from tests.gate import Gate
from tests.helpers import inv_ok, require, run_inv, start_inv, wait_until


@pytest.fixture()
def database(sample_database: tuple[str, Path]) -> tuple[str, Path]:
    return sample_database


def comment_of(name: str) -> str:
    with pg.admin() as conn:
        row = conn.execute("select shobj_description(oid, 'pg_database') from pg_database where datname = %s", [name])
        found = row.fetchone()
        return str(found[0]) if found else ""


def test_a_snapshot_record_copied_onto_another_database_names_nothing_of_ours(database: tuple[str, Path]) -> None:
    name, project = database
    inv_ok(project, "db.snapshot", "--name", "real")
    record = comment_of(aside_name(name, "__snap_real"))
    victim = pg.new_database_name()
    pg.create_sample_database(victim)
    try:
        # The strongest forgery: the real record, seal and all, on another database; and one on the live one.
        with pg.admin() as conn:
            for target in (victim, name):
                conn.execute(
                    sql.SQL("comment on database {} is {}").format(sql.Identifier(target), sql.Literal(record))
                )
        listed = inv_ok(project, "db.snapshots")
        assert victim not in listed and listed.count("real") == 1
        inv_ok(project, "db.snapshots", "--prune", "--keep", "0", "--yes")
        assert victim in pg.databases() and name in pg.databases()
        assert aside_name(name, "__snap_real") not in pg.databases()
    finally:
        pg.drop_databases(victim)


def test_a_dry_prune_changes_nothing_not_even_what_recovery_would_put_right(database: tuple[str, Path]) -> None:
    name, project = database
    leftover = aside_name(name, "__snapping")
    with pg.admin() as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(leftover)))
    output = inv_ok(project, "--dry", "db.snapshots", "--prune", "--keep", "0")
    assert f"would put right: dropped {leftover}" in output
    assert leftover in pg.databases()


def test_long_names_sharing_a_prefix_never_share_a_derived_name(tmp_path: Path) -> None:
    require(pg.server_missing())
    prefix = "st_" + "x" * 54  # 57 bytes: the server would cut "<name>__undo" of both to the same 63
    first, second = prefix + "_one", prefix + "_two"
    try:
        for name, rows in ((first, 3), (second, 5)):
            pg.create_sample_database(name)
            pg.execute(name, f"create table marker as select generate_series(1, {rows}) i")
        projects = [pg.url_project(tmp_path / name[-3:], pg.url_for(name)) for name in (first, second)]
        before = pg.fingerprint(first)
        for project in projects:
            inv_ok(project, "db.backup", "--name", "b")
        pg.execute(first, "delete from marker")
        inv_ok(projects[0], "db.restore", "--yes", "--file", "b")  # first's undo: first with no markers
        inv_ok(projects[1], "db.restore", "--yes", "--file", "b")  # must not touch first's undo
        assert aside_name(first, "__undo") != aside_name(second, "__undo")
        assert all(len(aside_name(first, s).encode()) <= 63 for s in ("__undo", "__restoring", "__snap_a"))
        inv_ok(projects[0], "db.undo", "--yes")
        assert pg.scalar(first, "select count(*) from marker") == 0
        inv_ok(projects[0], "db.undo", "--yes")
        assert pg.fingerprint(first) == before
        assert pg.scalar(second, "select count(*) from marker") == 5
    finally:
        pg.drop_databases(first, second)


def test_a_database_that_took_the_name_during_the_load_is_not_swapped_out(database: tuple[str, Path]) -> None:
    name, project = database
    gate: Gate = pg.gate()
    pg.execute(name, "create table bulk as select generate_series(1, 2000) i")
    gate.install(name, "bulk", "i", 1000)
    inv_ok(project, "db.backup", "--name", "b")
    moved = f"{name}_moved"
    try:
        with gate.closed():
            restore = start_inv(project, "db.restore", "--yes", "--file", "b")
            wait_until(lambda: gate.waiting(f"{name}__restoring"), child=restore)
            with pg.admin() as conn:  # meanwhile another database takes the name
                conn.execute(
                    sql.SQL("alter database {} rename to {}").format(sql.Identifier(name), sql.Identifier(moved))
                )
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        _, stderr = restore.communicate(timeout=120)
        assert restore.returncode == 1, stderr
        assert f"{name} is no longer the database this run set out to replace" in stderr
        assert pg.scalar(moved, "select count(*) from bulk") == 2000
        assert pg.scalar(name, "select count(*) from pg_class where relname = 'bulk'") == 0  # the newcomer, as it was
        assert aside_name(name, "__undo") not in pg.databases()
    finally:
        pg.drop_databases(moved)


def test_sigkill_while_closed_for_the_swap_keeps_the_previous_undo_copy(database: tuple[str, Path]) -> None:
    name, project = database
    pg.execute(name, "create table bulk as select generate_series(1, 100) i")
    inv_ok(project, "db.backup", "--name", "b")
    pg.execute(name, "delete from bulk where i > 10")
    inv_ok(project, "db.restore", "--yes", "--file", "b")
    undo = aside_name(name, "__undo")
    kept = pg.fingerprint(undo)  # the database as it was before the first restore
    with pg.admin() as holder:  # a lock the swap waits for, held by the test
        holder.autocommit = False
        holder.execute(sql.SQL("comment on database {} is 'held'").format(sql.Identifier(name)))
        restore = start_inv(project, "db.restore", "--yes", "--file", "b")
        wait_until(
            lambda: pg.scalar("postgres", f"select not datallowconn from pg_database where datname = '{name}'") is True,
            child=restore,
        )
        restore.send_signal(signal.SIGKILL)
        restore.communicate(timeout=60)
        holder.rollback()
    assert pg.fingerprint(undo) == kept  # the undo point survives until a new one is in place
    inv_ok(project, "db.restore", "--yes", "--file", "b")
    assert aside_name(name, "__undo_prev") not in pg.databases()


def test_a_snapshot_that_fails_to_end_a_session_leaves_the_database_open(tmp_path: Path) -> None:
    """A CREATEDB role may not end a superuser's session: the snapshot fails, and says so, but the
    database it closed for the copy is opened again."""
    require(pg.server_missing())
    role = "st_snapper"
    name = pg.new_database_name()
    with pg.admin() as conn:
        conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("create role {} login createdb password 'snap-pw'").format(sql.Identifier(role)))
    try:
        pg.create_sample_database(name, owner=role, password="snap-pw")
        project = pg.url_project(tmp_path / "p", pg.url_for(name, user=role, password="snap-pw"))
        with pg.psycopg.connect(pg.url_for(name)):  # a superuser's session on the database
            result = run_inv(project, "db.snapshot", "--name", "x")
            assert result.returncode != 0
            assert f"stacktasks: {name} has a session this role may not end" in result.stderr
            assert pg.scalar("postgres", f"select datallowconn from pg_database where datname = '{name}'") is True
    finally:
        pg.drop_databases(name)
        pg.drop_snapshots(name)
        with pg.admin() as conn:
            conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))


def test_a_deliberately_dropped_database_is_not_brought_back_from_its_undo_copy(database: tuple[str, Path]) -> None:
    name, project = database
    inv_ok(project, "db.backup", "--name", "b")
    inv_ok(project, "db.restore", "--yes", "--file", "b")
    undo = aside_name(name, "__undo")
    with pg.admin() as conn:
        conn.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))
    result = run_inv(project, "db.backup", "--name", "after-drop")
    assert result.returncode == 1
    assert "interrupted swap" not in result.stderr
    assert name not in pg.databases() and undo in pg.databases()


def test_escape_sequences_a_dump_says_of_itself_never_reach_the_terminal(database: tuple[str, Path]) -> None:
    name, project = database
    inv_ok(project, "db.backup", "--name", "b")
    manifest = project / "backups" / "b.dump.json"
    data = manifest.read_text().replace(f'"database": "{name}"', '"database": "evil\\u001b]0;owned\\u0007\\u001b[2J"')
    manifest.write_text(data)
    result = run_inv(project, "db.restore", "--yes", "--file", "b")
    assert "\x1b" not in result.stdout + result.stderr and "\x07" not in result.stdout + result.stderr
    assert "evil?]0;owned??[2J" in result.stdout + result.stderr
