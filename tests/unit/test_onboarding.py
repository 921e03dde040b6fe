"""onboard's decisions, on a recording runner: blocking checks stop it before anything is built."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacktasks.errors import StackError
from stacktasks.onboarding import onboard_project
from tests.recording import RecordingRunner
from tests.unit.flows import nothing_running, project_on


def test_a_failed_blocking_check_stops_onboarding_before_build(tmp_path: Path, recorder: RecordingRunner) -> None:
    recorder.env = {"PATH": str(tmp_path)}  # no docker CLI on this PATH: a blocking check fails
    nothing_running(
        recorder.answer("docker", "info", code=127).answer("config", "--quiet")
    )  # as a runner answers for a command not on PATH
    project = project_on(tmp_path, recorder)
    with pytest.raises(StackError, match="onboard stopped at the checks: docker CLI: not on PATH"):
        onboard_project(project, build=True, seed=False)
    assert recorder.ran == []


def test_onboarding_makes_the_env_files_before_the_checks(tmp_path: Path, recorder: RecordingRunner) -> None:
    (tmp_path / ".env.example").write_text("SECRET_KEY=\n")
    recorder.env = {"PATH": str(tmp_path)}
    nothing_running(recorder.answer("docker", "info", code=127).answer("config", "--quiet"))
    with pytest.raises(StackError, match="at the checks"):
        onboard_project(project_on(tmp_path, recorder), build=True, seed=False)
    assert (tmp_path / ".env").read_text().startswith("SECRET_KEY=")


def test_onboarding_a_protected_stage_asks_first(tmp_path: Path, recorder: RecordingRunner) -> None:
    project = project_on(tmp_path, recorder, pyproject='[tool.stacktasks]\nstage = "prod"\n')
    with pytest.raises(StackError, match="refusing to onboard stage prod"):
        onboard_project(project, build=True, seed=False)
    assert recorder.ran == []
    assert not (tmp_path / ".env").exists()
