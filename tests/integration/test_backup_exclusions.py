"""A backup that leaves tables or their rows out, on a real PostgreSQL server: what pg_dump leaves
out, the manifest records, and the restore's verification expects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import pg
from tests.helpers import run_inv


@pytest.fixture()
def database(sample_database: tuple[str, Path]) -> tuple[str, Path]:
    name, _ = sample_database
    pg.execute(
        name,
        "create table audit_log (id int, what text); "
        "insert into audit_log select i, 'x' from generate_series(1, 300) i",
    )
    pg.execute(name, "create table scratch_import (id int); insert into scratch_import values (1)")
    return sample_database


def test_left_out_rows_and_tables_are_recorded_and_the_restore_expects_them_absent(
    database: tuple[str, Path],
) -> None:
    name, project = database
    result = run_inv(
        project, "db.backup", "--name", "lean", "--exclude-table-data", "audit_*",
        "--exclude-table-data", "billing.invoices", "--exclude-table", "scratch_import",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    manifest = json.loads((project / "backups" / "lean.dump.json").read_text())
    assert manifest["excluded"] == {"tables": ["scratch_import"], "table_data": ["audit_*", "billing.invoices"]}
    assert manifest["tables"] == {"billing.invoices": 0, "public.audit_log": 0, "public.customers": 500}
    restored = run_inv(project, "db.restore", "--yes", "--file", "lean")
    assert restored.returncode == 0, restored.stderr
    assert "row counts of 3 tables match the manifest" in restored.stdout
    assert pg.scalar(name, "select count(*) from audit_log") == 0  # the table is there, empty
    assert pg.scalar(name, "select count(*) from customers") == 500
    assert pg.scalar(name, "select to_regclass('scratch_import') is null") is True


def test_the_dry_run_shows_the_patterns_going_to_pg_dump(database: tuple[str, Path]) -> None:
    _, project = database
    result = run_inv(project, "--dry", "db.backup", "--exclude-table-data", "audit_*")
    assert result.returncode == 0, result.stderr
    assert "'--exclude-table-data=audit_*'" in result.stdout


@pytest.mark.parametrize(
    "pattern", ["audit_(a|b)", "audit_[ab]", "audit_a|audit_b", "AUDIT_[AB]", "public.audit_(a|b)", "*.audit_[ab]"]
)
def test_regular_expression_patterns_count_as_pg_dump_leaves_the_rows_out(
    database: tuple[str, Path], pattern: str
) -> None:
    name, project = database
    pg.execute(
        name,
        "create table audit_a as select generate_series(1, 5) i; "
        "create table audit_b as select generate_series(1, 7) i; "
        "create table audit_c as select generate_series(1, 3) i; create schema other; "
        "create table other.audit_a as select generate_series(1, 2) i",
    )
    result = run_inv(project, "db.backup", "--name", "re", "--exclude-table-data", pattern)
    assert result.returncode == 0, result.stderr
    tables = json.loads((project / "backups" / "re.dump.json").read_text())["tables"]
    assert (tables["public.audit_a"], tables["public.audit_b"], tables["public.audit_c"]) == (0, 0, 3)
    # A pattern without a schema matches what is visible on the search path, as pg_dump's does.
    assert tables["other.audit_a"] == (0 if pattern.startswith("*.") else 2)
    restored = run_inv(project, "db.restore", "--yes", "--file", "re")
    assert restored.returncode == 0, restored.stderr
    assert pg.scalar(name, "select count(*) from audit_c") == 3
    assert pg.scalar(name, "select count(*) from audit_a") == 0


def test_a_pattern_the_server_cannot_read_fails_in_one_line_and_writes_nothing(database: tuple[str, Path]) -> None:
    _, project = database
    result = run_inv(project, "db.backup", "--name", "bad", "--exclude-table-data", "audit_(")
    assert result.returncode == 1
    assert "invalid regular expression" in result.stderr.splitlines()[-1]
    assert not list((project / "backups").glob("bad*"))
