"""Every documented operation of the five seed stacks, run through stacktasks.

Each seed project under examples/seeds/ is copied fresh, its env files made with `inv env.init`
(as a new clone would), then each operation runs under Invoke's `--dry` with the real compose
CLI reading the seed's compose files. The command stacktasks would run is compared with the
seed's own documented command: the same compose operation, plus what ours adds on purpose
(`-T` without a terminal, `--wait` where there are healthchecks, custom-format dumps…).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import REPO, compose_cli_missing, require, run_inv

SEEDS = REPO / "examples" / "seeds"

# (seed, the seed's documented command, the stacktasks task, the command stacktasks runs)
OPERATIONS = [
    ("cloud-django", "docker-compose up -d", "up", "docker compose up -d"),
    ("cloud-django", "docker-compose logs -f api", "logs -f -s api", "docker compose logs -f api"),
    (
        "cloud-django",
        "docker-compose exec api uv run python manage.py migrate",
        "db.migrate",
        "docker compose run --rm -T api uv run python manage.py migrate",
    ),
    ("cloud-django", "docker-compose exec api uv run pytest", "test", "docker compose run --rm -T api uv run pytest"),
    ("cloud-django", "docker-compose build --no-cache api", "rebuild -s api", "docker compose build --no-cache api"),
    (
        "cloud-django",
        'docker-compose exec redis redis-cli KEYS "ratelimit:*" | xargs … DEL',
        "redis.flush-ratelimits",
        "SCAN MATCH ratelimit:* COUNT 5000 + pipelined UNLINK in redis://redis:6379/0",
    ),
    (
        "cloud-django",
        "docker-compose exec redis redis-cli FLUSHDB",
        "redis.flush --yes",
        "docker compose exec -T redis redis-cli -n 0 FLUSHDB ASYNC",
    ),
    ("cloud-django", "docker-compose down", "down", "docker compose down --remove-orphans"),
    ("cloud-django", "docker-compose down -v", "reset --yes", "docker compose down --remove-orphans -v"),
    ("shootout", "docker compose up", "up", "docker compose up -d --wait"),
    ("shootout", "docker compose up backend", "up -s backend", "docker compose up -d --wait backend"),
    (
        "shootout",
        "docker compose build backend && docker compose up backend",
        "up --build -s backend",
        "docker compose up -d --build --wait backend",
    ),
    (
        "shootout",
        "docker compose logs -f backend worker",
        "logs -f -s backend,worker",
        "docker compose logs -f backend worker",
    ),
    (
        "shootout",
        "docker compose exec backend bash",
        "shell",
        "docker compose exec -T backend sh -c 'if command -v bash >/dev/null 2>&1; then exec bash; else exec sh; fi'",
    ),
    (
        "shootout",
        "docker compose exec astro pnpm build  (just build-astro)",
        "front.build-astro",
        "docker compose run --rm -T --build frontend pnpm build",
    ),
    ("shootout", "docker compose restart backend", "restart -s backend", "docker compose restart backend"),
    ("shootout", "docker compose down -v", "reset --yes", "docker compose down --remove-orphans -v"),
    (
        "shootout",
        "docker compose build --no-cache backend",
        "rebuild -s backend",
        "docker compose build --no-cache backend",
    ),
    ("reasonflow", "docker compose up --build -d", "up --build", "docker compose up -d --build --wait"),
    ("reasonflow", "docker compose logs -f backend", "logs -f -s backend", "docker compose logs -f backend"),
    (
        "reasonflow",
        "docker compose exec backend alembic upgrade head",
        "db.migrate",
        "docker compose run --rm -T backend alembic upgrade head",
    ),
    (
        "reasonflow",
        'docker compose exec backend alembic revision --autogenerate -m "description"',
        "db.makemigrations -m description",
        "docker compose run --rm -T backend alembic revision --autogenerate -m description",
    ),
    (
        "reasonflow",
        "docker compose exec backend python -c \"print('Hello from container')\"",
        "exec backend -- python -c print(1)",
        "docker compose exec -T backend python -c 'print(1)'",
    ),
    (
        "reasonflow",
        "docker compose exec db psql -U postgres -d reasonflow",
        "db.shell",
        "docker compose exec -T -e PGPASSWORD db psql -U postgres -d reasonflow",
    ),
    ("reasonflow", "docker compose ps", "ps", "docker compose ps"),
    (
        "procgenie",
        "docker compose up -d postgres redis",
        "up -s postgres,redis",
        "docker compose -f docker-compose.yml up -d --wait postgres redis",
    ),
    (
        "procgenie",
        "docker compose logs --tail=100 api",
        "logs --tail 100 -s api",
        "docker compose -f docker-compose.yml logs --tail=100 api",
    ),
    (
        "procgenie",
        'docker compose logs --since="2026-02-08T10:00:00" api',
        "logs --since 2026-02-08T10:00:00 -s api",
        "docker compose -f docker-compose.yml logs --since=2026-02-08T10:00:00 api",
    ),
    (
        "procgenie",
        "docker compose logs -f -t api",
        "logs -f -t -s api",
        "docker compose -f docker-compose.yml logs -f -t api",
    ),
    (
        "procgenie",
        "docker compose down --rmi local",
        "reset --yes --rmi",
        "docker compose -f docker-compose.yml down --remove-orphans -v --rmi local",
    ),
    (
        "procgenie",
        "docker compose exec postgres pg_dump -U procgenie procgenie_dev > backup.sql",
        "db.backup",
        "docker compose -f docker-compose.yml exec -T -e PGPASSWORD -e STACKTASKS_WATCHDOG postgres sh -c "
        "'eval \"$STACKTASKS_WATCHDOG\"' stacktasks-watchdog '' pg_dump -U procgenie -d procgenie_dev "
        "-Fc -Z 1 --snapshot=EXPORTED-AT-RUN-TIME",
    ),
    (
        "procgenie",
        "docker compose up -d --build api",
        "up --build -s api",
        "docker compose -f docker-compose.yml up -d --build --wait api",
    ),
    (
        "questdb-django",
        "docker compose -f docker-compose.test.yml up  (command: python manage.py test)",
        "test",
        "docker compose -f docker-compose.test.yml -p questdb-django-test run --rm -T web python manage.py test",
    ),
    ("questdb-django", "python manage.py runserver (docker compose up)", "up", "docker compose up -d"),
    # The seeds' own commands, by configuration alone ([tool.stacktasks.commands] in each pyproject.toml).
    (
        "reasonflow",
        "docker compose exec backend alembic history",
        "history",
        "docker compose run --rm -T backend alembic history",
    ),
    ("procgenie", "docker compose top", "top", "docker compose -f docker-compose.yml top"),
    (
        "questdb-django",
        "docker compose exec celery celery -A config.celery_app inspect active",
        "inspect -- --timeout 5",
        "docker compose run --rm -T celery celery -A config.celery_app inspect active --timeout 5",
    ),
    ("questdb-django", "open Flower on the port it publishes", "flower", "docker compose port flower 5555"),
]


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Fresh copies of the seed projects, env files made from their examples."""
    require(compose_cli_missing())
    root = tmp_path_factory.mktemp("seeds")
    for source in SEEDS.iterdir():
        if source.is_dir():
            shutil.copytree(source, root / source.name)
            if any((root / source.name).rglob(".env.example")):
                made = run_inv(root / source.name, "env.init")
                assert made.returncode == 0, made.stderr
    return root


