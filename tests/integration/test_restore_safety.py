"""Restore and backup that nothing can break, on a real PostgreSQL on this host (URL mode).

Signals are real and sent at real moments: the test holds the state under test (a gate in the
dump's own data, or a lock the swap waits for) and fires while it holds. After every one, the
database exists, accepts connections and holds the old or the new data whole, and the next run
needs no manual step.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg import sql

from tests import pg
from tests.gate import Gate
from tests.helpers import require, run_inv, start_inv, wait_until

ROWS = 1_500_000
BULK = f"create table bulk as select i, md5(i::text) as note from generate_series(1, {ROWS}) i"


@pytest.fixture()
def database(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The sample database and a project on it."""
    require(pg.server_missing())
    name = pg.new_database_name()
    pg.create_sample_database(name)
    project = pg.url_project(tmp_path / "project", pg.url_for(name))
    yield name, project
    pg.drop_databases(name)


@pytest.fixture()
def big_database(database: tuple[str, Path]) -> tuple[str, Path]:
    """The sample with enough rows that loading it takes a second or two."""
    pg.execute(database[0], BULK)
    return database


def gated(name: str, owner: str | None = None) -> Gate:
    """A gate on ``bulk`` at its 1000th row: a load of a dump of ``name`` holds there while the test wants."""
    gate = pg.gate()
    gate.install(name, "bulk", "i", 1000, owner=owner)
    return gate


def backup(project: Path, *args: str) -> Path:
    result = run_inv(project, "db.backup", *args)
    assert result.returncode == 0, result.stderr
    made = [*(project / "backups").glob("*.dump"), *(project / "backups").glob("*.sql")]
    return max(made, key=lambda p: p.stat().st_mtime_ns)


def closed(name: str) -> bool:
    with pg.admin() as conn:
        row = conn.execute("select not datallowconn from pg_database where datname = %s", [name]).fetchone()
        return bool(row and row[0])


def assert_whole(name: str, expected: dict[str, object]) -> None:
    """The database is there, takes connections, and is exactly one known state."""
    assert name in pg.databases()
    assert pg.fingerprint(name) == expected


SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGKILL]


@pytest.mark.parametrize("signum", SIGNALS, ids=[s.name for s in SIGNALS])
def test_a_signal_while_loading_leaves_the_old_database_and_the_next_restore_works(
    big_database: tuple[str, Path], signum: signal.Signals
) -> None:
    name, project = big_database
    gate = gated(name)
    dump = backup(project)
    pg.execute(name, "delete from bulk where i > 10")
    old = pg.fingerprint(name)
    with gate.closed():
        restore = start_inv(project, "db.restore", "--yes", "--file", str(dump))
        wait_until(lambda: gate.waiting(f"{name}__restoring"), child=restore)
        restore.send_signal(signum)
        _, stderr = restore.communicate(timeout=60)
    assert restore.returncode == (-9 if signum == signal.SIGKILL else 128 + signum), stderr
    assert_whole(name, old)
    if signum != signal.SIGKILL:
        assert f"{name}__restoring" not in pg.databases()  # rolled back by the interrupted run itself
        assert "Traceback" not in stderr and stderr.strip().splitlines()[-1].startswith("stacktasks: interrupted")
    again = run_inv(project, "db.restore", "--yes", "--file", str(dump))
    assert again.returncode == 0, again.stderr
    assert pg.scalar(name, "select count(*) from bulk") == ROWS


