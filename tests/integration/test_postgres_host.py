"""db.backup, db.restore and db.undo on a real PostgreSQL server on this host, driven through
`inv` in a project whose database is an external URL (as with a cloud Postgres)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests import pg
from tests.helpers import INV, require, run_inv


@pytest.fixture()
def database(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A sample database (extensions, two schemas, sequences, a view) and a project pointing at it."""
    require(pg.server_missing())
    name = pg.new_database_name()
    pg.create_sample_database(name)
    project = pg.url_project(tmp_path / "project", pg.url_for(name).replace("postgresql://", "postgresql+asyncpg://"))
    yield name, project
    pg.drop_databases(name)


def backup(project: Path, *args: str) -> Path:
    result = run_inv(project, "db.backup", *args)
    assert result.returncode == 0, result.stderr
    dumps = sorted((project / "backups").glob("*.dump")) + sorted((project / "backups").glob("*.sql"))
    assert dumps, result.stdout
    return max(dumps, key=lambda p: p.stat().st_mtime_ns)


def change_everything(name: str) -> None:
    pg.execute(
        name,
        """
        delete from billing.invoices where id % 2 = 0;
        update customers set name = 'changed' where id < 50;
        insert into customers (name) values ('new one');
        select nextval('ticket_numbers');
        drop view big_invoices;
        drop extension hstore cascade;
    """,
    )


def test_custom_round_trip_restores_contents_sequences_and_extensions(database: tuple[str, Path]) -> None:
    name, project = database
    before = pg.fingerprint(name)
    dump = backup(project)
    change_everything(name)
    assert pg.fingerprint(name) != before
    result = run_inv(project, "db.restore", "--yes", "--file", str(dump))
    assert result.returncode == 0, result.stderr
    assert pg.fingerprint(name) == before
    assert "row counts of 2 tables match the manifest" in result.stdout


def test_plain_round_trip_restores_the_same_database(database: tuple[str, Path]) -> None:
    name, project = database
    before = pg.fingerprint(name)
    dump = backup(project, "--format", "plain", "--name", "plain-copy")
    assert dump.name == "plain-copy.sql"
    change_everything(name)
    result = run_inv(project, "db.restore", "--yes", "--", str(dump))
    assert result.returncode == 0, result.stderr
    assert pg.fingerprint(name) == before


def test_a_backup_is_private_and_described_by_its_manifest(database: tuple[str, Path]) -> None:
    name, project = database
    dump = backup(project)
    manifest = json.loads(dump.with_name(dump.name + ".json").read_text())
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    assert stat.S_IMODE((project / "backups").stat().st_mode) == 0o700
    assert manifest["database"] == name
    assert manifest["size"] == dump.stat().st_size
    assert manifest["tables"] == {"billing.invoices": 2000, "public.customers": 500}
    assert manifest["server_major"] >= 12
    assert manifest["format"] == "custom" and manifest["automatic"] is False
    assert not list((project / "backups").glob("*.partial"))


def test_secrets_never_appear_in_what_the_tasks_print(tmp_path: Path) -> None:
    require(pg.server_missing())
    name = pg.new_database_name()
    pg.create_sample_database(name)
    password = "Very-Secret-7731"
    with pg.admin() as conn:
        conn.execute(f"create role st_secret login superuser password '{password}'".encode())
    try:
        project = pg.url_project(tmp_path / "p", pg.url_for(name, user="st_secret", password=password))
        results = [run_inv(project, "db.backup"), run_inv(project, "db.restore", "--latest", "--yes")]
        results.append(run_inv(project, "--dry", "db.restore", "--latest", "--yes"))
        for result in results:
            assert result.returncode == 0, result.stderr
            assert password not in result.stdout + result.stderr
        assert "$ pg_dump" in results[0].stderr  # the commands are shown, just never the secret
    finally:
        pg.drop_databases(name)
        with pg.admin() as conn:
            conn.execute("drop role if exists st_secret")


