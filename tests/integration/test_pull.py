"""db.pull --from STAGE on a real PostgreSQL server on this host: the "staging" stage is another
database, named by the stage's own env file (.env.staging), with a value no sanitised copy holds."""

from __future__ import annotations

import os
import signal
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import pg
from tests.helpers import inv_ok, require, run_inv, start_inv, wait_until

PYPROJECT = """[tool.stacktasks]
env_files = [".env", ".env.{stage}"]

[tool.stacktasks.db]
sanitize = ["UPDATE billing.invoices SET note = 'note ' || id WHERE note IS NOT NULL"]
"""


@dataclass
class Stages:
    local: str
    staging: str
    project: Path
    marker: str  # a real person's data, as it were: only on the stage


@pytest.fixture()
def stages(tmp_path: Path) -> Iterator[Stages]:
    require(pg.server_missing())
    local, staging = pg.new_database_name(), pg.new_database_name()
    pg.create_sample_database(local)
    pg.create_sample_database(staging)
    marker = f"MARKER-{uuid.uuid4().hex}"
    pg.execute(
        staging,
        f"update billing.invoices set note = '{marker}' where id = 2; "
        "delete from billing.invoices where customer_id > 400; delete from customers where id > 400",
    )
    project = pg.url_project(tmp_path / "project", pg.url_for(local), PYPROJECT)
    (project / ".env.staging").write_text(f"DATABASE_URL={pg.url_for(staging)}\n")
    try:
        yield Stages(local, staging, project, marker)
    finally:
        pg.drop_databases(local, staging)


def files_holding(marker: str, *roots: Path) -> list[Path]:
    """Every file under ``roots`` whose bytes hold ``marker``."""
    found = []
    needle = marker.encode()
    for root in roots:
        for folder, _, names in os.walk(root):
            for name in names:
                path = Path(folder) / name
                try:
                    if path.is_file() and not path.is_symlink() and needle in path.read_bytes():
                        found.append(path)
                except OSError:
                    continue
    return found


def places(stages: Stages) -> list[Path]:
    return [stages.project, Path(tempfile.gettempdir()), Path.home() / ".cache"]


def test_a_pull_brings_the_stages_rows_sanitised_and_checked(stages: Stages) -> None:
    noted = pg.scalar(stages.staging, "select count(*) from billing.invoices where note is not null")
    output = inv_ok(stages.project, "db.pull", "--from", "staging", "--yes")
    assert "row counts of 2 tables match staging's" in output
    assert f"sanitised: rule 1 ({noted} rows)" in output
    assert pg.scalar(stages.local, "select count(*) from customers") == 400  # the stage's rows
    assert pg.scalar(stages.local, f"select count(*) from billing.invoices where note = '{stages.marker}'") == 0
    assert pg.scalar(stages.staging, f"select count(*) from billing.invoices where note = '{stages.marker}'") == 1


def test_the_replaced_database_comes_back_with_undo(stages: Stages) -> None:
    before = pg.fingerprint(stages.local)
    inv_ok(stages.project, "db.pull", "--from", "staging", "--yes")
    inv_ok(stages.project, "db.undo", "--yes")
    assert pg.fingerprint(stages.local) == before


def test_no_file_on_this_machine_holds_the_stages_rows_during_or_after(stages: Stages) -> None:
    gate = pg.gate()
    gate.install(stages.staging, "billing.invoices", "id", 1000)  # the marker (row 2) has passed by then
    with gate.closed():
        pull = start_inv(stages.project, "db.pull", "--from", "staging", "--yes")
        wait_until(lambda: gate.waiting(f"{stages.local}__restoring"), child=pull)
        assert files_holding(stages.marker, *places(stages)) == []
    _, stderr = pull.communicate(timeout=120)
    assert pull.returncode == 0, stderr
    assert files_holding(stages.marker, *places(stages)) == []


def signalled_mid_pull(stages: Stages, signum: signal.Signals) -> tuple[int, str]:
    """A pull held mid-load by a gate (the marker has passed, 999 rows are in), then ``signum``:
    its exit code and what it said; the local database must be as it was."""
    before = pg.fingerprint(stages.local)
    gate = pg.gate()
    gate.install(stages.staging, "billing.invoices", "id", 1000)
    with gate.closed():
        pull = start_inv(stages.project, "db.pull", "--from", "staging", "--yes")
        wait_until(lambda: gate.waiting(f"{stages.local}__restoring"), child=pull)
        pull.send_signal(signum)
        _, stderr = pull.communicate(timeout=60)
    assert pg.fingerprint(stages.local) == before
    return pull.returncode, stderr


