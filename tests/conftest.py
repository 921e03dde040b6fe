"""Fixtures shared by every tier."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.recording import RecordingRunner


@pytest.fixture
def recorder(tmp_path: Path) -> RecordingRunner:
    """A runner that records every command and answers from a script (see tests/recording.py)."""
    return RecordingRunner(env={}, cwd=tmp_path)


@pytest.fixture(autouse=True)
def crash_logs_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash log a test provokes (exit 70), and the compose version stacktasks keeps, go to the
    test's own folder, never the user's: no test sees another's."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under scripts/check-wheel the suite must test the installed wheel, not this checkout."""
    import os

    import stacktasks

    if os.environ.get("STACKTASKS_TEST_INSTALLED") == "1" and "site-packages" not in stacktasks.__file__:
        raise pytest.UsageError(f"testing {stacktasks.__file__}, not the installed wheel")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The declared markers, by tier: `-m "not engine"` runs everything that needs no container engine."""
    for item in items:
        path = Path(str(item.fspath))
        if "e2e" in path.parts:
            item.add_marker(pytest.mark.engine)
            item.add_marker(pytest.mark.compose)
        elif path.name in ("test_compose_cli.py", "test_seeds.py"):
            item.add_marker(pytest.mark.compose)
