"""End-to-end: seed 003's database and Redis operations on its own compose file, real engine.

Its postgres and redis images are stood in locally (scripts/setup --for-tests tags them). The
seed publishes postgres on 5432, which this host's own PostgreSQL holds, so a test overlay takes
that port away: psycopg then reaches the container on its network address, and Redis (never
published by the seed) is worked on inside its service.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import REPO, engine_missing, require, run_inv

PROJECT = "stacktasks-e2e-procgenie"
ENV = {
    "INVOKE_STACKTASKS_PROJECT_NAME": PROJECT,
    "INVOKE_STACKTASKS_COMPOSE_FILES": "docker-compose.yml,docker-compose.noports.yml",
}


def psql(project: Path, sql: str) -> str:
    result = subprocess.run(
        ["docker", "compose", "-p", PROJECT, "exec", "-T", "postgres", "psql", "-U", "procgenie", "-d",
         "procgenie_dev", "-Atc", sql], cwd=project, capture_output=True, text=True, check=True,
    )
    return result.stdout.strip()


def redis_cli(project: Path, script: str) -> str:
    result = subprocess.run(["docker", "compose", "-p", PROJECT, "exec", "-T", "redis", "redis-cli"],
                            cwd=project, input=script, capture_output=True, text=True, check=True)
    return result.stdout


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require(engine_missing())
    for image in ("postgres:16-alpine", "redis:7-alpine"):
        if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode != 0:
            require(f"image {image} is not available (scripts/setup --for-tests tags the stand-ins)")
    project = tmp_path_factory.mktemp("procgenie") / "procgenie"
    shutil.copytree(REPO / "examples/seeds/procgenie", project)
    (project / "docker-compose.noports.yml").write_text("services:\n  postgres:\n    ports: !reset []\n")
    assert run_inv(project, "env.init").returncode == 0
    up = run_inv(project, "up", "-s", "postgres,redis", env=ENV)  # the seed's `up -d postgres redis`
    assert up.returncode == 0, up.stderr
    yield project
    subprocess.run(["docker", "compose", "-p", PROJECT, "down", "-v", "--remove-orphans"], cwd=project,
                   capture_output=True)


def test_backup_and_restore_replace_the_seeds_pg_dump_and_psql(seed: Path) -> None:
    psql(seed, "create table plans (id serial primary key, name text); "
               "insert into plans (name) select 'plan ' || i from generate_series(1, 250) i")
    backup = run_inv(seed, "db.backup", "--name", "before", env=ENV)
    assert backup.returncode == 0, backup.stderr
    psql(seed, "delete from plans where id > 100")
    restore = run_inv(seed, "db.restore", "--yes", "--file", "backups/before.dump", env=ENV)
    assert restore.returncode == 0, restore.stderr
    assert psql(seed, "select count(*), max(id) from plans") == "250|250"
    assert "the previous database is kept as procgenie_dev__undo" in restore.stdout


def test_rate_limits_are_flushed_inside_the_unpublished_redis(seed: Path) -> None:
    redis_cli(seed, "".join(f"SET ratelimit:{i} 1\n" for i in range(500)) + "SET session:1 1\n")
    result = run_inv(seed, "redis.flush-ratelimits", env=ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "deleted 500 keys matching 'ratelimit:*'\n"
    assert redis_cli(seed, "DBSIZE\n").strip() == "1"


def test_reset_backs_up_then_removes_the_seeds_volumes(seed: Path) -> None:
    result = run_inv(seed, "reset", "--yes", env=ENV)
    assert result.returncode == 0, result.stderr
    assert "backup before reset:" in result.stdout
    volumes = subprocess.run(
        ["docker", "volume", "ls", "-q", "--filter", f"label=com.docker.compose.project={PROJECT}"],
        capture_output=True, text=True, check=True,
    )
    assert volumes.stdout.strip() == ""