def test_backup_while_other_sessions_write_is_consistent_and_restorable(database: tuple[str, Path]) -> None:
    name, project = database
    stop = threading.Event()

    def write_constantly() -> None:
        with psycopg.connect(pg.url_for(name), autocommit=True) as conn:
            while not stop.is_set():
                conn.execute("insert into billing.invoices (customer_id, amount) values (1, 5)")

    writer = threading.Thread(target=write_constantly)
    writer.start()
    try:
        time.sleep(0.3)
        dump = backup(project)
    finally:
        stop.set()
        writer.join()
    counted = json.loads(dump.with_name(dump.name + ".json").read_text())["tables"]["billing.invoices"]
    assert counted > 2000  # the writer was busy during the dump
    result = run_inv(project, "db.restore", "--yes", "--file", str(dump))
    assert result.returncode == 0, result.stderr  # the manifest's counts are the dump's own snapshot
    assert pg.scalar(name, "select count(*) from billing.invoices") == counted


def test_restore_succeeds_while_the_app_holds_connections(database: tuple[str, Path]) -> None:
    name, project = database
    dump = backup(project)
    idle = psycopg.connect(pg.url_for(name), autocommit=True)
    in_transaction = psycopg.connect(pg.url_for(name))
    in_transaction.execute("select * from customers for update")
    try:
        result = run_inv(project, "db.restore", "--yes", "--file", str(dump), timeout=120)
        assert result.returncode == 0, result.stderr
        assert "ended 2 other sessions" in result.stdout
        with pytest.raises(psycopg.OperationalError):
            idle.execute("select 1")
    finally:
        idle.close()
        in_transaction.close()


def test_the_replaced_database_is_kept_and_undo_puts_it_back(database: tuple[str, Path]) -> None:
    name, project = database
    dump = backup(project)
    pg.execute(name, "insert into customers (name) values ('only in the replaced one')")
    changed = pg.fingerprint(name)
    assert run_inv(project, "db.restore", "--yes", "--file", str(dump)).returncode == 0
    assert f"{name}__undo" in pg.databases()
    result = run_inv(project, "db.undo", "--yes")
    assert result.returncode == 0, result.stderr
    assert pg.fingerprint(name) == changed


def _untouched(name: str, before: dict[str, object]) -> None:
    assert pg.fingerprint(name) == before
    assert f"{name}__restoring" not in pg.databases()


def test_a_truncated_dump_fails_clearly_and_leaves_the_database_untouched(database: tuple[str, Path]) -> None:
    name, project = database
    dump = backup(project)
    cut = dump.with_name("cut.dump")
    cut.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])  # no manifest: pg_restore finds out
    before = pg.fingerprint(name)
    result = run_inv(project, "db.restore", "--yes", "--file", str(cut))
    assert result.returncode != 0
    assert "pg_restore failed" in result.stderr
    assert f"{name} is untouched" in result.stderr
    _untouched(name, before)


def test_a_dump_that_no_longer_matches_its_manifest_is_refused_before_anything(database: tuple[str, Path]) -> None:
    name, project = database
    dump = backup(project)
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    before = pg.fingerprint(name)
    result = run_inv(project, "db.restore", "--yes", "--file", str(dump))
    assert result.returncode == 1
    assert "does not match the sha256 in its manifest" in result.stderr
    _untouched(name, before)


def test_a_corrupt_custom_dump_fails_clearly_and_leaves_the_database_untouched(database: tuple[str, Path]) -> None:
    name, project = database
    corrupt = project / "corrupt.dump"
    corrupt.write_bytes(b"PGDMP" + os.urandom(4096))
    before = pg.fingerprint(name)
    result = run_inv(project, "db.restore", "--yes", "--file", str(corrupt))
    assert result.returncode != 0
    assert "pg_restore failed" in result.stderr
    _untouched(name, before)


def test_a_dump_of_another_kind_is_refused(database: tuple[str, Path]) -> None:
    name, project = database
    rdb = project / "dump.rdb"
    rdb.write_bytes(b"REDIS0011\xfa\tredis-ver\x057.0.15\xff")
    before = pg.fingerprint(name)
    result = run_inv(project, "db.restore", "--yes", "--file", str(rdb))
    assert result.returncode == 1
    assert "is not a PostgreSQL dump" in result.stderr
    _untouched(name, before)


