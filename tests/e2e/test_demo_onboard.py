"""End-to-end: a new teammate's first command on a fresh copy of the demo, with `stacktasks` (no
tasks.py needed), under a real engine; then the second run, and the build-only frontend."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.helpers import copy_demo, engine_missing, remove_stack, require

PROJECT = "stacktasks-e2e-onboard"
PORTS = {"APP_PORT": "32000", "DB_PORT": "32432", "REDIS_PORT": "32379"}
STACK = str(Path(sys.executable).with_name("stacktasks"))
ENV = {**os.environ, "INVOKE_STACKTASKS_PROJECT_NAME": PROJECT, **PORTS}


def stack(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [STACK, *args], cwd=project, env=ENV, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=900
    )


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require(engine_missing())
    project = copy_demo(tmp_path_factory.mktemp("onboard") / "demo", with_env=False)
    try:
        yield project
    finally:
        remove_stack(PROJECT, project)


def notes() -> int:
    url = f"postgresql://demo:demo-password@127.0.0.1:{PORTS['DB_PORT']}/demo"
    with psycopg.connect(url) as conn:
        row = conn.execute("select count(*) from notes").fetchone()
        return int(row[0]) if row else -1


def test_onboard_brings_a_fresh_clone_to_a_healthy_migrated_seeded_stack(fresh_clone: Path) -> None:
    result = stack(fresh_clone, "onboard", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "changed  env files: created .env" in lines
    assert "changed  migrations: applied" in lines
    assert "changed  seed: ran on the new database" in lines
    assert f"  app: http://127.0.0.1:{PORTS['APP_PORT']}/" in lines
    assert (fresh_clone / ".env").stat().st_mode & 0o077 == 0
    assert "DEMO_SECRET_KEY=\n" not in (fresh_clone / ".env").read_text()  # generated
    with urllib.request.urlopen(f"http://127.0.0.1:{PORTS['APP_PORT']}/health", timeout=10) as response:
        assert response.status == 200
    assert notes() == 1


def test_a_second_onboard_changes_nothing_and_says_so(fresh_clone: Path) -> None:
    env_before = (fresh_clone / ".env").read_text()
    result = stack(fresh_clone, "onboard", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "nothing changed: this stack was already onboarded" in result.stdout, [
        line for line in result.stdout.splitlines() if line.startswith("changed")
    ]
    assert "same     seed: skipped: the database was not new (--seed runs it)" in result.stdout
    assert (fresh_clone / ".env").read_text() == env_before
    assert notes() == 1


def test_front_build_runs_the_build_only_service_and_checks_its_output(fresh_clone: Path) -> None:
    result = stack(fresh_clone, "front.build")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "--profile build run --rm -T --build frontend" in result.stderr
    page = fresh_clone / "frontend" / "dist" / "index.html"
    assert page.is_file()
    assert result.stdout.splitlines()[-1].startswith("built frontend in ")
    state = subprocess.run(
        ["docker", "compose", "-p", PROJECT, "ps", "--all", "--format", "json"],
        cwd=fresh_clone,
        capture_output=True,
        text=True,
        check=True,
    )
    services = {json.loads(line)["Service"] for line in state.stdout.splitlines() if line.strip()}
    assert "frontend" not in services  # run --rm: nothing left behind


SEEDED = "stacktasks-e2e-onboard-seeded"
SEEDED_PORTS = {"APP_PORT": "32100", "DB_PORT": "32532", "REDIS_PORT": "32479"}


@pytest.fixture(scope="module")
def seeded_clone(fresh_clone: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A second new teammate's clone whose `db.seed_dump` is a team dump (made from the first
    clone's database, with 25 more notes), sanitised by the project's rule."""
    url = f"postgresql://demo:demo-password@127.0.0.1:{PORTS['DB_PORT']}/demo"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("insert into notes (body) select 'a customer''s note ' || i from generate_series(1, 25) i")
    dump = stack(fresh_clone, "db.backup", "--name", "team")
    assert dump.returncode == 0, dump.stderr
    project = copy_demo(tmp_path_factory.mktemp("onboard-seeded") / "demo", with_env=False)
    (project / "team.dump").write_bytes((fresh_clone / "backups" / "team.dump").read_bytes())
    rules = '\n[tool.stacktasks.db]\nseed_dump = "team.dump"\nsanitize = ["UPDATE notes SET body = \'note \' || id"]\n'
    (project / "pyproject.toml").write_text((project / "pyproject.toml").read_text() + rules)
    try:
        yield project
    finally:
        remove_stack(SEEDED, project)


def seeded_stack(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**ENV, "INVOKE_STACKTASKS_PROJECT_NAME": SEEDED, **SEEDED_PORTS}
    return subprocess.run(
        [STACK, *args], cwd=project, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=900
    )


def seeded_notes() -> list[str]:
    url = f"postgresql://demo:demo-password@127.0.0.1:{SEEDED_PORTS['DB_PORT']}/demo"
    with psycopg.connect(url) as conn:
        return [str(row[0]) for row in conn.execute("select body from notes order by id")]


def test_onboard_restores_the_team_dump_into_a_new_database_sanitised(seeded_clone: Path) -> None:
    result = seeded_stack(seeded_clone, "onboard", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "changed  seed dump: restored team.dump, sanitised" in lines
    assert "same     seed: skipped: the database was not new (--seed runs it)" in lines  # the dump is the data
    bodies = seeded_notes()
    assert len(bodies) == 26 and all(body.startswith("note ") for body in bodies)


def test_a_second_onboard_leaves_the_seeded_database_as_it_is(seeded_clone: Path) -> None:
    before = seeded_notes()
    result = seeded_stack(seeded_clone, "onboard", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "same     seed dump: skipped: the database was not new (team.dump)" in result.stdout
    assert "nothing changed: this stack was already onboarded" in result.stdout
    assert seeded_notes() == before
