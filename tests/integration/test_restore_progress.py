"""A restore on a terminal counts the tables pg_restore finished; without one it prints no meter."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import INV, run_inv
from tests.terminal import on_a_terminal


def run_with_terminal_stderr(project: Path, *args: str) -> tuple[int, str]:
    """`inv ARGS` with stderr on a pseudo-terminal (stdin and stdout not): what a person sees."""
    return on_a_terminal([INV, *args], project)


def test_a_restore_on_a_terminal_counts_the_tables_done(sample_database: tuple[str, Path]) -> None:
    _, project = sample_database
    assert run_inv(project, "db.backup", "--name", "counted").returncode == 0
    code, seen = run_with_terminal_stderr(project, "db.restore", "--yes", "--file", "counted")
    assert code == 0, seen
    assert "restore: 2 of 2 tables" in seen


def test_a_restore_without_a_terminal_prints_no_meter(sample_database: tuple[str, Path]) -> None:
    _, project = sample_database
    assert run_inv(project, "db.backup", "--name", "quiet").returncode == 0
    result = run_inv(project, "db.restore", "--yes", "--file", "quiet")
    assert result.returncode == 0, result.stderr
    assert "tables ·" not in result.stderr and "--verbose" not in result.stderr