def test_a_sql_dump_of_another_database_system_is_refused_before_anything_changes(database: tuple[str, Path]) -> None:
    name, project = database
    mysql = project / "mysql.sql"
    mysql.write_text("-- MySQL dump 10.13\nCREATE TABLE `x` (`id` int) ENGINE=InnoDB;\n")
    before = pg.fingerprint(name)
    result = run_inv(project, "db.restore", "--yes", "--file", str(mysql))
    assert result.returncode != 0
    assert "is refused: it is not pg_dump output" in result.stderr  # before anything was created
    _untouched(name, before)


def test_a_missing_file_is_a_clear_error(database: tuple[str, Path]) -> None:
    _, project = database
    result = run_inv(project, "db.restore", "--yes", "--file", "nope.dump")
    assert result.returncode == 1
    assert "nope.dump: no such file" in result.stderr


def test_restore_without_terminal_or_yes_is_refused_and_changes_nothing(database: tuple[str, Path]) -> None:
    name, project = database
    dump = backup(project)
    change_everything(name)
    before = pg.fingerprint(name)
    result = run_inv(project, "db.restore", "--file", str(dump))
    assert result.returncode == 3
    assert "pass --yes" in result.stderr
    _untouched(name, before)


def test_dry_run_restore_and_backup_change_nothing(database: tuple[str, Path]) -> None:
    name, project = database
    dump = backup(project)
    change_everything(name)
    before = pg.fingerprint(name)
    restore = run_inv(project, "--dry", "db.restore", "--yes", "--file", str(dump))
    assert restore.returncode == 0, restore.stderr
    assert "[dry-run] pg_restore" in restore.stdout
    _untouched(name, before)
    files = sorted((project / "backups").iterdir())
    dry_backup = run_inv(project, "--dry", "db.backup")
    assert dry_backup.returncode == 0, dry_backup.stderr
    assert "[dry-run] pg_dump" in dry_backup.stdout
    assert sorted((project / "backups").iterdir()) == files


