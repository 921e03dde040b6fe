"""reset's decisions, on a recording runner: what it refuses, what it runs and in which order."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacktasks.errors import REFUSED, StackError
from stacktasks.lifecycle import reset_stack
from tests.recording import RecordingRunner
from tests.unit.flows import allowing, nothing_running, project_on

DOWN = ["docker", "compose", "down", "--remove-orphans", "-v"]


def test_reset_without_a_terminal_or_yes_changes_nothing(tmp_path: Path, recorder: RecordingRunner) -> None:
    project = project_on(tmp_path, nothing_running(recorder))
    with pytest.raises(StackError) as refused:
        reset_stack(project, rmi=False, backup=True)
    assert refused.value.code == REFUSED
    assert recorder.ran == []


def test_reset_without_backup_runs_down_with_volumes_only(tmp_path: Path, recorder: RecordingRunner) -> None:
    allowing(nothing_running(recorder), ("compose", "down"))
    reset_stack(project_on(tmp_path, recorder, yes=True), rmi=False, backup=False)
    assert recorder.ran == [DOWN]


def test_reset_with_images_removes_the_local_ones(tmp_path: Path, recorder: RecordingRunner) -> None:
    allowing(nothing_running(recorder), ("compose", "down"))
    reset_stack(project_on(tmp_path, recorder, yes=True), rmi=True, backup=False)
    assert recorder.ran == [[*DOWN, "--rmi", "local"]]


def test_reset_skips_the_backup_when_the_database_never_existed(tmp_path: Path, recorder: RecordingRunner) -> None:
    allowing(nothing_running(recorder), ("compose", "down"))
    result = reset_stack(project_on(tmp_path, recorder, yes=True), rmi=False, backup=True)
    assert result.backup is None
    assert "no db container or volume: nothing to back up" in recorder.notes
    assert recorder.ran == [DOWN]


def test_reset_destroys_nothing_when_the_backup_fails(tmp_path: Path, recorder: RecordingRunner) -> None:
    recorder.answer("ps", "--services", stdout="db\n")  # running, but never reachable: the backup fails
    allowing(nothing_running(recorder), ("compose", "down"))
    project = project_on(tmp_path, recorder, yes=True, flags={"db.wait_timeout": 1})
    with pytest.raises(StackError, match="backup before reset failed, so nothing was destroyed"):
        reset_stack(project, rmi=False, backup=True)
    assert DOWN not in recorder.commands


def test_reset_starts_a_stopped_database_with_a_volume_to_back_it_up(tmp_path: Path, recorder: RecordingRunner) -> None:
    recorder.answer("volume", "ls", stdout="shop_pgdata\n")
    recorder.answer("image", "inspect", stdout="sha256:5e1f\n")  # the db's image is here
    allowing(nothing_running(recorder), ("compose", "up"))
    project = project_on(tmp_path, recorder, yes=True, flags={"db.wait_timeout": 1})
    with pytest.raises(StackError, match="nothing was destroyed"):
        reset_stack(project, rmi=False, backup=True)
    up = ["docker", "compose", "up", "-d", "--wait", "db"]
    assert recorder.ran == [up]  # started for its backup; never taken down


def test_a_protected_stage_asks_for_the_compose_project_name(tmp_path: Path, recorder: RecordingRunner) -> None:
    project = project_on(tmp_path, recorder, pyproject='[tool.stacktasks]\nstage = "prod"\n')
    assert project.confirmation_name() == "shop"


def test_rebuilding_an_image_only_service_pulls_it_and_says_so(tmp_path: Path, recorder: RecordingRunner) -> None:
    from stacktasks.lifecycle import rebuild

    recorder.answer("image", "inspect", stdout="sha256:5e1f\n")
    allowing(nothing_running(recorder), ("compose", "pull"), ("compose", "up"))
    rebuild(project_on(tmp_path, recorder, yes=True), ["redis"], pull=False, wait=False)
    assert recorder.ran[0] == ["docker", "compose", "pull", "redis"]
    assert "redis has no build section: pulling its image instead" in recorder.notes
    assert not any("build" in argv for argv in recorder.ran)
