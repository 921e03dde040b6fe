"""The frontend build's output checks and the watcher's change detection."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from stacktasks.errors import StackError
from stacktasks.frontend import changed_files, check_dist, snapshot


def test_a_build_output_must_exist_be_non_empty_and_new(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    with pytest.raises(StackError, match="left no"):
        check_dist(dist, time.time())
    dist.mkdir()
    with pytest.raises(StackError, match="empty"):
        check_dist(dist, time.time())
    (dist / "index.html").write_text("old")
    os.utime(dist / "index.html", (time.time() - 3600, time.time() - 3600))
    with pytest.raises(StackError, match="newer than this build"):
        check_dist(dist, time.time())
    (dist / "index.html").write_text("new")
    assert check_dist(dist, time.time() - 5) == 1


def test_watching_sees_edits_and_new_files_but_not_the_build_output(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "page.html").write_text("a")
    (tmp_path / "dist").mkdir()
    before = snapshot([tmp_path], tmp_path / "dist")
    (tmp_path / "dist" / "out.html").write_text("built")
    assert changed_files(before, snapshot([tmp_path], tmp_path / "dist")) == []
    (tmp_path / "src" / "page.html").write_text("ab")
    (tmp_path / "src" / "new.css").write_text("x")
    assert changed_files(before, snapshot([tmp_path], tmp_path / "dist")) == [
        str(tmp_path / "src" / "new.css"),
        str(tmp_path / "src" / "page.html"),
    ]
