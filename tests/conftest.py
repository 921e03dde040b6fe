"""Fixtures shared by every tier."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.recording import RecordingRunner


@pytest.fixture
def recorder(tmp_path: Path) -> RecordingRunner:
    """A runner that records every command and answers from a script (see tests/recording.py)."""
    return RecordingRunner(env={}, cwd=tmp_path)
