"""End-to-end: the db namespace on the demo stack's database service, under a real engine.

pg_dump, pg_restore and psql run inside the db container (`exec -T`); psycopg reaches the
service through its published port. The tests share one stack and run in file order.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests import pg
from tests.helpers import copy_demo, engine_missing, require, run_inv, started_stack

PROJECT = "stacktasks-e2e-db"
PORTS = {"APP_PORT": "29000", "DB_PORT": "29432", "REDIS_PORT": "29379"}
ENV = {"INVOKE_STACKTASKS_PROJECT_NAME": PROJECT}
DEMO_URL = f"postgresql://demo:demo-password@127.0.0.1:{PORTS['DB_PORT']}/demo"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require(engine_missing())
    with started_stack(copy_demo(tmp_path_factory.mktemp("e2e-db") / "demo", PORTS), ENV) as project:
        yield project


def demo_state() -> dict[str, object]:
    """The demo database's notes (contents and sequence) and its extensions."""
    with psycopg.connect(DEMO_URL) as conn:
        notes = conn.execute("select id, body from notes order by id").fetchall()
        sequence = conn.execute("select last_value, is_called from notes_id_seq").fetchone()
        extensions = conn.execute("select extname from pg_extension order by 1").fetchall()
    return {"notes": notes, "sequence": sequence, "extensions": extensions}


def app_get(path: str) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{PORTS['APP_PORT']}{path}", timeout=10) as response:
        return dict(json.loads(response.read()))


def test_migrate_waits_for_the_database_and_applies_alembic_migrations(demo: Path) -> None:
    result = run_inv(demo, "db.migrate", env=ENV)
    assert result.returncode == 0, result.stderr
    assert "accepts connections" in result.stderr
    assert "alembic upgrade head" in result.stderr
    with psycopg.connect(DEMO_URL) as conn:
        assert conn.execute("select version_num from alembic_version").fetchone() is not None


def test_shell_runs_psql_in_the_db_service(demo: Path) -> None:
    result = run_inv(demo, "db.shell", "--", "-Atc", "select current_database(), current_user", env=ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "demo|demo"


def test_round_trip_in_the_service_restores_contents_sequences_and_extensions(demo: Path) -> None:
    with psycopg.connect(DEMO_URL, autocommit=True) as conn:
        conn.execute("create extension if not exists pgcrypto")
        conn.execute("insert into notes (body) select 'note ' || i from generate_series(1, 300) i")
    before = demo_state()
    backup = run_inv(demo, "db.backup", "--name", "before-change", env=ENV)
    assert backup.returncode == 0, backup.stderr
    # In the service, by name only, under the watchdog that ends it with the task (tools.WATCHDOG).
    assert "exec -T -e PGPASSWORD -e STACKTASKS_WATCHDOG db sh -c" in backup.stderr
    assert "stacktasks-watchdog '' pg_dump -U demo -d demo -Fc" in backup.stderr
    with psycopg.connect(DEMO_URL, autocommit=True) as conn:
        conn.execute("delete from notes where id % 3 = 0")
        conn.execute("insert into notes (body) values ('after the backup')")
        conn.execute("drop extension pgcrypto")
    assert demo_state() != before
    restore = run_inv(demo, "db.restore", "--yes", "--file", "backups/before-change.dump", env=ENV)
    assert restore.returncode == 0, restore.stderr
    assert "umask 077 && cat >" in restore.stderr  # pg_restore -j needs the file inside the container
    assert demo_state() == before


def test_restore_succeeds_while_the_app_holds_connections_and_the_app_recovers(demo: Path) -> None:
    assert app_get("/")["notes"] == 300  # the app now holds a connection to demo
    held = psycopg.connect(DEMO_URL)
    held.execute("select count(*) from notes")  # and an open transaction
    try:
        result = run_inv(demo, "db.restore", "--yes", "--latest", env=ENV)
        assert result.returncode == 0, result.stderr
        assert "ended" in result.stdout
    finally:
        held.close()
    assert app_get("/")["notes"] == 300


def test_reset_backs_up_the_database_before_removing_its_volume(demo: Path) -> None:
    result = run_inv(demo, "reset", "--yes", env=ENV)
    assert result.returncode == 0, result.stderr
    manifests = [json.loads(p.read_text()) for p in (demo / "backups").glob("*.json")]
    automatic = [m for m in manifests if m["reason"] == "before reset"]
    assert len(automatic) == 1
    assert automatic[0]["tables"]["public.notes"] == 300
    assert automatic[0]["compose_project"] == PROJECT
    volumes = subprocess.run(
        ["docker", "volume", "ls", "-q", "--filter", f"label=com.docker.compose.project={PROJECT}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert volumes.stdout.strip() == ""


def test_a_backup_taken_before_reset_restores_into_the_fresh_stack(demo: Path) -> None:
    up = run_inv(demo, "up", "-s", "db", env=ENV)
    assert up.returncode == 0, up.stderr
    latest = run_inv(demo, "db.restore", "--yes", "--latest", env=ENV)
    assert latest.returncode == 0, latest.stderr
    with psycopg.connect(DEMO_URL) as conn:
        assert conn.execute("select count(*) from notes").fetchone() == (300,)


def test_a_url_project_can_run_the_client_tools_in_a_container_of_the_servers_major(tmp_path: Path) -> None:
    require(pg.server_missing())
    image = "stacktasks-standin/postgres:15"
    if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode != 0:
        image = "postgres:15"
    name = pg.new_database_name()
    pg.create_sample_database(name)
    try:
        project = pg.url_project(
            tmp_path / "p",
            pg.url_for(name),
            pyproject=f'[tool.stacktasks.db]\nclient = "container"\nclient_image = "{image}"\n',
        )
        before = pg.fingerprint(name)
        backup = run_inv(project, "db.backup")
        assert backup.returncode == 0, backup.stderr
        assert "docker run --rm --network host -e PGHOST" in backup.stderr
        pg.execute(name, "delete from billing.invoices")
        restore = run_inv(project, "db.restore", "--yes", "--latest")
        assert restore.returncode == 0, restore.stderr
        assert pg.fingerprint(name) == before
    finally:
        pg.drop_databases(name)
