"""Hooks: task names or commands run in order after a task's own work; checked before it starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from invoke.tasks import task

from stacktasks.errors import USAGE, StackError
from stacktasks.hooks import run_hooks
from stacktasks.project import Project
from stacktasks.tasks.hooks import prepared_hooks, task_calls
from stacktasks.tasks.namespace import collection
from tests.recording import RecordingRunner
from tests.unit.flows import project_on

COMMANDS = """
[tool.stacktasks.commands.greet]
command = "python -m app.greet"
[tool.stacktasks.commands.warm]
command = "python -m app.warm"
service = "redis"
"""


def hooked(tmp_path: Path, recorder: RecordingRunner, *, dry: bool = False, **hooks: list[str]) -> Project:
    (tmp_path / "pyproject.toml").write_text(COMMANDS)
    collection(tmp_path)  # the collection hooks name tasks of
    recorder.answer("ps", "--services", stdout="app\nredis\n")
    return project_on(
        tmp_path, recorder, dry=dry, flags={f"hooks.{event}": entries for event, entries in hooks.items()}
    )


def test_hooks_run_in_order_tasks_with_their_words_and_commands_in_the_app(
    tmp_path: Path, recorder: RecordingRunner
) -> None:
    recorder.answer("exec")
    project = hooked(tmp_path, recorder, after_up=["warm --fast 'two words'", "greet", "./manage.py check"])
    prepared_hooks(project, "after_up", no_hooks=False).run()
    assert [argv[4:] for argv in recorder.ran] == [
        ["redis", "python", "-m", "app.warm", "--fast", "two words"],
        ["app", "python", "-m", "app.greet"],
        ["app", "./manage.py", "check"],
    ]
    assert recorder.notes[0] == "hook after_up[1] \"warm --fast 'two words'\""


def test_a_failing_hook_fails_the_task_named_with_what_stays_done_and_runs_no_later_hook(
    tmp_path: Path, recorder: RecordingRunner
) -> None:
    recorder.answer("exec", "-T", "app", "python", "-m", "app.greet", code=5)
    recorder.answer("exec")
    project = hooked(tmp_path, recorder, after_restore=["greet", "warm"])
    with pytest.raises(StackError) as failed:
        prepared_hooks(project, "after_restore", no_hooks=False).run(done="the restore itself is complete")
    assert failed.value.code == 5
    assert failed.value.message.startswith("hook after_restore[1] 'greet' failed: greet (")
    assert failed.value.message.endswith("exited with 5; the restore itself is complete")
    assert "--no-hooks" in (failed.value.hint or "")
    assert len(recorder.ran) == 1


def test_a_hook_naming_no_task_is_refused_before_the_tasks_own_work(tmp_path: Path, recorder: RecordingRunner) -> None:
    project = hooked(tmp_path, recorder, after_restore=["greet", "db.migrat"])
    with pytest.raises(StackError) as refused:
        prepared_hooks(project, "after_restore", no_hooks=False)
    assert refused.value.code == USAGE
    assert refused.value.message == "setting hooks.after_restore[2] names no task: 'db.migrat'"
    assert refused.value.hint == "did you mean 'db.migrate'?"
    assert recorder.ran == []


def test_no_hooks_runs_none_and_says_which_were_skipped(tmp_path: Path, recorder: RecordingRunner) -> None:
    project = hooked(tmp_path, recorder, after_up=["greet"])
    prepared_hooks(project, "after_up", no_hooks=True).run()
    assert recorder.ran == []
    assert any(note.startswith("hooks after_up not run (greet)") for note in recorder.notes)


def test_under_dry_run_each_hook_is_shown_with_the_argv_it_would_run(
    tmp_path: Path, recorder: RecordingRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    project = hooked(tmp_path, recorder, dry=True, after_onboard=["greet"])
    prepared_hooks(project, "after_onboard", no_hooks=False).run()
    assert capsys.readouterr().out == (
        "[dry-run] hook after_onboard[1] 'greet'\n[dry-run] docker compose exec -T app python -m app.greet\n"
    )
    assert recorder.ran == []


def test_a_hooks_own_task_runs_no_hooks_so_hooks_cannot_loop(tmp_path: Path, recorder: RecordingRunner) -> None:
    project = hooked(tmp_path, recorder, after_up=["up"])
    calls: list[str] = []

    def up_again(project_again: Project, words: list[str]) -> None:
        calls.append("up")
        run_hooks(project, "after_up", {"up": up_again})

    run_hooks(project, "after_up", {"up": up_again})
    assert calls == ["up"]
    assert any(note.startswith("hooks after_up not run (up)") for note in recorder.notes)


def test_a_hook_passes_flags_to_a_builtin_task(tmp_path: Path, recorder: RecordingRunner) -> None:
    project = hooked(tmp_path, recorder, after_onboard=["aliases.just --file hooks.just --command stack"])
    prepared_hooks(project, "after_onboard", no_hooks=False).run()
    recipes = (tmp_path / "hooks.just").read_text()
    assert 'greet *args:\n    stack greet -- "$@"' in recipes


def test_a_projects_own_invoke_task_cannot_be_a_hook(tmp_path: Path, recorder: RecordingRunner) -> None:
    @task
    def deploy(c):  # type: ignore[no-untyped-def]
        """A project's own task."""

    ns = collection(tmp_path)
    ns.add_task(deploy)
    project = project_on(tmp_path, recorder)
    with pytest.raises(StackError, match="deploy is not a stacktasks task: a hook cannot run it"):
        task_calls()["deploy"](project, [])


def test_doctor_names_a_hook_that_cannot_run(tmp_path: Path, recorder: RecordingRunner) -> None:
    from stacktasks.tasks.hooks import hooks_check

    check = hooks_check(hooked(tmp_path, recorder, after_up=["greet"], before_reset=["db.snapshott"]))
    assert check is not None and not check.ok
    assert check.detail == "setting hooks.before_reset[1] names no task: 'db.snapshott'"
    assert check.hint == "did you mean 'db.snapshot'?"


def test_doctor_lists_the_hooks_that_are_set(tmp_path: Path, recorder: RecordingRunner) -> None:
    from stacktasks.tasks.hooks import hooks_check

    check = hooks_check(hooked(tmp_path, recorder, after_up=["greet", "warm"]))
    assert check is not None and check.ok
    assert check.detail == "after_up: greet, warm"


def test_a_hook_may_name_a_task_by_its_alias(tmp_path: Path, recorder: RecordingRunner) -> None:
    project = hooked(tmp_path, recorder, after_up=["front.build-astro"])
    assert prepared_hooks(project, "after_up", no_hooks=False).tasks["front.build-astro"].args[1] == "front.build"
