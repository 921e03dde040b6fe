"""Sanitising rules (db.sanitize, db.sanitize_file) run by `db.restore --sanitize` in the restored
copy before it replaces the database, on a real PostgreSQL server on this host."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import pg
from tests.helpers import inv_ok, require, run_inv

RULES = """[tool.stacktasks.db]
sanitize = [
    "UPDATE customers SET name = 'customer ' || id",
    "UPDATE billing.invoices SET note = NULL WHERE note IS NOT NULL",
]
"""


BAD_RULES = RULES.replace('"UPDATE billing', '"UPDATE no_such_table SET x = 1",\n    "UPDATE billing')


@pytest.fixture()
def database(sample_database: tuple[str, Path]) -> tuple[str, Path]:
    name, project = sample_database
    (project / "pyproject.toml").write_text(RULES)
    return name, project


def backup(project: Path) -> Path:
    inv_ok(project, "db.backup", "--name", "real")
    return project / "backups" / "real.dump"


def refused_restore(name: str, project: Path, code: int) -> str:
    """`db.restore --sanitize` of a fresh backup that must fail with ``code`` and change nothing;
    what it said."""
    dump = backup(project)
    before = pg.fingerprint(name)
    result = run_inv(project, "db.restore", "--sanitize", "--yes", "--file", str(dump))
    assert result.returncode == code, result.stderr
    assert pg.fingerprint(name) == before
    return result.stderr


def test_the_rules_run_in_the_copy_and_each_says_what_it_changed(database: tuple[str, Path]) -> None:
    name, project = database
    dump = backup(project)
    output = inv_ok(project, "db.restore", "--sanitize", "--yes", "--file", str(dump))
    assert "row counts of 2 tables match the manifest" in output  # counted before any rule ran
    assert "sanitised: rule 1 (500 rows), rule 2 (1800 rows)" in output
    assert pg.scalar(name, "select count(*) from customers where name like '%é✓'") == 0
    assert pg.scalar(name, "select count(*) from billing.invoices where note is not null") == 0
    assert pg.scalar(name, "select count(*) from billing.invoices") == 2000


def test_the_replaced_database_is_kept_whole_for_undo(database: tuple[str, Path]) -> None:
    name, project = database
    before = pg.fingerprint(name)
    inv_ok(project, "db.restore", "--sanitize", "--yes", "--file", str(backup(project)))
    inv_ok(project, "db.undo", "--yes")
    assert pg.fingerprint(name) == before


def test_a_failing_rule_changes_nothing_and_names_the_rule(database: tuple[str, Path]) -> None:
    name, project = database
    (project / "pyproject.toml").write_text(BAD_RULES)
    said = refused_restore(name, project, 1)
    assert 'sanitising rule 2 failed: relation "no_such_table" does not exist; no rule was kept' in said
    assert not {f"{name}__restoring", f"{name}__undo"} & pg.databases()


def test_a_rules_file_runs_after_the_statements_as_one_script(database: tuple[str, Path]) -> None:
    name, project = database
    (project / "sanitize.sql").write_text(
        "UPDATE customers SET profile = NULL;\nUPDATE customers SET tags = NULL WHERE id > 10;\n"
    )
    with_file = RULES.replace("sanitize = [", 'sanitize_file = "sanitize.sql"\nsanitize = [')
    (project / "pyproject.toml").write_text(with_file)
    output = inv_ok(project, "db.restore", "--sanitize", "--yes", "--file", str(backup(project)))
    assert "sanitised: rule 1 (500 rows), rule 2 (1800 rows), sanitize.sql (ran)" in output
    assert pg.scalar(name, "select count(*) from customers where profile is not null") == 0
    assert pg.scalar(name, "select count(*) from customers where tags is not null") == 10


def test_sanitize_without_rules_is_refused_before_anything_is_read(database: tuple[str, Path]) -> None:
    name, project = database
    (project / "pyproject.toml").unlink()
    said = refused_restore(name, project, 2)
    assert "no sanitising rules: set db.sanitize (SQL statements) or db.sanitize_file" in said


def test_the_dry_run_says_which_rules_would_run_where(database: tuple[str, Path]) -> None:
    name, project = database
    result = run_inv(project, "--dry", "db.restore", "--sanitize", "--file", str(backup(project)))
    assert result.returncode == 0, result.stderr
    assert f"run the sanitising rules in {name}__restoring, in one transaction: rule 1, rule 2" in result.stdout


def test_a_role_that_may_not_create_databases_is_refused_with_nothing_changed(tmp_path: Path) -> None:
    require(pg.server_missing())
    with pg.owned_by_a_non_superuser("st_nosanitize", tmp_path) as (name, project):
        (project / "pyproject.toml").write_text(RULES)
        assert "--sanitize needs a role that may create databases" in refused_restore(name, project, 1)


# -- db.backup --sanitize: a dump to share -------------------------------------------------------


def test_a_sanitised_backup_holds_no_unsanitised_row_and_its_manifest_says_so(database: tuple[str, Path]) -> None:
    import json
    import subprocess

    name, project = database
    before = pg.fingerprint(name)
    output = inv_ok(project, "db.backup", "--sanitize", "--name", "shared")
    assert "sanitised: rule 1 (500 rows), rule 2 (1800 rows)" in output
    dump = project / "backups" / "shared.dump"
    manifest = json.loads((project / "backups" / "shared.dump.json").read_text())
    assert manifest["database"] == name and len(manifest["sanitized"]) == 16
    assert manifest["tables"] == {"billing.invoices": 2000, "public.customers": 500}
    sql = subprocess.run(["pg_restore", "-f", "-", str(dump)], capture_output=True, check=True).stdout
    assert "é✓".encode() not in sql and b"note 1" not in sql  # every name and note was rewritten
    assert pg.fingerprint(name) == before  # the database itself is as it was
    assert f"{name}__sanitizing" not in pg.databases()


def test_a_sanitised_backup_restores_and_the_restore_says_what_it_is(database: tuple[str, Path]) -> None:
    name, project = database
    inv_ok(project, "db.backup", "--sanitize", "--name", "shared")
    asked = run_inv(project, "db.restore", "--file", "backups/shared.dump")  # no terminal, no --yes
    assert asked.returncode != 0
    assert "a sanitised dump (rules " in asked.stderr
    restored = inv_ok(project, "db.restore", "--yes", "--file", "backups/shared.dump")
    assert "row counts of 2 tables match the manifest" in restored
    assert pg.scalar(name, "select count(*) from customers where name like '%é✓'") == 0


def test_a_failing_rule_writes_no_sanitised_backup(database: tuple[str, Path]) -> None:
    name, project = database
    (project / "pyproject.toml").write_text(BAD_RULES)
    result = run_inv(project, "db.backup", "--sanitize", "--name", "shared")
    assert result.returncode == 1
    assert "sanitising rule 2 failed" in result.stderr
    assert not (project / "backups" / "shared.dump").exists()
    assert f"{name}__sanitizing" not in pg.databases()
