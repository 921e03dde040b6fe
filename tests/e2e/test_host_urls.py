"""End-to-end: a stack whose sample env file aims its URLs at this machine (for running the app from
source) while its own db and redis publish no port. A decoy PostgreSQL database and a decoy Redis
database sit at exactly the addresses the env file names (this host's test servers): no task may
touch them unless the user chose the URL, and with the service chosen every task works on the
stack's own."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests import pg
from tests.helpers import REPO, engine_missing, remove_stack, require, run_inv

PROJECT = "stacktasks-e2e-host-urls"
DECOY_REDIS_DB = 13


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    require(engine_missing())
    require(pg.server_missing())
    decoy = pg.new_database_name("decoy")
    pg.create_sample_database(decoy)
    project = tmp_path_factory.mktemp("host-urls") / "wiki"
    shutil.copytree(REPO / "examples/shapes/host-urls", project)
    # As its README says: copy the sample; here its URLs name the decoys on this machine.
    text = (project / ".env.example").read_text()
    text = text.replace("postgresql://wiki:wiki-dev@127.0.0.1:5432/wiki", pg.url_for(decoy))
    text = text.replace("redis://127.0.0.1:6379/0", f"redis://127.0.0.1:6379/{DECOY_REDIS_DB}")
    (project / ".env").write_text(text)
    env = {"INVOKE_STACKTASKS_PROJECT_NAME": PROJECT}
    try:
        up = run_inv(project, "up", env=env)
        assert up.returncode == 0, up.stderr
        yield project, decoy
    finally:
        remove_stack(PROJECT, project)
        pg.drop_databases(decoy)


@pytest.fixture()
def decoy_redis() -> Iterator[redis.Redis]:
    client = redis.Redis(host="127.0.0.1", port=6379, db=DECOY_REDIS_DB)
    client.flushdb()
    client.set(b"ratelimit:decoy", b"1")
    client.set(b"session:decoy", b"1")
    yield client
    client.flushdb()


SERVICE = {"INVOKE_STACKTASKS_PROJECT_NAME": PROJECT, "INVOKE_STACKTASKS_DB_TARGET": "service"}
SERVICE_REDIS = {"INVOKE_STACKTASKS_PROJECT_NAME": PROJECT, "INVOKE_STACKTASKS_REDIS_TARGET": "service"}


@pytest.mark.parametrize(
    "task",
    [
        ("redis.flush", "--yes"),
        ("redis.flush-ratelimits", "--yes"),
        ("redis.count", "--pattern", "ratelimit:*"),
        ("--dry", "redis.flush", "--yes"),
        ("db.backup",),
        ("db.restore", "--yes", "--latest"),
        ("--dry", "db.backup"),
        ("reset", "--yes"),
    ],
    ids=lambda task: " ".join(task),
)
def test_no_task_touches_what_the_sample_url_names_and_each_says_why(
    stack: tuple[Path, str], decoy_redis: redis.Redis, task: tuple[str, ...]
) -> None:
    project, decoy = stack
    before = pg.fingerprint(decoy)
    result = run_inv(project, *task, env={"INVOKE_STACKTASKS_PROJECT_NAME": PROJECT})
    role = "redis" if any(word.startswith("redis.") for word in task) else "db"
    if task[0] == "reset":  # its backup is refused, so nothing is destroyed
        assert result.returncode == 1 and "so nothing was destroyed" in result.stderr, result.stderr
    else:
        assert result.returncode == 2, result.stdout + result.stderr
    assert f"which is not the stack's {role} service" in result.stderr
    assert f'{role}.target = "service"' in result.stderr
    assert decoy_redis.dbsize() == 2
    assert pg.fingerprint(decoy) == before


def test_doctor_says_which_url_aims_elsewhere(stack: tuple[Path, str]) -> None:
    project, _ = stack
    result = run_inv(project, "doctor", env={"INVOKE_STACKTASKS_PROJECT_NAME": PROJECT})
    assert "FAIL db target" in result.stdout and "FAIL redis target" in result.stdout
    assert "DATABASE_URL names 127.0.0.1:5432, which is not the stack's db service db" in result.stdout
    assert "it publishes no port for 6379" in result.stdout


def test_with_the_service_chosen_the_tasks_work_on_the_stacks_own(
    stack: tuple[Path, str], decoy_redis: redis.Redis
) -> None:
    project, decoy = stack
    before = pg.fingerprint(decoy)
    both = {**SERVICE, **SERVICE_REDIS}
    backup = run_inv(project, "db.backup", "--name", "own", env=both)
    assert backup.returncode == 0, backup.stderr
    assert "database: service db (db.target = service)" in backup.stderr
    manifest = (project / "backups" / "own.dump.json").read_text()
    assert '"database": "wiki"' in manifest  # the stack's database, not the decoy
    flushed = run_inv(project, "redis.flush", "--yes", env=both)
    assert flushed.returncode == 0, flushed.stderr
    assert "inside service redis" in flushed.stdout + flushed.stderr
    assert decoy_redis.dbsize() == 2
    assert pg.fingerprint(decoy) == before


def test_with_the_url_chosen_the_user_gets_the_url(stack: tuple[Path, str], decoy_redis: redis.Redis) -> None:
    project, _ = stack
    env = {"INVOKE_STACKTASKS_PROJECT_NAME": PROJECT, "INVOKE_STACKTASKS_REDIS_TARGET": "url"}
    counted = run_inv(project, "redis.count", "--pattern", "ratelimit:*", env=env)
    assert counted.returncode == 0, counted.stderr
    assert "1" in counted.stdout and "ratelimit:decoy" in counted.stdout  # the decoy's one key: what was chosen
    assert decoy_redis.dbsize() == 2  # counted, nothing deleted