@pytest.mark.parametrize("signum", SIGNALS, ids=[s.name for s in SIGNALS])
def test_a_signal_while_the_database_is_closed_for_the_swap_reopens_it(
    database: tuple[str, Path], signum: signal.Signals
) -> None:
    name, project = database
    pg.execute(name, "create table bulk as select i from generate_series(1, 1000) i")
    dump = backup(project)
    pg.execute(name, "delete from bulk where i > 10")
    old = pg.fingerprint(name)
    with pg.admin() as holder:  # another session's lock on the database: the swap waits on it
        holder.autocommit = False
        holder.execute(sql.SQL("comment on database {} is 'held'").format(sql.Identifier(name)))
        restore = start_inv(project, "db.restore", "--yes", "--file", str(dump))
        wait_until(lambda: closed(name), child=restore)
        restore.send_signal(signum)
        _, stderr = restore.communicate(timeout=60)
        holder.rollback()
    assert restore.returncode == (-9 if signum == signal.SIGKILL else 128 + signum), stderr
    if signum == signal.SIGKILL:
        assert closed(name)  # nothing of ours ran after SIGKILL: the next run puts it right
        repaired = run_inv(project, "db.backup", "--name", "after-kill")
        assert repaired.returncode == 0, repaired.stderr
        assert "accepts connections again" in repaired.stderr
    assert not closed(name)
    assert_whole(name, old)
    assert {f"{name}__restoring", f"{name}__undo"}.isdisjoint(pg.databases()) or signum == signal.SIGKILL
    again = run_inv(project, "db.restore", "--yes", "--file", str(dump))
    assert again.returncode == 0, again.stderr
    assert pg.scalar(name, "select count(*) from bulk") == 1000


def test_a_signal_during_undo_leaves_one_whole_database_under_each_name(database: tuple[str, Path]) -> None:
    name, project = database
    pg.execute(name, "create table bulk as select i from generate_series(1, 1000) i")
    dump = backup(project)
    pg.execute(name, "delete from bulk where i > 10")
    small = pg.fingerprint(name)
    assert run_inv(project, "db.restore", "--yes", "--file", str(dump)).returncode == 0
    full = pg.fingerprint(name)
    with pg.admin() as holder:
        holder.autocommit = False
        holder.execute(sql.SQL("comment on database {} is 'held'").format(sql.Identifier(f"{name}__undo")))
        undo = start_inv(project, "db.undo", "--yes")
        wait_until(lambda: closed(name), child=undo)
        undo.send_signal(signal.SIGKILL)
        undo.communicate(timeout=60)
        holder.rollback()
    again = run_inv(project, "db.undo", "--yes")
    assert again.returncode == 0, again.stderr
    assert_whole(name, small)
    assert pg.fingerprint(f"{name}__undo") == full


def test_two_restores_at_once_the_second_is_refused_while_the_first_runs(big_database: tuple[str, Path]) -> None:
    name, project = big_database
    gate = gated(name)
    dump = backup(project)
    with gate.closed():
        first = start_inv(project, "db.restore", "--yes", "--file", str(dump))
        wait_until(lambda: gate.waiting(f"{name}__restoring"), child=first)
        second = run_inv(project, "db.restore", "--yes", "--file", str(dump))
        assert second.returncode == 1
        assert "another restore or undo of" in second.stderr
    first.communicate(timeout=120)
    assert first.returncode == 0


def test_in_place_a_cut_custom_dump_rolls_back_every_drop(tmp_path: Path) -> None:
    """The role may not create databases: pg_restore --clean | psql, where a cut dump used to commit."""
    require(pg.server_missing())
    with pg.owned_by_a_non_superuser("st_owner", tmp_path) as (name, project):
        dump = backup(project, "--name", "whole")
        before = pg.fingerprint(name)
        data = dump.read_bytes()
        cut = tmp_path / "cut.dump"
        cut.write_bytes(data[: int(len(data) * 0.8)])
        result = run_inv(project, "db.restore", "--yes", "--file", str(cut))
        assert result.returncode != 0
        assert pg.fingerprint(name) == before  # every table still full: nothing was committed


