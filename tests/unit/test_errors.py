"""The one error boundary: every expected failure, provoked for real, leaves as one masked line."""

from __future__ import annotations

import errno
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from invoke import Context
from invoke.exceptions import Exit

from stacktasks.errors import BUG, ChildFailed, StackError, failure_of
from stacktasks.tasks import stack_task


def provoke_psycopg() -> None:
    import psycopg

    psycopg.connect("postgresql://nobody@127.0.0.1:1/none", connect_timeout=2)


def provoke_redis() -> None:
    import redis

    redis.Redis(port=1, socket_connect_timeout=2).ping()


def provoke_disk_full() -> None:
    with open("/dev/full", "wb") as full:
        full.write(b"x" * 65536)
        full.flush()


def provoke_not_a_folder() -> None:
    Path("/etc/hostname/backups").mkdir(parents=True)


def provoke_a_bug() -> None:
    {}["missing"]


CASES: list[tuple[str, Callable[[], None], str, int]] = [
    ("psycopg", provoke_psycopg, "stacktasks: PostgreSQL: connection failed", 1),
    ("redis-py", provoke_redis, "stacktasks: Redis: Error", 1),
    ("ENOSPC", provoke_disk_full, "stacktasks: no space left on the device", 1),
    ("ENOTDIR", provoke_not_a_folder, "stacktasks: not a folder: /etc/hostname/backups", 1),
    ("a bug", provoke_a_bug, "stacktasks: internal error: KeyError: 'missing'", BUG),
]


@pytest.mark.parametrize(("kind", "provoke", "line", "code"), CASES, ids=[case[0] for case in CASES])
def test_each_kind_of_failure_leaves_as_one_line_with_its_exit_code(
    kind: str, provoke: Callable[[], None], line: str, code: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STACKTASKS_DEBUG", raising=False)

    @stack_task()
    def failing(project: object) -> None:
        """Fails."""
        provoke()

    with pytest.raises(Exit) as exited:
        failing(Context())
    message = str(exited.value.message)
    assert message.startswith(line), message
    assert "Traceback" not in message and len(message.splitlines()) <= 2  # the reason, and maybe a hint
    assert exited.value.code == code


def test_a_childs_signal_becomes_128_plus_its_number() -> None:
    failure = ChildFailed("pg_dump -Fc", -signal.SIGKILL, what="pg_dump")
    assert failure.code == 128 + 9
    assert str(failure) == "pg_dump failed: killed by signal 9 (SIGKILL)"


def test_a_childs_own_exit_code_passes_through() -> None:
    assert ChildFailed("pytest", 5).code == 5


def test_ctrl_c_is_130_and_sigterm_143() -> None:
    from stacktasks.errors import Interrupted

    assert failure_of(KeyboardInterrupt()).code == 130
    assert failure_of(Interrupted(signal.SIGTERM)).code == 143


def test_a_failure_message_is_masked_at_the_boundary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("DB_PASSWORD=Sup3r-Secret-Value\n")

    @stack_task()
    def leaky(project: object) -> None:
        """Fails with a secret in its text."""
        _ = project.env  # type: ignore[attr-defined]
        raise StackError("could not log in with Sup3r-Secret-Value")

    with pytest.raises(Exit) as exited:
        leaky(Context())
    assert "Sup3r-Secret-Value" not in str(exited.value.message)


def test_the_cli_prints_no_traceback_and_debug_mode_does(tmp_path: Path) -> None:
    (tmp_path / "tasks.py").write_text(
        "from stacktasks import collection\nfrom stacktasks.tasks import stack_task\nns = collection()\n"
        "@stack_task()\ndef boom(project):\n    '''Fails.'''\n    open('/dev/full', 'wb').write(b'x' * 65536)\n"
        "ns.add_task(boom)\n"
    )
    inv = str(Path(sys.executable).with_name("inv"))
    plain = subprocess.run([inv, "boom"], cwd=tmp_path, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert plain.returncode == 1
    assert plain.stderr.startswith("stacktasks: no space left on the device")
    assert "Traceback" not in plain.stderr
    debug = subprocess.run(
        [inv, "boom"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "STACKTASKS_DEBUG": "1"},
    )
    assert "Traceback" in debug.stderr and debug.returncode == 1


def test_an_unknown_errno_still_names_the_path() -> None:
    failure = failure_of(OSError(errno.EIO, "Input/output error", "/backups/x.dump"))
    assert str(failure) == "Input/output error: /backups/x.dump"


def test_an_unexpected_error_keeps_its_traceback_in_a_crash_log_the_hint_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("DB_PASSWORD=Sup3r-Secret-Value\n")

    @stack_task()
    def buggy(project: object) -> None:
        """Fails as a bug would, with a secret in its text."""
        _ = project.env  # type: ignore[attr-defined]
        raise KeyError("Sup3r-Secret-Value")

    with pytest.raises(Exit) as exited:
        buggy(Context())
    log = tmp_path / "state" / "stacktasks" / "crash.log"
    assert exited.value.code == BUG
    assert f"hint: the traceback is in {log}; report it with that file" in str(exited.value.message)
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "KeyError" in text and "buggy" in text
    assert "Sup3r-Secret-Value" not in text
    assert log.stat().st_mode & 0o777 == 0o600
