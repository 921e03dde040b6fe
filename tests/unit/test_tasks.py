"""The collection as Invoke sees it: names, help, remainder handling."""

from __future__ import annotations

import sys

import pytest
from invoke import Context

from stacktasks import collection
from stacktasks.tasks import remainder_argv, split_names

ROOT_TASKS = {"up", "down", "ps", "logs", "restart", "exec", "shell", "rebuild", "reset", "test", "doctor"}


def test_the_collection_has_every_root_task() -> None:
    assert set(collection().task_names) >= ROOT_TASKS


def test_every_summary_in_the_listing_is_a_whole_sentence() -> None:
    """`inv --list` shows a docstring's first line only: it must not stop mid-sentence."""
    from invoke.util import helpline

    ns = collection()
    cut = {name: helpline(ns[name]) for name in ns.task_names if not (helpline(ns[name]) or "").endswith((".", "?"))}
    assert cut == {}


def test_every_task_has_a_docstring_and_help_for_every_flag() -> None:
    import inspect

    ns = collection()
    for name in ns.task_names:
        task = ns[name]
        assert task.__doc__, f"{name} has no docstring"
        # From the signature, not get_arguments(): Invoke pops help entries as it builds arguments.
        parameters = list(inspect.signature(task.body).parameters)[1:]
        flags = {parameter.strip("_").replace("_", "-") for parameter in parameters}  # as Invoke names them
        documented = {key.strip("_").replace("_", "-") for key in task.help}
        assert flags <= documented, f"{name}: flags without help: {flags - documented}"


def test_a_typo_in_collection_overrides_fails_at_import_with_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        collection(app={"sevice": "api"})
    assert exited.value.code == 2
    assert "stacktasks: tasks.py collection(): unknown setting 'app.sevice'" in capsys.readouterr().err


def test_remainder_keeps_the_quoting_the_user_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["inv", "test", "--", "-k", "users and admins"])
    assert remainder_argv(Context(remainder="-k users and admins")) == ["-k", "users and admins"]


def test_remainder_falls_back_to_shell_splitting_when_called_from_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["python"])
    assert remainder_argv(Context(remainder="-k 'a b'")) == ["-k", "a b"]


def test_service_names_split_on_commas_and_spaces() -> None:
    assert split_names("api,worker", ["db redis"]) == ["api", "worker", "db", "redis"]


def test_listing_tasks_imports_none_of_the_project_machinery() -> None:
    import subprocess

    probe = (
        "import sys; from stacktasks import collection; collection(); "
        "heavy = {'docker', 'psycopg', 'redis', 'dotenv', 'tomllib'}; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in "
        "{'stacktasks.compose.client', 'stacktasks.project', 'stacktasks.env.files', 'stacktasks.settings'}))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