def test_in_place_sigkill_mid_load_commits_nothing(tmp_path: Path) -> None:
    require(pg.server_missing())
    with pg.owned_by_a_non_superuser("st_owner2", tmp_path) as (name, project):
        pg.execute(name, f"set role st_owner2; {BULK}")
        gate = gated(name, owner="st_owner2")
        dump = backup(project, "--format", "plain", "--name", "plain")
        pg.execute(name, "delete from bulk where i > 10")
        before = pg.fingerprint(name)
        with gate.closed():
            restore = start_inv(project, "db.restore", "--yes", "--file", str(dump))
            wait_until(lambda: gate.waiting(name), child=restore)  # mid-load: 999 rows in, uncommitted
            restore.send_signal(signal.SIGKILL)
            restore.communicate(timeout=30)
        wait_until(lambda: not pg.sessions_of("stacktasks", name), timeout=30)  # psql saw its stdin end
        assert pg.fingerprint(name) == before
        again = run_inv(project, "db.restore", "--yes", "--file", str(dump))  # plain, in place, whole
        assert again.returncode == 0, again.stderr
        assert pg.scalar(name, "select count(*) from bulk") == ROWS
        pg.execute(name, "drop table bulk")  # owned by the role, which goes next


# -- hostile and foreign dumps -----------------------------------------------------------------


def plain_dump(project: Path) -> bytes:
    return backup(project, "--format", "plain", "--name", f"p{time.monotonic_ns()}").read_bytes()


def test_a_dump_that_runs_a_shell_command_is_refused_and_runs_nothing(database: tuple[str, Path]) -> None:
    name, project = database
    marker = project / "pwned"
    text = plain_dump(project).replace(
        b"SET row_security = off;", f"SET row_security = off;\n\\! touch {marker}".encode()
    )
    (project / "evil.sql").write_bytes(text)
    before = pg.fingerprint(name)
    result = run_inv(project, "db.restore", "--yes", "--file", "evil.sql")
    assert result.returncode == 1
    assert "contains the psql meta-command \\!" in result.stderr
    assert not marker.exists()
    assert pg.fingerprint(name) == before


def test_a_connect_in_the_middle_of_a_line_is_refused_and_the_other_database_untouched(
    database: tuple[str, Path],
) -> None:
    _, project = database
    other = pg.new_database_name()
    pg.create_sample_database(other)
    try:
        attack = f"SET row_security = off; \\c {other}\nDROP TABLE customers CASCADE;".encode()
        (project / "switch.sql").write_bytes(plain_dump(project).replace(b"SET row_security = off;", attack))
        other_before = pg.fingerprint(other)
        result = run_inv(project, "db.restore", "--yes", "--file", "switch.sql")
        assert result.returncode == 1
        assert "connects to another database" in result.stderr
        assert pg.fingerprint(other) == other_before
    finally:
        pg.drop_databases(other)


