"""restore's decisions, on a recording runner: what is refused before anything changes, and the plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacktasks.db.loadrole import load_role_name
from stacktasks.db.restore import restore_database
from stacktasks.errors import StackError
from tests.recording import RecordingRunner
from tests.unit.flows import nothing_running, project_on

CUSTOM = b"PGDMP\x01\x0e\x00" + b"\x00" * 64


def test_a_file_that_is_not_a_dump_is_refused_before_anything_runs(tmp_path: Path, recorder: RecordingRunner) -> None:
    (tmp_path / "notes.txt").write_text("hello, not SQL at all\n")
    with pytest.raises(StackError, match="is not a PostgreSQL dump"):
        restore_database(project_on(tmp_path, nothing_running(recorder), yes=True), tmp_path / "notes.txt")
    assert recorder.ran == []


def test_a_dump_that_does_not_match_its_manifest_is_refused(tmp_path: Path, recorder: RecordingRunner) -> None:
    (tmp_path / "a.dump").write_bytes(CUSTOM)
    (tmp_path / "a.dump.json").write_text('{"size": 3}')
    with pytest.raises(StackError, match="truncated or changed"):
        restore_database(project_on(tmp_path, nothing_running(recorder), yes=True), tmp_path / "a.dump")
    assert recorder.ran == []


def test_the_dry_run_plans_the_scratch_restore_and_the_swap(
    tmp_path: Path, recorder: RecordingRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.dump").write_bytes(CUSTOM)
    assert restore_database(project_on(tmp_path, nothing_running(recorder), dry=True), tmp_path / "a.dump") is None
    plan = capsys.readouterr().out
    assert "create database shop__restoring" in plan
    assert "exec -T db sh -c 'umask 077 && cat > \"$1\"' sh /tmp/stacktasks-restore-shop-" in plan  # the copy in
    assert "stacktasks-watchdog /tmp/stacktasks-restore-shop-" in plan
    # Applied as the load role: the server cannot be asked here (not running), so the plan says it assumes.
    role = load_role_name("shop")
    assert "the plan assumes a superuser" in plan
    assert f"pg_restore -U {role} -d shop__restoring --no-owner --no-acl --exit-on-error --jobs=" in plan
    assert "rename it to shop__undo and shop__restoring to shop" in plan
    assert recorder.ran == []
