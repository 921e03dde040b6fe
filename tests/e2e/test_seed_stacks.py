"""End-to-end: each seed's database and Redis operations on its own compose file, real engine.

Their postgres and redis images are stood in locally where no registry answers (scripts/setup
--for-tests tags the stand-ins with the seeds' image names). Ports the seeds publish on this
host's own PostgreSQL and Redis ports are taken away by a test overlay: psycopg then reaches the
database on its container address, and Redis work runs inside its service.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import INV, REPO, engine_missing, require, run_inv, started_stack

JUST = shutil.which("just", path=str(Path(sys.executable).parent)) or shutil.which("just")


@dataclass(frozen=True)
class Seed:
    name: str
    db: str | None  # service
    user: str
    database: str
    redis: str | None  # service
    images: tuple[str, ...]

    @property
    def project(self) -> str:
        return f"stacktasks-e2e-{self.name}"


SEEDS = [
    Seed("cloud-django", None, "", "", "redis", ("redis:7-alpine",)),
    Seed("shootout", "db", "shootout", "shootout", "redis", ("postgres:18-alpine", "redis:8.4.0-alpine")),
    Seed("reasonflow", "db", "postgres", "reasonflow", None, ("pgvector/pgvector:pg16",)),
    Seed("procgenie", "postgres", "procgenie", "procgenie_dev", "redis", ("postgres:16-alpine", "redis:7-alpine")),
    Seed("questdb-django", "postgres", "postgres", "app", "redis", ("postgres:16-alpine", "redis:7-alpine")),
]


def compose(seed: Seed, cwd: Path, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        ["docker", "compose", "-p", seed.project, *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


WITH_DB = [seed for seed in SEEDS if seed.db]
WITH_REDIS = [seed for seed in SEEDS if seed.redis]


def ids(seeds: list[Seed]) -> list[str]:
    return [seed.name for seed in seeds]


@pytest.fixture(scope="module")
def stack(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Seed, Path, dict[str, str]]]:
    """One stack per seed, shared by its tests in file order (reset last)."""
    seed: Seed = request.param
    tmp_path = tmp_path_factory.mktemp(seed.name)
    require(engine_missing())
    for image in seed.images:
        if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode != 0:
            require(f"image {image} is not available (scripts/setup --for-tests tags the stand-ins)")
    project = tmp_path / seed.name
    shutil.copytree(REPO / "examples/seeds" / seed.name, project)
    overlay = "services:\n" + "".join(f"  {s}:\n    ports: !reset []\n" for s in (seed.db, seed.redis) if s)
    (project / "test-overlay.yml").write_text(overlay)
    files = (REPO / "examples/seeds" / seed.name / "docker-compose.yml").name + ",test-overlay.yml"
    # With its ports taken away, a seed's sample URL on localhost aims at this host's own server, not
    # the stack's: the user who moved the ports says which one is meant (placement.py).
    env = {
        "INVOKE_STACKTASKS_PROJECT_NAME": seed.project,
        "INVOKE_STACKTASKS_COMPOSE_FILES": files,
        "INVOKE_STACKTASKS_DB_TARGET": "service",
        "INVOKE_STACKTASKS_REDIS_TARGET": "service",
    }
    if any(project.rglob(".env.example")):
        assert run_inv(project, "env.init").returncode == 0
    services = ",".join(s for s in (seed.db, seed.redis) if s)
    with started_stack(project, env, "-s", services, "--no-wait"):
        yield seed, project, env


@pytest.mark.parametrize("stack", WITH_DB, ids=ids(WITH_DB), indirect=True)
def test_backup_then_restore_brings_the_seeds_database_back(stack: tuple[Seed, Path, dict[str, str]]) -> None:
    seed, project, env = stack
    assert seed.db is not None
    sql = ["exec", "-T", seed.db, "psql", "-U", seed.user, "-d", seed.database, "-Atc"]
    compose(
        seed,
        project,
        "exec",
        "-T",
        seed.db,
        "sh",
        "-c",  # not every seed's db has a healthcheck
        f"until pg_isready -q -h 127.0.0.1 -U {seed.user}; do sleep 0.2; done",
    )  # TCP: not the init server
    compose(
        seed,
        project,
        *sql,
        "create table plans (id serial primary key, name text); "
        "insert into plans (name) select 'plan ' || i from generate_series(1, 250) i",
    )
    backup = run_inv(project, "db.backup", "--name", "before", env=env)
    assert backup.returncode == 0, backup.stderr
    compose(seed, project, *sql, "delete from plans where id > 100")
    restore = run_inv(project, "db.restore", "--yes", "--file", "backups/before.dump", env=env)
    assert restore.returncode == 0, restore.stderr
    assert compose(seed, project, *sql, "select count(*), max(id) from plans") == "250|250"


@pytest.mark.parametrize("stack", WITH_REDIS, ids=ids(WITH_REDIS), indirect=True)
def test_rate_limits_are_flushed_and_other_keys_kept(stack: tuple[Seed, Path, dict[str, str]]) -> None:
    seed, project, env = stack
    assert seed.redis is not None
    compose(
        seed,
        project,
        "exec",
        "-T",
        seed.redis,
        "redis-cli",
        stdin="".join(f"SET ratelimit:{i} 1\n" for i in range(500)) + 'SET "ratelimit:a b" 1\nSET session:1 1\n',
    )
    result = run_inv(project, "redis.flush-ratelimits", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "deleted 501 keys matching 'ratelimit:*'\n"
    assert compose(seed, project, "exec", "-T", seed.redis, "redis-cli", "DBSIZE") == "1"


PROCGENIE = [seed for seed in SEEDS if seed.name == "procgenie"]
SEED_COMMANDS = """
[tool.stacktasks.commands.sql]
service = "postgres"
command = "psql -U procgenie -d procgenie_dev -At -c"
help = "Run one SQL statement in the database."

