"""The stack's own commands: read from configuration, refused when they cannot be tasks, run as the
built-in tasks run theirs."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacktasks.commands import parse_command, read_commands, run_command
from stacktasks.errors import USAGE, StackError
from stacktasks.tasks.namespace import collection
from stacktasks.testing import call_task
from tests.recording import RecordingRunner
from tests.unit.flows import project_on

ORIGIN = "pyproject.toml [tool.stacktasks.commands.x]"


def write_pyproject(root: Path, text: str) -> Path:
    (root / "pyproject.toml").write_text(text)
    return root


def test_a_configured_command_is_a_task_in_the_listing_with_its_help(tmp_path: Path) -> None:
    write_pyproject(
        tmp_path,
        '[tool.stacktasks.commands.history]\ncommand = "alembic history"\nhelp = "Show the migration history."\n',
    )
    ns = collection(tmp_path)
    assert "history" in ns.task_names
    assert ns["history"].__doc__.splitlines()[0] == "Show the migration history."


def test_a_command_without_help_says_what_it_runs_and_where(tmp_path: Path) -> None:
    write_pyproject(
        tmp_path, '[tool.stacktasks.commands.inspect]\ncommand = "celery -A app inspect active"\nservice = "worker"\n'
    )
    assert collection(tmp_path)["inspect"].__doc__.startswith("Run `celery -A app inspect active` in worker.")


def test_a_command_named_like_a_builtin_task_fails_at_import_naming_the_key_and_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_pyproject(tmp_path, '[tool.stacktasks.commands.up]\ncommand = "true"\n')
    with pytest.raises(SystemExit) as exited:
        collection(tmp_path)
    assert exited.value.code == USAGE
    err = capsys.readouterr().err
    assert f"stacktasks: {tmp_path / 'pyproject.toml'} [tool.stacktasks.commands.up]" in err
    assert "has the name of a task stacktasks already has" in err


def test_a_command_named_like_a_namespace_is_refused() -> None:
    with pytest.raises(StackError, match="already has"):
        read_commands(Path("/nonexistent"), {"commands": {"db": {"command": "psql"}}}, reserved=["up", "db"])


def test_underscore_and_dash_spellings_of_one_name_collide() -> None:
    overrides = {"commands": {"load_data": {"command": "a"}, "load-data": {"command": "b"}}}
    with pytest.raises(StackError, match="'load-data' has the name of a task"):
        read_commands(Path("/nonexistent"), overrides)


def test_an_unknown_key_is_named_with_a_suggestion() -> None:
    with pytest.raises(StackError) as refused:
        parse_command("x", {"comand": "true"}, ORIGIN)
    assert refused.value.message == f"{ORIGIN}: unknown key 'comand'"
    assert refused.value.hint == "did you mean 'command'?"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({}, "give either 'command'"),
        ({"command": "a", "compose": "top"}, "give either 'command'"),
        ({"command": ""}, "'command' is empty"),
        ({"command": 5}, "'command' must be a string or a list of strings"),
        ({"command": "a 'b"}, "'command' cannot be split into words"),
        ({"command": "a", "tty": "yes"}, "'tty' must be true or false"),
        ({"compose": "top", "service": "app"}, "'service' is for a 'command'"),
        ("alembic history", "must be a table"),
    ],
)
def test_a_malformed_entry_is_one_error_naming_where_it_is(entry: object, message: str) -> None:
    with pytest.raises(StackError) as refused:
        parse_command("x", entry, ORIGIN)
    assert refused.value.message.startswith(ORIGIN)
    assert message in refused.value.message
    assert refused.value.code == USAGE


def test_a_name_that_cannot_be_typed_as_a_task_is_refused() -> None:
    with pytest.raises(StackError, match="cannot be a task name"):
        parse_command("Load Data", {"command": "true"}, ORIGIN)


def test_commands_in_an_invoke_config_file_are_refused_not_ignored(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from stacktasks.tasks.config import invoke_layers

    config = SimpleNamespace(_project={"stacktasks": {"commands": {"x": {"command": "true"}}}}, _project_path="i.yaml")
    with pytest.raises(StackError, match="'commands' is read before Invoke's config files"):
        invoke_layers(config)


def test_a_command_in_the_running_app_runs_by_exec_behind_the_app_prefix_with_the_words_exactly(
    tmp_path: Path, recorder: RecordingRunner
) -> None:
    recorder.answer("ps", "--services", stdout="app\n")
    recorder.answer("exec")
    project = project_on(tmp_path, recorder, flags={"app.prefix": "uv run"})
    project.extra_args = ["-r", "base:head", "two words"]
    (command,) = read_commands(tmp_path, {"commands": {"history": {"command": "alembic history"}}})
    run_command(project, command)
    assert recorder.ran[-1] == [
        *["docker", "compose", "exec", "-T", "app", "uv", "run", "alembic", "history"],
        *["-r", "base:head", "two words"],
    ]


def test_a_command_in_a_stopped_service_runs_in_a_one_off_container_without_the_app_prefix(
    tmp_path: Path, recorder: RecordingRunner
) -> None:
    recorder.answer("ps", "--services", stdout="")
    recorder.answer("image", "inspect", stdout="sha256:1\n")
    recorder.answer("compose", "run")
    project = project_on(tmp_path, recorder, flags={"app.prefix": "uv run"})
    (command,) = read_commands(tmp_path, {"commands": {"cli": {"command": ["redis-cli", "info"], "service": "redis"}}})
    run_command(project, command)
    assert recorder.ran[-1] == ["docker", "compose", "run", "--rm", "-T", "redis", "redis-cli", "info"]
    assert "redis is not running: using a one-off container" in recorder.notes


def test_a_compose_command_runs_the_compose_cli_on_this_project(tmp_path: Path, recorder: RecordingRunner) -> None:
    recorder.answer("compose", "top")
    project = project_on(tmp_path, recorder)
    project.extra_args = ["db"]
    (command,) = read_commands(tmp_path, {"commands": {"top": {"compose": "top"}}}, reserved=["up"])
    run_command(project, command)
    assert recorder.ran[-1] == ["docker", "compose", "top", "db"]


def test_a_terminal_command_without_a_terminal_runs_without_one_and_says_so(
    tmp_path: Path, recorder: RecordingRunner
) -> None:
    recorder.answer("ps", "--services", stdout="app\n")
    recorder.answer("exec")
    project = project_on(tmp_path, recorder)
    (command,) = read_commands(tmp_path, {"commands": {"su": {"command": "manage.py createsuperuser", "tty": True}}})
    run_command(project, command)  # pytest's stdin is no terminal
    assert recorder.ran[-1][:4] == ["docker", "compose", "exec", "-T"]
    assert any("no terminal here" in note for note in recorder.notes)


def test_a_failing_command_passes_its_exit_code_through(tmp_path: Path, recorder: RecordingRunner) -> None:
    recorder.answer("ps", "--services", stdout="app\n")
    recorder.answer("exec", code=3)
    project = project_on(tmp_path, recorder)
    (command,) = read_commands(tmp_path, {"commands": {"check": {"command": "manage.py check"}}})
    with pytest.raises(StackError) as failed:
        run_command(project, command)
    assert failed.value.code == 3
    assert "check (`manage.py check` in the app service) exited with 3" in failed.value.message


def test_the_task_of_a_command_dry_runs_the_real_argv(
    tmp_path: Path, recorder: RecordingRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    write_pyproject(tmp_path, '[tool.stacktasks.commands.history]\ncommand = "alembic history"\n')
    recorder.answer("ps", "--services", stdout="app\n")
    project = project_on(tmp_path, recorder, dry=True)
    call_task(collection(tmp_path)["history"], project)
    assert capsys.readouterr().out == "[dry-run] docker compose exec -T app alembic history\n"
    assert recorder.ran == []