def test_a_plain_dump_cut_in_the_middle_is_refused_before_anything_changes(database: tuple[str, Path]) -> None:
    name, project = database
    text = plain_dump(project)
    (project / "cut.sql").write_bytes(text[: len(text) // 2])
    pg.execute(name, "update customers set name = 'changed' where id > 5")
    before = pg.fingerprint(name)
    result = run_inv(project, "db.restore", "--yes", "--file", "cut.sql")
    assert result.returncode == 1
    assert "cut short" in result.stderr
    assert pg.fingerprint(name) == before
    assert f"{name}__restoring" not in pg.databases()


def test_a_gzipped_plain_dump_cut_in_the_middle_is_refused_and_the_database_kept(database: tuple[str, Path]) -> None:
    import gzip

    name, project = database
    text = plain_dump(project)
    (project / "cut.sql.gz").write_bytes(gzip.compress(text[: len(text) // 2]))
    before = pg.fingerprint(name)
    result = run_inv(project, "db.restore", "--yes", "--file", "cut.sql.gz")
    assert result.returncode == 1
    assert "cut short" in result.stderr
    assert pg.fingerprint(name) == before
    assert f"{name}__restoring" not in pg.databases()


def test_a_file_of_plain_sql_that_pg_dump_did_not_write_is_refused(database: tuple[str, Path]) -> None:
    name, project = database
    (project / "select.sql").write_text("select 1;\n")
    before = pg.fingerprint(name)
    result = run_inv(project, "db.restore", "--yes", "--file", "select.sql")
    assert result.returncode == 1
    assert "not pg_dump output" in result.stderr
    assert pg.fingerprint(name) == before


def test_a_dump_of_another_database_is_restored_and_said_plainly(database: tuple[str, Path]) -> None:
    name, project = database
    other = pg.new_database_name()
    pg.create_sample_database(other)
    try:
        foreign = project / "colleague.dump"
        subprocess.run(["pg_dump", "-Fc", "-f", str(foreign), pg.url_for(other)], check=True, capture_output=True)
        result = run_inv(project, "db.restore", "--yes", "--file", str(foreign))
        assert result.returncode == 0, result.stderr
        assert f"note: this is a dump of another database, {other}" in result.stderr + result.stdout
        assert pg.fingerprint(name) == pg.fingerprint(other)
    finally:
        pg.drop_databases(other)


# -- backups: races, links, folders, names ------------------------------------------------------


def test_two_backups_started_together_both_land_with_distinct_names(database: tuple[str, Path]) -> None:
    _, project = database
    runs = [start_inv(project, "db.backup") for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    dumps = sorted(p.name for p in (project / "backups").glob("*.dump"))
    manifests = sorted(p.name for p in (project / "backups").glob("*.dump.json"))
    assert len(dumps) == 2 and len(set(dumps)) == 2
    assert manifests == [d + ".json" for d in dumps]
    assert not list((project / "backups").glob("*.partial"))


def test_a_link_planted_where_the_manifest_goes_is_never_written_through(database: tuple[str, Path]) -> None:
    _, project = database
    victim = project / "victim.txt"
    victim.write_text("keep me\n")
    (project / "backups").mkdir(mode=0o700)
    (project / "backups" / "planted.dump.json").symlink_to(victim)
    result = run_inv(project, "db.backup", "--name", "planted")
    assert result.returncode == 2
    assert "already exists" in result.stderr
    assert victim.read_text() == "keep me\n"


def test_a_link_planted_as_a_partial_is_never_written_through(database: tuple[str, Path]) -> None:
    _, project = database
    victim = project / "victim.txt"
    victim.write_text("keep me\n")
    (project / "backups").mkdir(mode=0o700)
    (project / "backups" / "trap.dump.partial").symlink_to(victim)
    result = run_inv(project, "db.backup", "--name", "trap")
    assert result.returncode == 2
    assert victim.read_text() == "keep me\n"
    assert (project / "backups" / "trap.dump.partial").is_symlink()  # not ours: left where it was


def test_a_world_writable_backups_folder_is_refused_and_left_as_it_was(database: tuple[str, Path]) -> None:
    """Others may already have planted files in it; and a folder stacktasks did not make is not its
    to chmod."""
    _, project = database
    (project / "backups").mkdir()
    (project / "backups").chmod(0o777)
    result = run_inv(project, "db.backup")
    assert result.returncode == 1
    assert "can be read or written by others (mode 777)" in result.stderr and "chmod 700" in result.stderr
    assert (project / "backups").stat().st_mode & 0o777 == 0o777
    assert list((project / "backups").iterdir()) == []


@pytest.mark.parametrize("folder", ["..", ".", "../.."])
def test_a_backup_dir_that_is_the_project_or_above_it_is_refused_and_nothing_changes(
    database: tuple[str, Path], folder: str
) -> None:
    _, project = database
    (project / "pyproject.toml").write_text(f'[tool.stacktasks.db]\nbackup_dir = "{folder}"\n')
    modes = {path: path.stat().st_mode for path in (project, project.parent, project.parent.parent)}
    result = run_inv(project, "db.backup")
    assert result.returncode == 2, result.stderr
    assert "the project's folder or one above it" in result.stderr
    assert {path: path.stat().st_mode for path in modes} == modes


def test_a_backups_folder_of_another_user_is_refused(database: tuple[str, Path]) -> None:
    _, project = database
    if os.geteuid() != 0:
        pytest.skip("making a folder another user's needs root")
    (project / "backups").mkdir()
    os.chown(project / "backups", 65534, 65534)
    result = run_inv(project, "db.backup")
    assert result.returncode == 1
    assert result.stderr.startswith("stacktasks:") and "belongs to another user" in result.stderr


def test_a_file_where_the_backups_folder_goes_is_one_line(database: tuple[str, Path]) -> None:
    _, project = database
    (project / "backups").write_text("not a folder")
    result = run_inv(project, "db.backup")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "is not a folder" in result.stderr


def test_a_full_disk_during_a_backup_is_one_line_and_leaves_no_partial(database: tuple[str, Path]) -> None:
    _, project = database
    folder = project / "backups"
    folder.mkdir(mode=0o700)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16k,mode=0700", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here to fill: {mounted.stderr.strip()}")
    try:
        result = run_inv(project, "db.backup")
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert "stacktasks: no space left on the device" in result.stderr
        assert list(folder.iterdir()) == []
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_manifest_with_a_non_numeric_field_is_one_line(database: tuple[str, Path]) -> None:
    _, project = database
    dump = backup(project, "--name", "odd")
    manifest = dump.with_name(dump.name + ".json")
    manifest.write_text(manifest.read_text().replace('"server_major": 15', '"server_major": "fifteen"'))
    result = run_inv(project, "db.restore", "--yes", "--file", str(dump))
    assert result.returncode == 1
    assert "malformed manifest: 'server_major' must be a whole number" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_password_with_an_unencoded_at_sign_is_hidden_whole(tmp_path: Path) -> None:
    project = pg.url_project(tmp_path / "p", "postgresql://app:p@ss@w0rd-Zq9@db.example:5432/app")
    result = run_inv(project, "env.show")
    assert result.returncode == 0
    assert "w0rd" not in result.stdout and "ss@" not in result.stdout
    assert "postgresql://app:***@db.example:5432/app" in result.stdout


@pytest.mark.parametrize("password", ["Hash#Tail-9", "Slash/Tail-9", "Ask?Tail-9", "At@Tail-9"])
def test_a_url_the_client_would_misread_is_refused_before_anything_runs_and_shows_no_secret(
    tmp_path: Path, password: str
) -> None:
    project = pg.url_project(tmp_path / "p", f"postgresql://app:{password}@127.0.0.1:5432/app")
    for args in (("--dry", "db.backup"), ("db.backup",), ("doctor",)):
        result = run_inv(project, *args)
        assert "Tail-9" not in result.stdout + result.stderr, args
        if args != ("doctor",):
            assert result.returncode == 1, result.stderr
            assert "unencoded" in result.stderr and "percent-encode" in result.stderr


def test_secrets_in_query_parameters_short_key_names_and_files_are_masked_in_env_show(tmp_path: Path) -> None:
    project = pg.url_project(tmp_path / "p", "postgresql://app@127.0.0.1/app?password=Query-Secret-9")
    (project / ".env").write_text(
        (project / ".env").read_text() + "DB_PW=Short-Pw-9\nREDIS_PW=Other-Pw-9\n", encoding="utf-8"
    )
    result = run_inv(project, "env.show")
    assert result.returncode == 0, result.stderr
    assert "Secret-9" not in result.stdout and "Pw-9" not in result.stdout


def descendants_named(pid: int, command: str) -> list[int]:
    """The live processes below ``pid`` whose command is ``command`` (read from /proc)."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
                names[int(entry.name)] = stat.split("(", 1)[1].rsplit(")", 1)[0]
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        for child, its_parent in parents.items():
            if its_parent == parent:
                frontier.append(child)
                if names[child] == command:
                    found.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_sigkill_mid_load_ends_the_hosts_pg_restore_with_the_task(big_database: tuple[str, Path]) -> None:
    name, project = big_database
    gate = gated(name)
    dump = backup(project)
    with gate.closed():
        restore = start_inv(project, "db.restore", "--yes", "--file", str(dump))
        wait_until(lambda: gate.waiting(f"{name}__restoring"), child=restore)
        tools = descendants_named(restore.pid, "pg_restore")
        assert tools, "the load runs no pg_restore on this host"
        restore.send_signal(signal.SIGKILL)
        restore.communicate(timeout=60)
        # Still inside the gate: only the parent's death can have ended the load.
        wait_until(lambda: not any(alive(pid) for pid in tools), timeout=30)
    again = run_inv(project, "db.restore", "--yes", "--file", str(dump))
    assert again.returncode == 0, again.stderr
