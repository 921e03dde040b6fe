"""End-to-end: `db.pull --from staging`, where staging is the demo on the second engine
(scripts/remote-engine, reached by a docker context that `stage_contexts` names) with data of its
own, and this stack is the demo on the local engine. pg_dump runs in staging's db container over
there, its row counts are taken through the engine, psql runs in the local db container. The tests
share the two stacks and run in file order."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.e2e.remote import TCP_HOST, docker_on, remote_engine_missing
from tests.gate import Gate, new_gate
from tests.helpers import copy_demo, inv_ok, remove_stack, require, run_inv, start_inv, wait_until

NAME = "stacktasks-e2e-pull"
CONTEXT = "stacktasks-test-pull-tcp"
PORTS = {"APP_PORT": "29801", "DB_PORT": "29832", "REDIS_PORT": "29879"}
LOCAL = {"INVOKE_STACKTASKS_PROJECT_NAME": NAME}
STAGING = {**LOCAL, "INVOKE_STACKTASKS_STAGE": "staging"}
LOCAL_URL = f"postgresql://demo:demo-password@127.0.0.1:{PORTS['DB_PORT']}/demo"
RULE = "UPDATE notes SET body = 'note ' || id"


@dataclass
class Stacks:
    project: Path
    marker: str  # only staging has it: no sanitised copy, and no file here, may


def staging_sql(statement: str) -> str:
    listed = docker_on(TCP_HOST, "ps", "-q", "--filter", f"label=com.docker.compose.project={NAME}",
                       "--filter", "label=com.docker.compose.service=db")  # fmt: skip
    result = docker_on(
        TCP_HOST, "exec", listed.stdout.split()[0], "psql", "-U", "demo", "-d", "demo", "-Atc", statement
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def local_sql(statement: str) -> str:
    with psycopg.connect(LOCAL_URL, autocommit=True) as conn:
        cursor = conn.execute(statement.encode())
        row = cursor.fetchone() if cursor.description else None
        return "" if row is None else str(row[0])


def local_notes() -> list[tuple[int, str]]:
    with psycopg.connect(LOCAL_URL) as conn:
        return [(int(i), str(body)) for i, body in conn.execute("select id, body from notes order by id")]


@pytest.fixture(scope="module")
def stacks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stacks]:
    require(remote_engine_missing())
    subprocess.run(["docker", "context", "rm", "-f", CONTEXT], capture_output=True)
    created = subprocess.run(["docker", "context", "create", CONTEXT, "--docker", f"host={TCP_HOST}"],
                             capture_output=True, text=True)  # fmt: skip
    assert created.returncode == 0, created.stderr
    project = copy_demo(tmp_path_factory.mktemp("e2e-pull") / "demo", PORTS)
    pyproject = (project / "pyproject.toml").read_text()
    pyproject = pyproject.replace("[tool.stacktasks]\n", f'[tool.stacktasks]\nstage_contexts = ["staging={CONTEXT}"]\n')
    (project / "pyproject.toml").write_text(pyproject + f'\n[tool.stacktasks.db]\nsanitize = ["{RULE}"]\n')
    marker = f"MARKER-{uuid.uuid4().hex}"
    try:
        for env in (LOCAL, STAGING):
            inv_ok(project, "up", env=env)
            inv_ok(project, "db.migrate", env=env)
        staging_sql(
            "insert into notes (body) select 'staging ' || i from generate_series(1, 2000) i; "
            f"update notes set body = '{marker}' where id = 2"
        )
        local_sql("insert into notes (body) select 'local ' || i from generate_series(1, 50) i")
        yield Stacks(project, marker)
    finally:
        remove_stack(NAME, project)
        docker_on(TCP_HOST, "compose", "-p", NAME, "down", "-v", "--remove-orphans", timeout=300)
        subprocess.run(["docker", "context", "rm", "-f", CONTEXT], capture_output=True)


def files_holding(marker: str, project: Path) -> list[Path]:
    """Every file here, in the project, the temporary folders and the user's cache, holding ``marker``."""
    found = []
    for root in (project, Path(tempfile.gettempdir()), Path("/var/tmp"), Path.home() / ".cache"):
        for folder, _, names in os.walk(root):
            for name in names:
                path = Path(folder) / name
                try:
                    if path.is_file() and not path.is_symlink() and marker.encode() in path.read_bytes():
                        found.append(path)
                except OSError:
                    continue
    return found


