"""db.snapshot, db.snapshots and db.rollback on a real PostgreSQL server on this host, driven
through `inv` in a project whose database is an external URL."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests import pg
from tests.helpers import inv_ok, require, run_inv, start_inv, wait_until


@pytest.fixture()
def database(sample_database: tuple[str, Path]) -> tuple[str, Path]:
    return sample_database


def test_rollback_puts_back_what_the_snapshot_saw(database: tuple[str, Path]) -> None:
    name, project = database
    before = pg.fingerprint(name)
    inv_ok(project, "db.snapshot")
    pg.execute(name, "delete from billing.invoices; update customers set name = 'changed'")
    output = inv_ok(project, "db.rollback", "--yes")
    assert pg.fingerprint(name) == before
    assert f"the previous database is kept as {name}__undo" in output


def test_the_snapshot_stays_and_serves_a_second_rollback(database: tuple[str, Path]) -> None:
    name, project = database
    before = pg.fingerprint(name)
    inv_ok(project, "db.snapshot", "--name", "clean")
    for _ in range(2):
        pg.execute(name, "delete from customers where id > 10 and id not in (select customer_id from billing.invoices)")
        pg.execute(name, "truncate billing.invoices cascade")
        inv_ok(project, "db.rollback", "--yes")
        assert pg.fingerprint(name) == before


def test_undo_puts_back_the_database_a_rollback_replaced(database: tuple[str, Path]) -> None:
    name, project = database
    inv_ok(project, "db.snapshot")
    pg.execute(name, "insert into customers (name) values ('after the snapshot')")
    changed = pg.fingerprint(name)
    inv_ok(project, "db.rollback", "--yes")
    inv_ok(project, "db.undo", "--yes")
    assert pg.fingerprint(name) == changed


def test_rollback_takes_the_latest_snapshot_unless_one_is_named(database: tuple[str, Path]) -> None:
    name, project = database
    inv_ok(project, "db.snapshot", "--name", "first")
    pg.execute(name, "insert into customers (name) values ('second')")
    inv_ok(project, "db.snapshot", "--name", "second")
    pg.execute(name, "truncate customers cascade")
    inv_ok(project, "db.rollback", "--yes")
    assert pg.scalar(name, "select count(*) from customers where name = 'second'") == 1
    inv_ok(project, "db.rollback", "--yes", "--name", "first")
    assert pg.scalar(name, "select count(*) from customers where name = 'second'") == 0


def test_snapshots_are_listed_oldest_first_with_size_and_age(database: tuple[str, Path]) -> None:
    _, project = database
    inv_ok(project, "db.snapshot", "--name", "older")
    inv_ok(project, "db.snapshot", "--name", "newer")
    lines = inv_ok(project, "db.snapshots").splitlines()
    assert [line.split()[0] for line in lines] == ["older", "newer"]
    assert all(" MB " in line or " kB " in line for line in lines) and all(" old " in line for line in lines)


def test_a_snapshot_is_a_closed_database_nobody_changes(database: tuple[str, Path]) -> None:
    name, project = database
    inv_ok(project, "db.snapshot", "--name", "kept")
    with pytest.raises(psycopg.OperationalError, match="not currently accepting connections"):
        psycopg.connect(pg.url_for(f"{name}__snap_kept")).close()


def test_taking_a_snapshot_ends_the_sessions_on_the_database_and_says_so(database: tuple[str, Path]) -> None:
    name, project = database
    held = psycopg.connect(pg.url_for(name), autocommit=True)
    held.execute("select 1")
    output = inv_ok(project, "db.snapshot")
    with pytest.raises(psycopg.OperationalError):
        held.execute("select 1")
    held.close()
    assert f"ended 1 sessions on {name}" in output
    assert pg.scalar(name, "select count(*) from customers") == 500  # open again


def test_an_existing_or_malformed_name_is_refused(database: tuple[str, Path]) -> None:
    _, project = database
    inv_ok(project, "db.snapshot", "--name", "same")
    again = run_inv(project, "db.snapshot", "--name", "same")
    assert again.returncode == 1 and "a snapshot named same exists" in again.stderr
    bad = run_inv(project, "db.snapshot", "--name", "../x")
    assert bad.returncode == 1 and "snapshot name '../x'" in bad.stderr


def test_prune_keeps_the_newest_and_dry_run_only_says_which(database: tuple[str, Path]) -> None:
    _, project = database
    for label in ("a", "b", "c"):
        inv_ok(project, "db.snapshot", "--name", label)
    assert "would drop 2 snapshot(s): a, b" in inv_ok(project, "--dry", "db.snapshots", "--prune", "--keep", "1")
    assert len(inv_ok(project, "db.snapshots").splitlines()) == 3
    assert "dropped 2 snapshot(s): a, b" in inv_ok(project, "db.snapshots", "--prune", "--keep", "1", "--yes")
    assert [line.split()[0] for line in inv_ok(project, "db.snapshots").splitlines()] == ["c"]


def test_a_role_that_may_not_create_databases_is_pointed_to_backup(tmp_path: Path) -> None:
    require(pg.server_missing())
    with pg.owned_by_a_non_superuser("stacktasks_nosnap", tmp_path) as (_, project):
        result = run_inv(project, "db.snapshot")
    assert result.returncode == 1
    assert "this role may not create databases, which a snapshot is" in result.stderr
    assert "inv db.backup makes a dump instead" in result.stderr


def test_sigkill_during_the_copy_leaves_the_database_whole_and_the_next_run_puts_it_right(
    database: tuple[str, Path],
) -> None:
    name, project = database
    before = pg.fingerprint(name)
    with pg.admin() as blocker:
        # A comment on the database, uncommitted, holds the lock the copy waits for.
        blocker.execute("begin")
        blocker.execute(sql.SQL("comment on database {} is 'busy'").format(sql.Identifier(name)))
        run = start_inv(project, "db.snapshot", "--name", "cut")
        wait_until(
            lambda: (
                pg.scalar("postgres", "select count(*) from pg_stat_activity where query like 'create database%'") == 1
            )
        )
        run.send_signal(signal.SIGKILL)
        run.wait()
        blocker.execute("rollback")
    # The server finishes what the killed client asked: the copy exists, not yet a snapshot.
    wait_until(
        lambda: pg.scalar("postgres", "select count(*) from pg_stat_activity where query like 'create database%'") == 0
    )
    time.sleep(0.2)
    assert f"{name}__snapping" in pg.databases()
    listed = inv_ok(project, "db.snapshots")
    assert "cut" not in listed
    output = run_inv(project, "db.snapshot", "--name", "after")
    assert output.returncode == 0, output.stderr
    assert f"{name} was left closed by an interrupted swap" in output.stderr
    assert f"dropped {name}__snapping, the copy of an interrupted snapshot" in output.stderr
    assert pg.fingerprint(name) == before


def test_sigterm_while_a_rollback_copies_says_what_it_dropped_and_leaves_the_database(
    database: tuple[str, Path],
) -> None:
    name, project = database
    inv_ok(project, "db.snapshot", "--name", "kept")
    pg.execute(name, "delete from billing.invoices")
    before = pg.fingerprint(name)
    with pg.admin() as blocker:
        # An uncommitted comment on the snapshot holds the lock the rollback's copy waits for.
        blocker.execute("begin")
        blocker.execute(sql.SQL("comment on database {} is 'busy'").format(sql.Identifier(f"{name}__snap_kept")))
        run = start_inv(project, "db.rollback", "--yes")
        wait_until(
            lambda: (
                pg.scalar("postgres", "select count(*) from pg_stat_activity where query like 'create database%'") == 1
            ),
            child=run,
        )
        run.send_signal(signal.SIGTERM)
        _, stderr = run.communicate(timeout=60)
        blocker.execute("rollback")
    assert run.returncode == 128 + signal.SIGTERM, stderr
    assert f"stopped before the swap: dropping {name}__restoring; {name} is untouched" in stderr
    assert stderr.strip().splitlines()[-1] == "stacktasks: interrupted by SIGTERM"
    assert pg.fingerprint(name) == before
    assert f"{name}__restoring" not in pg.databases()
