"""Machine-readable output (`doctor --json`, `db.backups --json`) and pruning manual backups, with
real backups of a real PostgreSQL database."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.helpers import run_inv, write_project


@pytest.fixture()
def database(sample_database: tuple[str, Path]) -> tuple[str, Path]:
    return sample_database


def backup(project: Path, name: str) -> Path:
    result = run_inv(project, "db.backup", "--name", name)
    assert result.returncode == 0, result.stderr
    return project / "backups" / f"{name}.dump"


def age(path: Path, days: int) -> None:
    """Make a backup look ``days`` old (its manifest's time is what counts, then the file's)."""
    manifest = path.with_name(path.name + ".json")
    data = json.loads(manifest.read_text())
    then = time.time() - days * 86400
    data["created_at"] = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(then))
    manifest.write_text(json.dumps(data))
    os.utime(path, (then, then))


def test_backups_json_lists_each_backup_with_its_manifest(database: tuple[str, Path]) -> None:
    name, project = database
    backup(project, "first")
    result = run_inv(project, "db.backups", "--json")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert [Path(item["file"]).name for item in listed["backups"]] == ["first.dump"]
    item = listed["backups"][0]
    assert item["database"] == name and item["reason"] == "manual" and item["automatic"] is False
    assert item["tables"] == {"billing.invoices": 2000, "public.customers": 500}
    assert item["size"] == (project / "backups" / "first.dump").stat().st_size
    assert listed["incomplete"] == []


def test_prune_keep_removes_the_oldest_manual_backups_with_their_manifests(database: tuple[str, Path]) -> None:
    _, project = database
    paths = [backup(project, label) for label in ("a", "b", "c")]
    for days, path in zip((3, 2, 1), paths, strict=True):
        age(path, days)
    result = run_inv(project, "db.backups", "--prune", "--keep", "1", "--yes")
    assert result.returncode == 0, result.stderr
    assert "removed 2 manual backup(s): a.dump, b.dump; 1 kept" in result.stdout
    assert sorted(p.name for p in (project / "backups").iterdir()) == [".stacktasks-key", "c.dump", "c.dump.json"]


def test_prune_older_than_removes_only_what_is_older(database: tuple[str, Path]) -> None:
    _, project = database
    old, recent = backup(project, "old"), backup(project, "recent")
    age(old, 40)
    age(recent, 5)
    result = run_inv(project, "db.backups", "--prune", "--older-than", "30d", "--yes")
    assert result.returncode == 0, result.stderr
    assert not old.exists() and recent.exists()


def test_prune_under_dry_run_only_says_what_would_go(database: tuple[str, Path]) -> None:
    _, project = database
    kept = [backup(project, label) for label in ("x", "y")]
    result = run_inv(project, "--dry", "db.backups", "--prune", "--keep", "0")
    assert result.returncode == 0, result.stderr
    assert "would remove 2 manual backup(s)" in result.stdout
    assert all(path.exists() for path in kept)


def test_prune_without_a_terminal_or_yes_asks_and_removes_nothing(database: tuple[str, Path]) -> None:
    _, project = database
    kept = backup(project, "mine")
    result = run_inv(project, "db.backups", "--prune", "--keep", "0")
    assert result.returncode != 0
    assert kept.exists()


def test_automatic_backups_are_not_pruned(database: tuple[str, Path]) -> None:
    _, project = database
    manual = backup(project, "manual")
    automatic = backup(project, "auto")
    manifest = automatic.with_name(automatic.name + ".json")
    data = json.loads(manifest.read_text())
    data.update(automatic=True, reason="before reset")
    manifest.write_text(json.dumps(data))
    result = run_inv(project, "db.backups", "--prune", "--keep", "0", "--yes")
    assert result.returncode == 0, result.stderr
    assert not manual.exists() and automatic.exists()


def test_an_age_without_a_unit_is_refused(database: tuple[str, Path]) -> None:
    _, project = database
    result = run_inv(project, "db.backups", "--prune", "--older-than", "30")
    assert result.returncode == 2 and "e.g. 30d, 12h, 2w, 90m" in result.stderr


def test_doctor_json_is_parseable_and_its_exit_code_matches(tmp_path: Path) -> None:
    compose = "services:\n  db:\n    image: postgres:16-alpine\n    environment:\n      POSTGRES_PASSWORD: secret-pw\n"
    project = write_project(tmp_path / "p", compose)
    result = run_inv(project, "doctor", "--json")
    report = json.loads(result.stdout)
    assert result.returncode == (0 if report["ok"] else 1)
    ids = {check["id"] for check in report["checks"]}
    assert {"docker-cli", "compose", "engine"} <= ids
    assert all(set(check) == {"id", "name", "ok", "detail", "hint", "blocking"} for check in report["checks"])
    assert {"key": "stage", "value": "'dev'", "source": "default"} in report["settings"]
    assert "secret-pw" not in result.stdout


def test_prune_removes_only_backups_stacktasks_made_here_whatever_else_sits_in_the_folder(
    database: tuple[str, Path],
) -> None:
    _, project = database
    folder = project / "backups"
    old = backup(project, "old")
    age(old, 2)
    kept = backup(project, "kept")
    age(kept, 1)
    # Newer than both, so a prune that counted them would keep them and remove the real backups.
    (folder / "mine.sql").write_bytes(old.read_bytes())
    (folder / "mine.sql.json").write_bytes((folder / "old.dump.json").read_bytes())  # a real seal, wrong file
    (folder / "customer-export.tar").write_bytes(b"\0" * 1024)
    (folder / "app.log.gz").write_bytes(b"\x1f\x8b not really")
    (folder / "link.dump").symlink_to(kept)
    result = run_inv(project, "db.backups", "--prune", "--keep", "1", "--yes")
    assert result.returncode == 0, result.stderr
    assert "removed 1 manual backup(s): old.dump; 1 kept" in result.stdout
    assert sorted(p.name for p in folder.iterdir()) == [
        ".stacktasks-key",
        "app.log.gz",
        "customer-export.tar",
        "kept.dump",
        "kept.dump.json",
        "link.dump",
        "mine.sql",
        "mine.sql.json",
    ]


def test_latest_is_the_newest_backup_of_this_database_not_a_newer_one_of_another(
    database: tuple[str, Path], tmp_path: Path
) -> None:
    from tests import pg

    name, project = database
    backup(project, "ours")
    other = pg.new_database_name()
    pg.create_sample_database(other)
    try:
        env = project / ".env"
        ours = env.read_text()
        env.write_text(f"DATABASE_URL={pg.url_for(other)}\n")
        backup(project, "theirs")  # newer, of the other database, in the same folder
        env.write_text(ours)
        pg.execute(name, "delete from billing.invoices; delete from customers")
        result = run_inv(project, "db.restore", "--latest", "--yes")
        assert result.returncode == 0, result.stderr
        assert "ours.dump" in result.stdout + result.stderr and "theirs.dump" not in result.stdout + result.stderr
        assert pg.scalar(name, "select count(*) from customers") == 500
    finally:
        pg.drop_databases(other)