def gate_on_staging(at: int) -> Gate:
    """A gate (tests/gate.py) whose function the dump carries from staging: the load here waits at
    note ``at`` while the gate's role exists on the local server."""
    gate = new_gate(lambda dbname: psycopg.connect(LOCAL_URL.rsplit("/", 1)[0] + f"/{dbname}"))
    staging_sql(
        f"create function public.{gate.role}(v bigint) returns boolean language plpgsql as $$ begin "
        f"if v = {at} then while exists (select 1 from pg_catalog.pg_roles where rolname = '{gate.role}') loop "
        "perform pg_catalog.pg_sleep(0.02); end loop; end if; return true; end $$; "
        f"alter table notes add constraint {gate.role} check (public.{gate.role}(id))"
    )
    return gate


def drop_gate_on_staging(gate: Gate) -> None:
    staging_sql(f"alter table notes drop constraint {gate.role}; drop function public.{gate.role}(bigint)")


def test_a_pull_from_a_stage_on_its_own_engine_brings_its_rows_sanitised(stacks: Stacks) -> None:
    output = inv_ok(stacks.project, "db.pull", "--from", "staging", "--yes", env=LOCAL)
    assert "sanitised: rule 1 (2000 rows)" in output
    notes = local_notes()
    assert len(notes) == 2000 and all(body == f"note {i}" for i, body in notes)
    assert staging_sql(f"select count(*) from notes where body = '{stacks.marker}'") == "1"  # only read there


def test_no_file_on_this_machine_holds_the_stages_rows(stacks: Stacks) -> None:
    assert files_holding(stacks.marker, stacks.project) == []


def test_sigkill_and_sigint_mid_pull_leave_the_local_database_whole(stacks: Stacks) -> None:
    local_sql("update notes set body = 'mine ' || id")
    before = local_notes()
    gate = gate_on_staging(1000)
    try:
        for signum in (signal.SIGKILL, signal.SIGINT):
            with gate.closed():
                pull = start_inv(stacks.project, "db.pull", "--from", "staging", "--yes", env=LOCAL)
                wait_until(lambda: gate.waiting("demo__restoring"), child=pull)
                pull.send_signal(signum)
                _, stderr = pull.communicate(timeout=120)
            assert local_notes() == before, stderr
            if signum == signal.SIGINT:
                assert pull.returncode == 130, stderr
                assert "stopped before the swap: dropping demo__restoring; demo is untouched" in stderr
    finally:
        drop_gate_on_staging(gate)
    again = run_inv(stacks.project, "db.pull", "--from", "staging", "--yes", env=LOCAL)
    assert again.returncode == 0, again.stderr
    assert len(local_notes()) == 2000


def test_undo_puts_back_the_database_the_pull_replaced(stacks: Stacks) -> None:
    before = local_notes()
    local_sql("delete from notes where id > 100")
    inv_ok(stacks.project, "db.pull", "--from", "staging", "--yes", env=LOCAL)
    inv_ok(stacks.project, "db.undo", "--yes", env=LOCAL)
    assert len(local_notes()) == 100 and local_notes() == before[:100]


def test_onboard_with_a_stage_as_seed_dump_pulls_it_sanitised_into_the_new_database(
    stacks: Stacks, tmp_path: Path
) -> None:
    # A new teammate's clone of the same project (so staging is the same stack there): the local
    # stack of the tests above goes first, volumes and all, so that this one's database is new.
    remove_stack(NAME, stacks.project)
    project = copy_demo(tmp_path / "demo", PORTS)
    seeded = (stacks.project / "pyproject.toml").read_text() + 'seed_dump = "stage:staging"\n'
    (project / "pyproject.toml").write_text(seeded)
    result = run_inv(project, "onboard", "--yes", env=LOCAL)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "changed  seed dump: restored stage:staging, sanitised" in result.stdout
    bodies = [body for _, body in local_notes()]
    assert len(bodies) == 2000 and stacks.marker not in bodies
    second = run_inv(project, "onboard", "--yes", env=LOCAL)
    assert "same     seed dump: skipped: the database was not new (stage:staging)" in second.stdout
