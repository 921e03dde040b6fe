"""End-to-end: `inv --dry TASK` prints the commands `inv TASK` then runs, on the demo and shapes,
with services running and stopped, passwords in the env files and in secret files (see dryrun.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.dryrun import dry_and_real
from tests.e2e.shapes import compose, shaped
from tests.helpers import REPO, copy_demo, engine_missing, remove_stack, require, run_inv, started_stack

DEMO_ENV = {"INVOKE_STACKTASKS_PROJECT_NAME": "stacktasks-e2e-dry"}
DEMO_PORTS = {"APP_PORT": "29600", "DB_PORT": "29632", "REDIS_PORT": "29679"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require(engine_missing())
    project = copy_demo(tmp_path_factory.mktemp("e2e-dry") / "demo", DEMO_PORTS)
    with started_stack(project, DEMO_ENV, "-s", "db,redis") as started:
        yield started


# In this order, from one state to the next: the app is stopped throughout (one-off containers).
DEMO_TASKS = [
    ("db.backup", "--name", "compared"),
    ("db.restore", "--yes", "--file", "compared"),
    ("db.undo", "--yes"),
    ("db.migrate",),
    ("test", "--", "-q", "-k", "greeting"),
    ("redis.flush-ratelimits",),
    ("restart", "-s", "redis"),
    ("logs", "-s", "db", "--tail", "1"),
    ("front.build",),
    ("up", "-s", "redis"),
    ("reset", "--yes"),
]


@pytest.mark.parametrize("task", DEMO_TASKS, ids=[" ".join(task) for task in DEMO_TASKS])
def test_the_dry_run_of_each_task_is_what_the_real_run_runs_on_the_demo(demo: Path, task: tuple[str, ...]) -> None:
    ran = dry_and_real(demo, DEMO_ENV, *task)
    if task[0] in ("db.migrate", "test"):
        assert any(" run --rm " in command for command in ran)  # the app is stopped: a one-off container


def test_the_dry_run_of_a_flush_inside_the_service_is_what_runs(tmp_path: Path) -> None:
    require(engine_missing())
    project = tmp_path / "valkey-broker"
    shutil.copytree(REPO / "examples" / "shapes" / "valkey-broker", project)
    env = {"INVOKE_STACKTASKS_PROJECT_NAME": "stacktasks-e2e-dry-broker", "API_PORT": "29681"}
    try:
        assert run_inv(project, "up", "-s", "broker", env=env).returncode == 0
        ran = dry_and_real(project, env, "redis.flush-ratelimits")
        assert len(ran) == 1 and " exec -T -e REDISCLI_AUTH broker sh -c " in ran[0]
    finally:
        remove_stack(env["INVOKE_STACKTASKS_PROJECT_NAME"], project)


def test_the_dry_run_on_a_stack_without_redis_fails_as_the_real_run_does(tmp_path: Path) -> None:
    require(engine_missing())
    project = tmp_path / "vector-api"
    shutil.copytree(REPO / "examples" / "shapes" / "vector-api", project)
    dry = run_inv(project, "--dry", "redis.flush-ratelimits")
    real = run_inv(project, "redis.flush-ratelimits")
    assert dry.returncode == real.returncode == 1
    assert dry.stderr.strip().splitlines()[0] == real.stderr.strip().splitlines()[0]
    assert "no Redis" in real.stderr


@shaped("chat-secrets")
def test_the_dry_run_of_a_reset_with_the_database_stopped_starts_it_first_as_the_real_run_does(
    shape: tuple[Path, dict[str, str]],
) -> None:
    project, env = shape
    assert run_inv(project, "up", "-s", "database", env=env).returncode == 0
    compose(project, env, "stop", "database")
    ran = dry_and_real(project, env, "reset", "--yes")
    assert ran[0].endswith(" up -d --wait database")
    assert " exec -T -e PGPASSWORD " in ran[1]  # the password from the compose secret's file


@shaped("chat-secrets")
def test_the_dry_run_of_a_flush_with_a_password_from_a_secret_file_is_what_runs(
    shape: tuple[Path, dict[str, str]],
) -> None:
    project, env = shape
    assert run_inv(project, "up", "-s", "redis", env=env).returncode == 0
    ran = dry_and_real(project, env, "redis.flush-ratelimits")
    assert len(ran) == 1 and " exec -T -e REDISCLI_AUTH redis sh -c " in ran[0]
