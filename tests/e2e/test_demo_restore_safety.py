"""End-to-end: restore and backup in the db service under real signals (service mode).

The tools run inside the container through `compose exec`; a killed `inv` must leave no
pg_restore or pg_dump running there, no copy of the dump in its /tmp, and a whole database.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.gate import new_gate
from tests.helpers import copy_demo, engine_missing, require, run_inv, start_inv, started_stack, wait_until

PROJECT = "stacktasks-e2e-safety"
PORTS = {"APP_PORT": "29100", "DB_PORT": "29532", "REDIS_PORT": "29479"}
ENV = {"INVOKE_STACKTASKS_PROJECT_NAME": PROJECT}
URL = f"postgresql://demo:demo-password@127.0.0.1:{PORTS['DB_PORT']}"
ROWS = 1_500_000


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require(engine_missing())
    project = copy_demo(tmp_path_factory.mktemp("e2e-safety") / "demo", PORTS)
    with started_stack(project, ENV, "-s", "db") as started:
        with psycopg.connect(f"{URL}/demo", autocommit=True) as conn:
            conn.execute(f"create table bulk as select i, md5(i::text) as note from generate_series(1, {ROWS}) i")
        yield started


def waiting_for_a_lock(database: str, application: str) -> bool:
    with psycopg.connect(f"{URL}/postgres", autocommit=True) as conn:
        row = conn.execute(
            "select count(*) from pg_stat_activity where datname = %s and application_name = %s "
            "and wait_event_type = 'Lock'",
            [database, application],
        ).fetchone()
        return bool(row and row[0])


def in_container(demo: Path, script: str) -> str:
    result = subprocess.run(
        ["docker", "compose", "-p", PROJECT, "exec", "-T", "db", "sh", "-c", script],
        cwd=demo,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def processes(demo: Path) -> str:
    """Every command line in the db container (its image may have no ps)."""
    return in_container(demo, 'for p in /proc/[0-9]*; do tr "\\0" " " < "$p/cmdline"; echo; done 2>/dev/null')


def bulk_rows() -> int:
    with psycopg.connect(f"{URL}/demo") as conn:
        row = conn.execute("select count(*) from bulk").fetchone()
        return int(row[0]) if row else -1


def backup(demo: Path, name: str) -> Path:
    result = run_inv(demo, "db.backup", "--name", name, env=ENV)
    assert result.returncode == 0, result.stderr
    return demo / "backups" / f"{name}.dump"


def test_sigkill_mid_restore_leaves_no_pg_restore_and_no_dump_copy_in_the_service(demo: Path) -> None:
    gate = new_gate(lambda dbname: psycopg.connect(f"{URL}/{dbname}"))
    gate.install("demo", "bulk", "i", 1000)  # every load of the dump below holds at row 1000 while closed
    dump = backup(demo, "whole")
    with psycopg.connect(f"{URL}/demo", autocommit=True) as conn:
        conn.execute("delete from bulk where i > 10")
    with gate.closed():
        restore = start_inv(demo, "db.restore", "--yes", "--file", str(dump), env=ENV)
        wait_until(lambda: gate.waiting("demo__restoring"), child=restore)
        restore.send_signal(signal.SIGKILL)
        restore.communicate(timeout=30)
        wait_until(lambda: "pg_restore" not in processes(demo), timeout=3)  # the watchdog, gate still closed
    assert in_container(demo, "ls /tmp | grep -c stacktasks-restore || true").strip() == "0"
    assert bulk_rows() == 10  # the old database, whole and reachable
    again = run_inv(demo, "db.restore", "--yes", "--file", str(dump), env=ENV)
    assert again.returncode == 0, again.stderr
    assert "dropped demo__restoring, left by an interrupted restore" in again.stderr
    assert bulk_rows() == ROWS


def test_sigterm_mid_backup_ends_pg_dump_in_the_service_and_leaves_no_partial(demo: Path) -> None:
    with psycopg.connect(f"{URL}/demo") as holder:  # a lock the dump waits for, held by the test
        holder.execute("lock table bulk in access exclusive mode")
        backup_run = start_inv(demo, "db.backup", "--name", "interrupted", "--format", "plain", env=ENV)
        wait_until(lambda: waiting_for_a_lock("demo", "pg_dump"), child=backup_run)
        backup_run.send_signal(signal.SIGTERM)
        _, stderr = backup_run.communicate(timeout=30)
        holder.rollback()
    assert backup_run.returncode == 143, stderr
    assert stderr.strip().splitlines()[-1] == "stacktasks: interrupted by SIGTERM"
    wait_until(lambda: "pg_dump" not in processes(demo), timeout=3)
    assert not list((demo / "backups").glob("interrupted*"))


def test_sigint_while_the_database_is_closed_reopens_it_in_service_mode(demo: Path) -> None:
    dump = backup(demo, "for-swap")
    with psycopg.connect(f"{URL}/demo", autocommit=True) as conn:
        conn.execute("delete from bulk where i > 20")
    with psycopg.connect(f"{URL}/postgres") as holder:  # a lock the swap has to wait for
        holder.execute("comment on database demo is 'held'")
        restore = start_inv(demo, "db.restore", "--yes", "--file", str(dump), env=ENV)

        def closed() -> bool:
            with psycopg.connect(f"{URL}/postgres") as conn:
                row = conn.execute("select not datallowconn from pg_database where datname = 'demo'").fetchone()
                return bool(row and row[0])

        wait_until(closed)
        restore.send_signal(signal.SIGINT)
        _, stderr = restore.communicate(timeout=60)
        holder.rollback()
    assert restore.returncode == 130, stderr
    assert bulk_rows() == 20


def test_a_database_never_started_is_said_at_once_with_the_command_that_starts_it(tmp_path: Path) -> None:
    require(engine_missing())
    project = copy_demo(tmp_path / "demo", {"APP_PORT": "29110", "DB_PORT": "29542", "REDIS_PORT": "29489"})
    env = {"INVOKE_STACKTASKS_PROJECT_NAME": "stacktasks-e2e-never-started"}
    import time

    started = time.monotonic()
    backup = run_inv(project, "db.backup", env=env, timeout=120)
    assert time.monotonic() - started < 30  # not the 60 s wait for a service that is starting
    assert backup.returncode == 1, backup.stderr
    assert "service db is not running" in backup.stderr and "inv up -s db" in backup.stderr
    assert backup.stderr.count("# route: ") <= 1
    restore = run_inv(project, "db.restore", "--yes", "--latest", env=env, timeout=120)
    assert restore.returncode != 0
    assert "inv up -s db" in restore.stderr or "no backups of" in restore.stderr