[tool.stacktasks.hooks]
after_restore = ["sql 'insert into restored_at default values'"]
"""


@pytest.mark.parametrize("stack", PROCGENIE, ids=ids(PROCGENIE), indirect=True)
def test_the_seeds_own_commands_and_a_hook_work_by_configuration_alone(
    stack: tuple[Seed, Path, dict[str, str]],
) -> None:
    _, project, env = stack
    pyproject = project / "pyproject.toml"
    before = pyproject.read_text()
    pyproject.write_text(before + SEED_COMMANDS)
    try:
        made = run_inv(project, "sql", "--", "create table restored_at (at timestamptz default now())", env=env)
        assert made.returncode == 0, made.stderr
        assert run_inv(project, "sql", "--", "select 6 * 7", env=env).stdout == "42\n"
        assert "postgres" in run_inv(project, "top", env=env).stdout  # the seed's own pyproject.toml has it
        assert run_inv(project, "db.backup", "--name", "hooked", env=env).returncode == 0
        restored = run_inv(project, "db.restore", "--yes", "--file", "backups/hooked.dump", env=env)
        assert restored.returncode == 0, restored.stderr
        counted = run_inv(project, "sql", "--", "select count(*) from restored_at", env=env)
        assert counted.stdout == "1\n"  # the hook ran once, in the restored database
        assert JUST and run_inv(project, "aliases.just", "--command", INV, env=env).returncode == 0
        recipe = subprocess.run(
            [JUST, "sql", "select 'from just'"], cwd=project, capture_output=True, text=True,
            env={**os.environ, **env},
        )  # fmt: skip
        assert recipe.returncode == 0 and recipe.stdout == "from just\n", recipe.stderr
    finally:
        pyproject.write_text(before)


@pytest.mark.parametrize("stack", SEEDS, ids=ids(SEEDS), indirect=True)
def test_reset_backs_the_database_up_then_removes_the_volumes(stack: tuple[Seed, Path, dict[str, str]]) -> None:
    seed, project, env = stack
    # Keeping no automatic backups at all still keeps the one this reset names.
    result = run_inv(project, "reset", "--yes", env={**env, "INVOKE_STACKTASKS_DB_KEEP_AUTOMATIC": "0"})
    assert result.returncode == 0, result.stderr
    assert ("backup before reset:" in result.stdout) == (seed.db is not None)
    if seed.db is not None:
        named = result.stdout.split("backup before reset: ", 1)[1].split()[0]
        assert (project / named).is_file(), result.stdout
    volumes = subprocess.run(
        ["docker", "volume", "ls", "-q", "--filter", f"label=com.docker.compose.project={seed.project}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert volumes.stdout.strip() == ""
