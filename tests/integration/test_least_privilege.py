"""A dump is applied with the rights of a role that owns only the scratch database, on a real
PostgreSQL on this host.

Each hostile dump is a real one: pg_dump's own output (custom, tar or plain) of a database whose
table has a CHECK constraint calling a plpgsql function, so that the function runs inside the
restore, for every row COPY loads (or, for plain dumps, a ``DO`` block put into pg_dump's text).
What the function tries would need a superuser; each test proves it did not happen: no server
program ran, no role changed, the live database is whole under its name.
"""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from stacktasks.db.loadrole import load_role_name
from tests import pg
from tests.helpers import require, run_inv

FORMATS = {"custom": "-Fc", "tar": "-Ft", "plain": "-Fp"}


@pytest.fixture()
def database(sample_database: tuple[str, Path]) -> tuple[str, Path]:
    return sample_database


@pytest.fixture()
def victim() -> Iterator[str]:
    """A role the hostile dumps try to raise: no superuser, a member of nothing."""
    require(pg.server_missing())
    name = f"st_victim_{uuid.uuid4().hex[:8]}"
    with pg.admin() as conn:
        conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(name)))
    yield name
    with pg.admin() as conn:
        conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(name)))


def payloads(marker: Path, victim: str, live: str) -> dict[str, str]:
    """What a dump's code tries during the load, each needing rights the load role lacks."""
    return {
        "server program": f"copy (select 1) to program 'touch {marker}'",
        "superuser": f"alter role {victim} superuser",
        "server role": f"grant pg_execute_server_program to {victim}",
        "rename live": f"alter database {live} rename to {live}_gone",
    }


def pg_dump(name: str, fmt: str, path: Path) -> Path:
    """The dump as pg_dump itself writes it, with no help from stacktasks."""
    subprocess.run(["pg_dump", FORMATS[fmt], "-f", str(path), pg.url_for(name)], check=True, capture_output=True)
    return path


def plant_check_function(name: str, payload: str) -> None:
    """A table whose CHECK runs ``payload`` for each row loaded into any database but ``name``
    (here, where the row is inserted, it does nothing)."""
    quoted = payload.replace("'", "''")
    pg.execute(
        name,
        "create function public.guard(v int) returns boolean language plpgsql as $$ begin "
        f"if current_database() <> '{name}' then execute '{quoted}'; end if; return true; end $$; "
        "create table guarded (v int check (public.guard(v))); insert into guarded values (1);",
    )


def assert_nothing_happened(name: str, before: dict[str, object], marker: Path, victim: str) -> None:
    assert not marker.exists(), "a server program ran"
    with pg.admin() as conn:
        row = conn.execute(
            "select rolsuper, pg_has_role(oid, 'pg_execute_server_program', 'MEMBER') from pg_roles where rolname = %s",
            [victim],
        ).fetchone()
        assert row == (False, False), "a role changed"
        left = conn.execute("select 1 from pg_roles where rolname = %s", [load_role_name(name)]).fetchone()
        assert left is None, "the load role outlived the restore"
    assert name in pg.databases() and f"{name}_gone" not in pg.databases()
    assert f"{name}__restoring" not in pg.databases()
    assert pg.fingerprint(name) == before


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("attempt", ["server program", "superuser", "server role", "rename live"])
def test_a_function_in_a_dump_runs_without_the_rights_to_harm_the_server(
    database: tuple[str, Path], victim: str, fmt: str, attempt: str, tmp_path: Path
) -> None:
    name, project = database
    marker = tmp_path / "pwned"
    tmp_path.chmod(0o777)  # the server's user could write the marker here, if it ran the program
    plant_check_function(name, payloads(marker, victim, name)[attempt])
    dump = pg_dump(name, fmt, project / f"hostile.{fmt}")
    before = pg.fingerprint(name)
    result = run_inv(project, "db.restore", "--yes", "--file", str(dump))
    assert result.returncode != 0, result.stderr
    assert re.search(r"permission denied|must (be|have)", result.stderr.splitlines()[-1]), result.stderr
    assert f"the dump is applied as {load_role_name(name)}" in result.stderr
    assert_nothing_happened(name, before, marker, victim)


