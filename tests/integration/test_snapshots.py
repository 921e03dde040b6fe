"""db.snapshot, db.snapshots and db.rollback on a real PostgreSQL server on this host, driven
through `inv` in a project whose database is an external URL."""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator
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
    inv_ok(project, "db.snapshot", "--name", "kept", "--no-spare")  # so the rollback copies it
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


# -- ready spares -------------------------------------------------------------------------------


def listed(project: Path, snapshot: str) -> str:
    return next(line for line in inv_ok(project, "db.snapshots").splitlines() if line.split()[0] == snapshot)


def creating(database: str) -> bool:
    """Whether a copy into ``database`` is running on the server now."""
    query = "select count(*) from pg_stat_activity where query ilike %s"
    return bool(pg.scalar("postgres", query, [f'create database "{database}"%']))


@contextlib.contextmanager
def copies_of_held(snapshot_database: str) -> Iterator[None]:
    """While inside, a copy of ``snapshot_database`` waits: an uncommitted comment holds its lock."""
    with pg.admin() as blocker:
        blocker.execute("begin")
        blocker.execute(sql.SQL("comment on database {} is 'busy'").format(sql.Identifier(snapshot_database)))
        yield
        blocker.execute("rollback")


def test_a_snapshot_keeps_a_ready_spare_of_its_size_beside_it(database: tuple[str, Path]) -> None:
    name, project = database
    output = inv_ok(project, "db.snapshot", "--name", "kept")
    assert "ready spare of snapshot kept made in" in output
    assert "+ spare" in listed(project, "kept")
    with pytest.raises(psycopg.OperationalError, match="not currently accepting connections"):
        psycopg.connect(pg.url_for(f"{name}__spare_kept")).close()


def test_rollback_renames_the_ready_spare_into_place_and_makes_the_next(database: tuple[str, Path]) -> None:
    name, project = database
    inv_ok(project, "db.snapshot", "--name", "kept")
    spare_oid = pg.scalar("postgres", "select oid from pg_database where datname = %s", [f"{name}__spare_kept"])
    pg.execute(name, "delete from billing.invoices")
    output = inv_ok(project, "db.rollback", "--yes")
    assert "(its ready spare; back after" in output
    assert pg.scalar("postgres", "select oid from pg_database where datname = %s", [name]) == spare_oid
    assert pg.scalar(name, "select count(*) from billing.invoices") == 2000
    assert pg.scalar(name, "select count(*) from customers") == 500  # open, owned, whole
    owner = "select pg_get_userbyid(datdba) from pg_database where datname = %s"
    assert pg.scalar("postgres", owner, [name]) == pg.scalar("postgres", owner, [f"{name}__undo"])
    assert "+ spare" in listed(project, "kept")  # the next one, for the next rollback
    pg.execute(name, "update customers set name = 'changed'")
    assert "(its ready spare;" in inv_ok(project, "db.rollback", "--yes")
    assert pg.scalar(name, "select count(*) from customers where name = 'changed'") == 0


def test_a_snapshot_taken_with_no_spare_has_none_and_is_copied_back(database: tuple[str, Path]) -> None:
    name, project = database
    output = inv_ok(project, "db.snapshot", "--name", "lean", "--no-spare")
    assert "spare" not in output.split(")", 1)[1].replace("open again", "")
    assert "no spare" in listed(project, "lean")
    pg.execute(name, "delete from billing.invoices")
    assert "(a copy; back after" in inv_ok(project, "db.rollback", "--yes")
    assert pg.scalar(name, "select count(*) from billing.invoices") == 2000
    assert f"{name}__spare_lean" not in pg.databases()


def test_a_spare_opened_to_connections_is_not_used_and_is_made_again(database: tuple[str, Path]) -> None:
    name, project = database
    inv_ok(project, "db.snapshot", "--name", "kept")
    with pg.admin() as conn:
        conn.execute(sql.SQL("alter database {} allow_connections true").format(sql.Identifier(f"{name}__spare_kept")))
    assert "spare missing" in listed(project, "kept")
    pg.execute(name, "delete from billing.invoices")
    output = run_inv(project, "db.rollback", "--yes")
    assert output.returncode == 0, output.stderr
    assert "snapshot kept has no ready spare: copying it" in output.stderr
    assert "(a copy; back after" in output.stdout
    assert "+ spare" in listed(project, "kept")


def test_sigkill_while_the_next_spare_is_made_leaves_the_rolled_back_database_and_the_next_run_makes_it(
    database: tuple[str, Path],
) -> None:
    name, project = database
    inv_ok(project, "db.snapshot", "--name", "kept")
    pg.execute(name, "delete from billing.invoices")
    with copies_of_held(f"{name}__snap_kept"):  # the spare is renamed in; the next one's copy waits
        run = start_inv(project, "db.rollback", "--yes")
        wait_until(lambda: creating(f"{name}__sparing"), child=run)
        run.send_signal(signal.SIGKILL)
        run.wait()
    wait_until(lambda: not creating(f"{name}__sparing"))
    assert pg.scalar(name, "select count(*) from billing.invoices") == 2000  # back, whole, open
    assert "spare missing" in listed(project, "kept")
    again = run_inv(project, "db.snapshot", "--name", "after")
    assert again.returncode == 0, again.stderr
    assert f"dropped {name}__sparing, a snapshot's spare whose making was cut short" in again.stderr
    assert "+ spare" in listed(project, "kept")  # made by the next snapshot-aware task
    assert "+ spare" in listed(project, "after")


@pytest.mark.parametrize("state", ["closed", "renaming"])
def test_sigkill_during_the_spares_swap_keeps_the_database_and_the_spare(
    database: tuple[str, Path], state: str
) -> None:
    name, project = database
    inv_ok(project, "db.snapshot", "--name", "kept")
    pg.execute(name, "delete from billing.invoices")
    with pg.admin() as holder:  # another session's lock on the database: the swap's rename waits on it
        holder.autocommit = False
        holder.execute(sql.SQL("comment on database {} is 'held'").format(sql.Identifier(name)))
        run = start_inv(project, "db.rollback", "--yes")
        if state == "closed":
            wait_until(lambda: closed(name), child=run)
        else:
            waiting = "select count(*) from pg_stat_activity where wait_event_type = 'Lock' and query ilike %s"
            wait_until(lambda: bool(pg.scalar("postgres", waiting, ["alter database % rename to %"])), child=run)
        run.send_signal(signal.SIGKILL)
        run.wait()
        holder.rollback()
    assert closed(name)  # nothing of ours ran after SIGKILL: the swap's transaction never committed
    assert "+ spare" in listed(project, "kept")  # the spare is still the spare
    output = run_inv(project, "db.rollback", "--yes")
    assert output.returncode == 0, output.stderr
    assert f"{name} was left closed by an interrupted swap: it accepts connections again" in output.stderr
    assert "(its ready spare;" in output.stdout
    assert pg.scalar(name, "select count(*) from billing.invoices") == 2000


def closed(name: str) -> bool:
    return bool(pg.scalar("postgres", "select not datallowconn from pg_database where datname = %s", [name]))
