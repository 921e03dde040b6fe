"""The suite's recording runner is the one stacktasks ships (stacktasks/testing.py)."""

from __future__ import annotations

from stacktasks.testing import RecordingRunner, UnexpectedCommand

__all__ = ["RecordingRunner", "UnexpectedCommand"]