@pytest.mark.parametrize(
    ("seed", "documented", "task", "expected"),
    OPERATIONS,
    ids=[f"{seed}: {task}" for seed, _, task, _ in OPERATIONS],
)
# No stack runs in this tier, and --dry says what the real run would do: where a seed documents
# `exec`, the plan is a one-off container (`run --rm`); with the app up it is `exec`, as
# tests/e2e/test_dry_runs.py shows against the real runs.
def test_each_documented_operation_runs_through_stacktasks(
    seeds: Path,
    seed: str,
    documented: str,
    task: str,
    expected: str,
) -> None:
    args = task.split(" -- ")[0].split() + (["--", *task.split(" -- ")[1].split()] if " -- " in task else [])
    result = run_inv(seeds / seed, "--dry", *args)
    assert result.returncode == 0, f"{documented}: {result.stderr}"
    planned = [line.removeprefix("[dry-run] ") for line in result.stdout.splitlines()]
    assert any(line == expected or line.startswith(expected) for line in planned), (documented, planned)


def test_the_supabase_pooler_url_is_refused_for_backups_with_the_fix(seeds: Path) -> None:
    result = run_inv(seeds / "cloud-django", "--dry", "db.backup")
    assert result.returncode == 1
    assert "transaction pooler (port 6543)" in result.stderr and "DIRECT_URL" in result.stderr


def test_the_production_overlay_applies_on_the_prod_stage_and_guards_it(seeds: Path) -> None:
    env = {"INVOKE_STACKTASKS_STAGE": "prod"}
    up = run_inv(seeds / "procgenie", "--dry", "up", env=env)
    assert "[dry-run] docker compose -f docker-compose.yml -f docker-compose.prod.yml up -d --wait" in up.stdout
    reset = run_inv(seeds / "procgenie", "reset", env=env)
    assert reset.returncode == 3  # a protected stage: no terminal, no --yes, nothing happens


def test_every_seed_is_detected_with_its_roles(seeds: Path) -> None:
    expected = {
        "cloud-django": {"app": "api", "redis": "redis", "db": "none"},
        "shootout": {"app": "backend", "db": "db", "redis": "redis", "front": "frontend"},
        "reasonflow": {"app": "backend", "db": "db"},
        "procgenie": {"app": "api", "db": "postgres", "redis": "redis"},
        "questdb-django": {"app": "web", "db": "postgres", "redis": "redis"},
    }
    for seed, roles in expected.items():
        doctor = run_inv(seeds / seed, "doctor", "--no-settings")
        for role, service in roles.items():
            line = next(line for line in doctor.stdout.splitlines() if f" {role} role " in line)
            assert line.split()[3] == service, (seed, line)
