"""The runner every child goes through, with real children: exit codes, signals, masking, dry-run."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from stacktasks.errors import MISSING_TOOL, ChildFailed, StackError
from stacktasks.runner import Runner

SECRET = "Hunter2-Zq-secret"


def runner_in(tmp_path: Path, **kwargs: object) -> Runner:
    return Runner(
        env={"PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        mask=lambda text: text.replace(SECRET, "***"),
        err=io.StringIO(),
        out=io.StringIO(),
        **kwargs,  # type: ignore[arg-type]
    )


def test_a_childs_exit_code_is_returned(tmp_path: Path) -> None:
    assert runner_in(tmp_path).run(["sh", "-c", "exit 7"], check=False) == 7


def test_a_failing_child_raises_with_its_own_exit_code(tmp_path: Path) -> None:
    with pytest.raises(ChildFailed) as failed:
        runner_in(tmp_path).run(["sh", "-c", "exit 4"])
    assert failed.value.code == 4


def test_a_child_killed_by_a_signal_is_128_plus_its_number(tmp_path: Path) -> None:
    assert runner_in(tmp_path).run(["sh", "-c", "kill -TERM $$"], check=False) == 143


def test_a_command_that_is_not_there_is_exit_127_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(StackError) as missing:
        runner_in(tmp_path).capture(["no-such-tool-here"])
    assert missing.value.code == MISSING_TOOL and missing.value.hint == "install it"


def test_a_secret_in_argv_is_masked_where_the_command_is_shown(tmp_path: Path) -> None:
    runner = runner_in(tmp_path)
    runner.run(["echo", f"--password={SECRET}"])
    assert runner.err is not None and isinstance(runner.err, io.StringIO)
    shown = runner.err.getvalue()
    assert "--password=***" in shown and SECRET not in shown


def test_a_secret_in_a_childs_last_error_line_is_masked_in_the_failure(tmp_path: Path) -> None:
    with pytest.raises(StackError) as failed:
        runner_in(tmp_path).capture(["sh", "-c", f"echo 'login failed for {SECRET}' >&2; exit 2"])
    assert SECRET not in str(failed.value) and "login failed for ***" in str(failed.value)


def test_a_read_that_does_not_answer_in_time_is_a_one_line_failure(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="did not answer within 1s"):
        runner_in(tmp_path).capture(["sleep", "5"], timeout=1)


def test_under_dry_run_what_changes_is_shown_not_run(tmp_path: Path) -> None:
    runner = runner_in(tmp_path, dry=True)
    assert runner.run(["touch", str(tmp_path / "made")]) == 0
    assert not (tmp_path / "made").exists()
    assert runner.out is not None and isinstance(runner.out, io.StringIO)
    assert runner.out.getvalue().startswith("[dry-run] touch ")


def test_a_read_runs_under_dry_run_too(tmp_path: Path) -> None:
    assert runner_in(tmp_path, dry=True).capture(["echo", "state"]).stdout == "state\n"


def test_the_engine_hook_runs_once_before_the_first_docker_child_only(tmp_path: Path) -> None:
    calls: list[str] = []
    runner = runner_in(tmp_path)
    runner.before_docker = lambda: calls.append("settled")
    runner.capture(["echo", "not docker"])
    assert calls == []
    runner.env["PATH"] = f"{tmp_path}:/usr/bin:/bin"
    (tmp_path / "docker").write_text("#!/bin/sh\nexit 0\n")
    (tmp_path / "docker").chmod(0o755)
    runner.capture(["docker", "info"])
    runner.capture(["docker", "info"])
    assert calls == ["settled"]
