"""End-to-end: `inv --dry TASK` prints the commands `inv TASK` then runs, on the demo and a shape.

One test drives both: from the same state, the dry run first (it changes nothing), then the real
run; the commands each shows (`[dry-run] …` and `$ …`) must be the same list, once the values
only the real run can know (the exported snapshot, a temporary file's random name) are masked.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import REPO, copy_demo, engine_missing, remove_stack, require, run_inv, started_stack

DEMO_ENV = {"INVOKE_STACKTASKS_PROJECT_NAME": "stacktasks-e2e-dry"}
DEMO_PORTS = {"APP_PORT": "29600", "DB_PORT": "29632", "REDIS_PORT": "29679"}
TOOLS = ("docker ", "docker-compose ", "pg_dump ", "pg_restore ", "psql ", "redis-cli ")
UNKNOWABLE = [
    (re.compile(r"--snapshot=\S+"), "--snapshot=SNAPSHOT"),
    (re.compile(r"/tmp/stacktasks-restore-[\w.-]+"), "/tmp/stacktasks-restore-FILE"),
]


def commands(lines: str, prefix: str) -> list[str]:
    """The commands in a run's output (not its notes), with the unknowable values masked."""
    found = []
    for line in lines.splitlines():
        if line.startswith(prefix) and line[len(prefix) :].startswith(TOOLS):
            command = line[len(prefix) :]
            for pattern, replacement in UNKNOWABLE:
                command = pattern.sub(replacement, command)
            found.append(command)
    return found


def dry_and_real(project: Path, env: dict[str, str], *args: str) -> list[str]:
    """Both runs of one task; their commands must agree. Returns them."""
    dry = run_inv(project, "--dry", *args, env=env)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    real = run_inv(project, *args, env=env)
    assert real.returncode == 0, real.stdout + real.stderr
    planned, ran = commands(dry.stdout, "[dry-run] "), commands(real.stderr, "$ ")
    assert planned == ran, f"inv {' '.join(args)}\n--dry planned:\n" + "\n".join(planned) + "\nran:\n" + "\n".join(ran)
    return ran


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
