"""Generated just/make recipes run by the real `just` and `make`; env tasks and the `stacktasks`
command driven as a user would."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import INV, run_inv

JUST = shutil.which("just", path=str(Path(sys.executable).parent)) or shutil.which("just")
STACK = str(Path(sys.executable).with_name("stacktasks"))


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "tasks.py").write_text("from stacktasks import collection\nns = collection()\n")
    (tmp_path / ".env.example").write_text("APP_SECRET_KEY=\nDEBUG=1\n")
    return tmp_path


def test_just_runs_the_generated_recipes_with_arguments_passed_through(project: Path) -> None:
    assert JUST, "rust-just is a dev dependency"
    (project / "justfile").write_text("hello:\n    echo hello from my own recipe\n")
    for _ in range(2):  # regeneration keeps the user's recipe and one block
        assert run_inv(project, "aliases.just", "--command", INV).returncode == 0
    own = subprocess.run([JUST, "hello"], cwd=project, capture_output=True, text=True)
    assert own.returncode == 0 and own.stdout == "hello from my own recipe\n"
    helped = subprocess.run([JUST, "db-backup", "--help"], cwd=project, capture_output=True, text=True)
    assert helped.returncode == 0, helped.stderr
    assert "Dump the database to backups/" in helped.stdout
    checked = subprocess.run([JUST, "env-check"], cwd=project, capture_output=True, text=True)
    assert checked.returncode != 0  # the recipe ran the task, and its failure came through
    assert "FAIL .env: missing" in checked.stdout
    astro = subprocess.run([JUST, "build-astro", "--help"], cwd=project, capture_output=True, text=True)
    assert astro.returncode == 0 and "front.build" in astro.stdout


def test_make_runs_the_generated_targets_with_args(project: Path) -> None:
    if not shutil.which("make"):
        pytest.skip("no make on this machine")
    (project / "Makefile").write_text("mine:\n\t@echo mine\n")
    assert run_inv(project, "aliases.make", "--command", INV).returncode == 0
    result = subprocess.run(["make", "-s", "env-init", "ARGS=--force"], cwd=project, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "created" in result.stdout and (project / ".env").exists()
    assert subprocess.run(["make", "-s", "mine"], cwd=project, capture_output=True, text=True).stdout == "mine\n"


def test_env_init_never_overwrites_and_says_so(project: Path) -> None:
    first = run_inv(project, "env.init")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("created") and "generated: APP_SECRET_KEY" in first.stdout
    (project / ".env").write_text("APP_SECRET_KEY=mine\nDEBUG=0\n")
    second = run_inv(project, "env.init")
    assert second.returncode == 0
    assert "kept" in second.stdout
    assert (project / ".env").read_text() == "APP_SECRET_KEY=mine\nDEBUG=0\n"


def test_env_check_fails_on_a_missing_key_and_names_it(project: Path) -> None:
    (project / ".env").write_text("APP_SECRET_KEY=x\n")
    result = run_inv(project, "env.check")
    assert result.returncode == 1
    assert "missing: DEBUG" in result.stdout
    (project / ".env").write_text("APP_SECRET_KEY=x\nDEBUG=1\n")
    assert run_inv(project, "env.check").returncode == 0


def test_env_show_never_prints_a_secret(project: Path) -> None:
    (project / ".env").write_text("APP_SECRET_KEY=do-not-print-me\nDATABASE_URL=postgres://u:url-secret@db/x\n")
    result = run_inv(project, "env.show")
    assert result.returncode == 0, result.stderr
    assert "do-not-print-me" not in result.stdout and "url-secret" not in result.stdout
    assert "APP_SECRET_KEY" in result.stdout and "***" in result.stdout


def test_stack_runs_the_collection_without_a_tasks_py(tmp_path: Path) -> None:
    (tmp_path / ".env.example").write_text("DEBUG=1\n")
    result = subprocess.run([STACK, "env.init"], cwd=tmp_path, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / ".env").read_text() == "DEBUG=1\n"
    listed = subprocess.run([STACK, "--list"], cwd=tmp_path, capture_output=True, text=True)
    assert "db.backup" in listed.stdout and "onboard" in listed.stdout
