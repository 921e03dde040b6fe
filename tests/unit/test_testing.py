"""The test double stacktasks ships: strict about every command, and what the README shows works."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacktasks.lifecycle import run_in_service
from stacktasks.tasks import stack_task
from stacktasks.testing import RecordingRunner, UnexpectedCommand, call_task, project_for_test

MODEL = {"name": "shop", "services": {"app": {"image": "shop-app:1"}}}


@stack_task()
def load_demo(project: object) -> None:
    """Load the demo fixtures (a user's own task, as the README writes it)."""
    run_in_service(project, "app", ["python", "manage.py", "loaddata", "demo"])  # type: ignore[arg-type]


def test_a_command_nobody_answered_is_an_error_naming_it(tmp_path: Path) -> None:
    runner = RecordingRunner(env={}, cwd=tmp_path)
    with pytest.raises(UnexpectedCommand, match="unexpected command: docker compose ps"):
        runner.capture(["docker", "compose", "ps"])


def test_reads_and_changes_are_told_apart_by_how_they_ran(tmp_path: Path) -> None:
    runner = RecordingRunner(env={}, cwd=tmp_path).answer("ps", stdout="app\n").answer("up")
    runner.capture(["docker", "compose", "ps"])
    runner.run(["docker", "compose", "up", "-d"])
    assert runner.read == [["docker", "compose", "ps"]]
    assert runner.ran == [["docker", "compose", "up", "-d"]]


def test_a_failing_answer_fails_the_run(tmp_path: Path) -> None:
    from stacktasks.errors import ChildFailed

    runner = RecordingRunner(env={}, cwd=tmp_path).fail("up")
    with pytest.raises(ChildFailed):
        runner.run(["docker", "compose", "up", "-d"])


def test_a_users_own_task_runs_on_the_double_as_the_readme_shows(tmp_path: Path) -> None:
    runner = RecordingRunner(env={}, cwd=tmp_path)
    runner.answer("ps", "--services", stdout="app\n")  # the app is running: exec into it
    runner.answer("exec", "loaddata")
    call_task(load_demo, project_for_test(tmp_path, runner, MODEL))
    assert runner.ran == [["docker", "compose", "exec", "-T", "app", "python", "manage.py", "loaddata", "demo"]]