def test_pg_dump_killed_mid_stream_leaves_no_complete_looking_file(database: tuple[str, Path]) -> None:
    name, project = database
    # Big enough that the dump is still streaming when it is killed.
    pg.execute(
        name,
        "create table bulk as select i, md5(i::text) || md5((i * 7)::text) as pad from generate_series(1, 3000000) i",
    )
    process = subprocess.Popen(
        [INV, "db.backup", "--format", "plain"],
        cwd=project,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        partials = list((project / "backups").glob("*.partial")) if (project / "backups").exists() else []
        if partials and partials[0].stat().st_size > 1_000_000:
            break
        time.sleep(0.02)
    else:
        pytest.fail("the backup never started streaming")
    killed = subprocess.run(["pkill", "-KILL", "-x", "pg_dump"], check=False)
    assert killed.returncode == 0
    _, stderr = process.communicate(timeout=60)
    assert process.returncode != 0
    assert "pg_dump failed" in stderr and "killed by signal 9" in stderr
    assert list((project / "backups").iterdir()) == []


def test_a_role_that_may_not_create_databases_restores_in_place_after_a_safety_dump(tmp_path: Path) -> None:
    require(pg.server_missing())
    with pg.owned_by_a_non_superuser("st_owner", tmp_path) as (name, project):
        before = pg.fingerprint(name)
        dump = backup(project)
        pg.execute(name, "delete from billing.invoices where customer_id > 10; delete from customers where id > 10")
        result = run_inv(project, "db.restore", "--yes", "--file", str(dump))
        assert result.returncode == 0, result.stderr
        assert "safety dump:" in result.stdout
        assert pg.fingerprint(name) == before
        assert f"{name}__undo" not in pg.databases()
        undo = run_inv(project, "db.undo", "--yes")
        assert undo.returncode == 0, undo.stderr
        assert pg.scalar(name, "select count(*) from customers") == 10


def test_a_transaction_pooler_url_is_refused_with_the_way_out(tmp_path: Path) -> None:
    project = pg.url_project(tmp_path / "p", "postgresql://postgres.ref:pw@aws-0-eu.pooler.supabase.com:6543/postgres")
    result = run_inv(project, "db.backup")
    assert result.returncode == 1
    assert "transaction pooler (port 6543)" in result.stderr
    assert "DIRECT_URL" in result.stderr


def test_backups_lists_each_backup_with_its_reason(database: tuple[str, Path]) -> None:
    _, project = database
    backup(project, "--name", "first")
    (project / "backups" / "stale.dump.partial").write_bytes(b"PGDMP")
    result = run_inv(project, "db.backups")
    assert result.returncode == 0, result.stderr
    assert "manual" in result.stdout and "first.dump" in result.stdout
    assert "incomplete (interrupted, not restorable): backups/stale.dump.partial" in result.stdout


def test_automatic_backups_beyond_the_kept_number_are_pruned(database: tuple[str, Path]) -> None:
    from stacktasks.db.backup import dump_database
    from stacktasks.project import Project
    from stacktasks.settings import resolve

    _, project = database
    backup(project, "--name", "manual-one")
    settings = resolve(project, flags={"db.keep_automatic": 2})
    made = []
    for _ in range(3):
        result = dump_database(Project.from_settings(settings), reason="before reset")
        assert result is not None
        made.append(result.path)
    names = sorted(p.name for p in (project / "backups").glob("*.dump"))
    assert names == sorted(["manual-one.dump", made[1].name, made[2].name])


def test_a_second_backup_under_the_same_name_is_refused(database: tuple[str, Path]) -> None:
    _, project = database
    backup(project, "--name", "same")
    result = run_inv(project, "db.backup", "--name", "same")
    assert result.returncode == 2
    assert "already exists" in result.stderr


def test_a_restore_whose_rows_differ_from_the_manifest_is_refused_before_the_swap(
    database: tuple[str, Path],
) -> None:
    name, project = database
    dump = backup(project)
    manifest_file = dump.with_name(dump.name + ".json")
    manifest = json.loads(manifest_file.read_text())
    manifest["tables"]["public.customers"] = 499  # the dump holds 500
    manifest_file.write_text(json.dumps(manifest))
    change_everything(name)
    before = pg.fingerprint(name)
    result = run_inv(project, "db.restore", "--yes", "--file", str(dump))
    assert result.returncode == 1
    assert "differs from the manifest: public.customers: 500 rows, manifest 499" in result.stderr
    _untouched(name, before)


@pytest.mark.parametrize("fmt", ["custom", "plain"])
def test_a_gzipped_dump_restores_through_a_pipe(database: tuple[str, Path], fmt: str) -> None:
    import gzip

    name, project = database
    before = pg.fingerprint(name)
    dump = backup(project, "--format", fmt, "--name", f"zipped-{fmt}")
    zipped = project / f"{dump.name}.gz"
    zipped.write_bytes(gzip.compress(dump.read_bytes()))
    change_everything(name)
    result = run_inv(project, "db.restore", "--yes", "--file", str(zipped))
    assert result.returncode == 0, result.stderr
    assert pg.fingerprint(name) == before


def test_with_no_automatic_backups_kept_the_safety_dump_a_restore_names_is_kept_for_undo(tmp_path: Path) -> None:
    require(pg.server_missing())
    with pg.owned_by_a_non_superuser("st_owner_keep0", tmp_path) as (name, project):
        keep_none = {"INVOKE_STACKTASKS_DB_KEEP_AUTOMATIC": "0"}
        dump = backup(project)
        pg.execute(name, "delete from billing.invoices where customer_id > 10; delete from customers where id > 10")
        result = run_inv(project, "db.restore", "--yes", "--file", str(dump), env=keep_none)
        assert result.returncode == 0, result.stderr
        named = result.stdout.split("safety dump: ", 1)[1].split(" ", 1)[0]
        assert (project / named).is_file()
        undo = run_inv(project, "db.undo", "--yes", env=keep_none)
        assert undo.returncode == 0, undo.stderr
        assert pg.scalar(name, "select count(*) from customers") == 10