def test_sigkill_mid_pull_leaves_the_local_database_whole(stages: Stages) -> None:
    signalled_mid_pull(stages, signal.SIGKILL)
    again = run_inv(stages.project, "db.pull", "--from", "staging", "--yes")
    assert again.returncode == 0, again.stderr
    assert f"dropped {stages.local}__restoring, left by an interrupted restore" in again.stderr


def test_sigint_mid_pull_rolls_back_and_says_so(stages: Stages) -> None:
    code, stderr = signalled_mid_pull(stages, signal.SIGINT)
    assert code == 130, stderr
    assert f"stopped before the swap: dropping {stages.local}__restoring" in stderr
    assert f"{stages.local}__restoring" not in pg.databases()


def test_no_sanitize_brings_the_rows_as_they_are_and_says_so(stages: Stages) -> None:
    result = run_inv(stages.project, "db.pull", "--from", "staging", "--yes", "--no-sanitize")
    assert result.returncode == 0, result.stderr
    assert "--no-sanitize: staging's rows arrive as they are" in result.stderr
    assert pg.scalar(stages.local, f"select count(*) from billing.invoices where note = '{stages.marker}'") == 1


def test_the_dry_run_shows_both_sides_and_changes_nothing(stages: Stages) -> None:
    before = pg.fingerprint(stages.local)
    result = run_inv(stages.project, "--dry", "db.pull", "--from", "staging")
    assert result.returncode == 0, result.stderr
    assert f"pg_dump -d {stages.staging} -Fp --no-owner --no-acl --snapshot=EXPORTED-AT-RUN-TIME" in result.stdout
    assert f"psql -d {stages.local}__restoring" in result.stdout
    assert "run the sanitising rules in" in result.stdout
    assert pg.fingerprint(stages.local) == before


def test_pulling_from_this_stage_itself_is_refused(stages: Stages) -> None:
    result = run_inv(stages.project, "db.pull", "--from", "dev", "--yes")
    assert result.returncode == 2
    assert "--from dev is this stage itself" in result.stderr


def test_rows_left_out_on_the_stages_side_are_expected_empty_here(stages: Stages) -> None:
    output = inv_ok(stages.project, "db.pull", "--from", "staging", "--yes", "--exclude-table-data", "billing.invoices")
    assert "row counts of 2 tables match staging's" in output
    assert pg.scalar(stages.local, "select count(*) from billing.invoices") == 0
    assert pg.scalar(stages.local, "select count(*) from customers") == 400


def test_pulling_into_a_protected_stage_asks_for_the_projects_name(stages: Stages) -> None:
    import re

    from tests.helpers import INV
    from tests.terminal import on_a_terminal

    before = pg.fingerprint(stages.local)
    prompt = re.compile(rb"Type the project name \(([^)]*)\) to go on: ")
    env = {**os.environ, "INVOKE_STACKTASKS_STAGE": "production", "INVOKE_STACKTASKS_PROTECTED_STAGES": "production"}
    code, seen = on_a_terminal(
        [INV, "db.pull", "--from", "staging"],
        stages.project,
        env=env,
        stdin_too=True,
        respond=lambda shown: b"not-the-name\n" if prompt.search(shown) else None,
        timeout=120,
    )
    assert code == 3, seen
    assert "This is a protected stage." in seen and "not confirmed" in seen
    assert pg.fingerprint(stages.local) == before


def test_a_stage_that_cannot_be_reached_is_one_line_and_changes_nothing(stages: Stages) -> None:
    before = pg.fingerprint(stages.local)
    (stages.project / ".env.staging").write_text("DATABASE_URL=postgresql://nobody:s3cret-word@127.0.0.1:1/gone\n")
    result = run_inv(stages.project, "db.pull", "--from", "staging", "--yes")
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("stacktasks:")]
    assert len(lines) == 1 and "cannot connect to database gone at 127.0.0.1:1" in lines[0], result.stderr
    assert "s3cret" not in result.stderr
    assert pg.fingerprint(stages.local) == before


def test_a_stage_that_reaches_this_very_database_by_another_route_is_refused(stages: Stages) -> None:
    before = pg.fingerprint(stages.local)
    same = pg.url_for(stages.local).replace("@127.0.0.1:", "@localhost:")
    (stages.project / ".env.staging").write_text(f"DATABASE_URL={same}\n")
    result = run_inv(stages.project, "db.pull", "--from", "staging", "--yes")
    assert result.returncode == 2, result.stderr
    assert "staging's database is this one" in result.stderr
    assert pg.fingerprint(stages.local) == before