@pytest.mark.parametrize("attempt", ["server program", "superuser", "server role", "rename live"])
def test_a_do_block_in_a_plain_dump_runs_without_the_rights_to_harm_the_server(
    database: tuple[str, Path], victim: str, attempt: str, tmp_path: Path
) -> None:
    name, project = database
    marker = tmp_path / "pwned"
    tmp_path.chmod(0o777)
    payload = payloads(marker, victim, name)[attempt].replace("'", "''")
    text = pg_dump(name, "plain", tmp_path / "clean.sql").read_bytes()
    block = f"SET row_security = off;\nDO $$ BEGIN EXECUTE '{payload}'; END $$;".encode()
    (project / "do.sql").write_bytes(text.replace(b"SET row_security = off;", block, 1))
    before = pg.fingerprint(name)
    result = run_inv(project, "db.restore", "--yes", "--file", "do.sql")
    assert result.returncode != 0, result.stderr
    assert_nothing_happened(name, before, marker, victim)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_dump_format_restores_with_its_objects_owned_by_the_restoring_user(
    database: tuple[str, Path], fmt: str
) -> None:
    name, project = database
    before = pg.fingerprint(name)
    dump = pg_dump(name, fmt, project / f"whole.{fmt}")
    pg.execute(name, "delete from billing.invoices")
    result = run_inv(project, "db.restore", "--yes", "--file", str(dump))
    assert result.returncode == 0, result.stderr
    assert pg.fingerprint(name) == before
    owners = pg.scalar(
        name,
        "select array_agg(distinct pg_get_userbyid(c.relowner)) from pg_class c join pg_namespace n "
        "on n.oid = c.relnamespace where n.nspname not like 'pg\\_%' and n.nspname <> 'information_schema'",
    )
    assert owners == ["stacktasks"]
    with pg.admin() as conn:
        assert conn.execute("select 1 from pg_roles where rolname = %s", [load_role_name(name)]).fetchone() is None


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_extension_only_a_superuser_may_create_is_made_ready_and_restored(
    database: tuple[str, Path], fmt: str
) -> None:
    name, project = database
    pg.execute(name, "create extension pgstattuple")  # not trusted: the load role could not create it
    dump = pg_dump(name, fmt, project / f"ext.{fmt}")
    result = run_inv(project, "db.restore", "--yes", "--file", str(dump))
    assert result.returncode == 0, result.stderr
    assert pg.scalar(name, "select count(*) from pg_extension where extname = 'pgstattuple'") == 1
    assert pg.scalar(name, "select (pgstattuple('customers')).tuple_count") == 500


def test_the_restored_database_keeps_no_setting_the_dump_gave_its_scratch_database(
    database: tuple[str, Path],
) -> None:
    """A load's code may set the scratch database's own settings (it owns it); pg_dump without
    --create writes none, so after the load every one of them is reset."""
    name, project = database
    pg.execute(
        name,
        "create function public.guard(v int) returns boolean language plpgsql as $$ begin "
        f"if current_database() <> '{name}' then "
        "execute format('alter database %I set search_path = evil, public', current_database()); "
        "end if; return true; end $$; "
        "create table guarded (v int check (public.guard(v))); insert into guarded values (1);",
    )
    dump = pg_dump(name, "custom", project / "settings.dump")
    result = run_inv(project, "db.restore", "--yes", "--file", str(dump))
    assert result.returncode == 0, result.stderr
    with pg.admin() as conn:
        row = conn.execute(
            "select count(*) from pg_db_role_setting s join pg_database d on d.oid = s.setdatabase "
            "where d.datname = %s",
            [name],
        ).fetchone()
    assert row == (0,)


def test_in_place_says_the_dump_runs_with_the_users_own_rights(tmp_path: Path) -> None:
    require(pg.server_missing())
    with pg.owned_by_a_non_superuser("st_owner3", tmp_path) as (_, project):
        dump = run_inv(project, "db.backup", "--name", "own")
        assert dump.returncode == 0, dump.stderr
        result = run_inv(project, "db.restore", "--yes", "--file", "own")
        assert result.returncode == 0, result.stderr
        assert "st_owner3 is not a superuser" in result.stderr
        assert "the dump is applied with st_owner3's rights" in result.stderr


def test_in_place_restores_beside_a_superusers_idle_session_it_may_not_end(tmp_path: Path) -> None:
    require(pg.server_missing())
    with pg.owned_by_a_non_superuser("st_owner4", tmp_path) as (name, project):
        dump = run_inv(project, "db.backup", "--name", "own")
        assert dump.returncode == 0, dump.stderr
        with psycopg.connect(pg.url_for(name), autocommit=True) as superusers_session:
            superusers_session.execute("truncate customers cascade")
            result = run_inv(project, "db.restore", "--yes", "--file", "own")
            assert result.returncode == 0, result.stderr
            assert superusers_session.execute("select count(*) from customers").fetchone() != (0,)
        assert f"1 session(s) on {name} belong to roles st_owner4 may not signal" in result.stderr


def test_a_swap_that_a_superusers_session_blocks_stops_naming_it_and_changes_nothing(tmp_path: Path) -> None:
    require(pg.server_missing())
    with pg.owned_by_a_non_superuser("st_owner5", tmp_path, createdb=True) as (name, project):
        dump = run_inv(project, "db.backup", "--name", "own")
        assert dump.returncode == 0, dump.stderr
        before, databases = pg.fingerprint(name), pg.databases()
        with psycopg.connect(pg.url_for(name), autocommit=True):
            result = run_inv(project, "db.restore", "--yes", "--file", "own")
        assert result.returncode == 1, result.stderr
        assert f"stacktasks: {name} has a session this role may not end" in result.stderr
        assert "nothing was changed" in result.stderr
        assert pg.fingerprint(name) == before
        assert pg.scalar("postgres", f"select datallowconn from pg_database where datname = '{name}'") is True
        assert pg.databases() == databases
