"""Tasks against the real compose CLI (`docker compose config` and --dry need no engine)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import compose_cli_missing, require, run_inv, write_project

SEED_001 = """
services:
  backend:
    build: ./backend
    ports: ["8000:8000"]
  frontend:
    build: ./frontend
    profiles: ["build"]
  worker:
    build: ./backend
    command: uv run taskiq worker app.tasks:broker
  db:
    image: postgres:18-alpine
    environment:
      POSTGRES_PASSWORD: ${DB_PASSWORD}
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U shootout -d shootout"]
  redis:
    image: redis:8.4.0-alpine
"""

NO_HEALTHCHECKS = """
services:
  api:
    image: ${API_IMAGE:-python:3.12-slim}
"""


@pytest.fixture(autouse=True)
def _compose_cli() -> None:
    require(compose_cli_missing())


@pytest.fixture
def seed_001(tmp_path: Path) -> Path:
    project = write_project(tmp_path / "shootout", SEED_001)
    for folder in ("backend", "frontend"):
        (project / folder).mkdir()
    (project / ".env").write_text("DB_PASSWORD=correct-horse-battery\n")
    return project


def test_doctor_names_each_detected_role_and_why(seed_001: Path) -> None:
    result = run_inv(seed_001, "doctor")
    assert "app role       backend  (compose model: service name)" in result.stdout
    assert 'db role        db  (compose model: image "postgres:18-alpine")' in result.stdout
    assert "front role     frontend  (compose model: service name)" in result.stdout


def test_up_waits_for_health_when_the_stack_has_healthchecks(seed_001: Path) -> None:
    result = run_inv(seed_001, "--dry", "up")
    assert result.returncode == 0, result.stderr
    assert "[dry-run] docker compose up -d --wait\n" in result.stdout


def test_up_does_not_wait_when_nothing_has_a_healthcheck(tmp_path: Path) -> None:
    project = write_project(tmp_path, NO_HEALTHCHECKS)
    result = run_inv(project, "--dry", "up")
    assert "[dry-run] docker compose up -d\n" in result.stdout


def test_services_after_double_dash_reach_compose(seed_001: Path) -> None:
    result = run_inv(seed_001, "--dry", "logs", "-f", "--", "backend", "worker")
    assert "[dry-run] docker compose logs -f backend worker" in result.stdout


def test_env_file_values_reach_compose_interpolation(tmp_path: Path) -> None:
    project = write_project(tmp_path, NO_HEALTHCHECKS)
    (project / ".env.local").write_text("API_IMAGE=registry.example/api:42\n")
    (project / "pyproject.toml").write_text('[tool.stacktasks]\nenv_files = [".env.local"]\n')
    (project / "tasks.py").write_text(
        "from stacktasks import collection\nns = collection()\n"
        "from stacktasks.tasks import stack_task\n"
        "@stack_task()\ndef image(project):\n"
        "    print(project.model().image('api'))\n"
        "ns.add_task(image)\n"
    )
    result = run_inv(project, "image")
    assert result.stdout.strip() == "registry.example/api:42", result.stderr


def test_secrets_are_masked_in_the_printed_command(seed_001: Path) -> None:
    result = run_inv(seed_001, "--dry", "exec", "db", "--", "psql", "postgresql://app:hunter22@db/x")
    assert "postgresql://app:***@db/x" in result.stdout
    assert "hunter22" not in result.stdout + result.stderr


def test_reset_without_terminal_or_yes_is_refused_with_exit_3(seed_001: Path) -> None:
    result = run_inv(seed_001, "reset")
    assert result.returncode == 3
    assert "pass --yes" in result.stderr
    assert "down" not in result.stdout


def test_dry_reset_prints_the_whole_plan(seed_001: Path) -> None:
    result = run_inv(seed_001, "--dry", "reset", "--rmi")
    assert result.returncode == 0, result.stderr
    assert "[dry-run] would ask: destroy project shootout" in result.stdout
    assert "[dry-run] docker compose down --remove-orphans -v --rmi local" in result.stdout


def test_overlays_and_project_name_from_configuration(tmp_path: Path) -> None:
    project = write_project(
        tmp_path,
        "",
        pyproject=(
            '[tool.stacktasks]\ncompose_files = ["docker-compose.yml", "docker-compose.prod.yml"]\n'
            'project_name = "procgenie"\n'
        ),
    )
    (project / "compose.yaml").unlink()
    (project / "docker-compose.yml").write_text("services:\n  api:\n    image: node:20-alpine\n")
    (project / "docker-compose.prod.yml").write_text("services:\n  api:\n    restart: always\n")
    result = run_inv(project, "--dry", "restart", "-s", "api")
    assert (
        "[dry-run] docker compose -f docker-compose.yml -f docker-compose.prod.yml -p procgenie restart api"
    ) in result.stdout


def test_test_compose_file_runs_a_separate_stack_and_removes_it(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "site",
        NO_HEALTHCHECKS,
        pyproject=(
            '[tool.stacktasks.app]\ntest = "python manage.py test"\n'
            'test_compose_files = ["docker-compose.test.yml"]\nservice = "web"\n'
        ),
    )
    (project / "docker-compose.test.yml").write_text("services:\n  web:\n    image: python:3.13-slim\n")
    result = run_inv(project, "--dry", "test", "--", "blog")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("[dry-run] docker")]
    assert lines == [
        "[dry-run] docker compose -f docker-compose.test.yml -p site-test run --rm -T web python manage.py test blog",
        "[dry-run] docker compose -f docker-compose.test.yml -p site-test down --remove-orphans -v",
    ]


def test_an_invalid_compose_file_fails_with_compose_reason(tmp_path: Path) -> None:
    project = write_project(tmp_path, "services:\n  api:\n    image: [not, a, string]\n")
    result = run_inv(project, "up")
    assert result.returncode != 0
    assert result.stderr.startswith("stacktasks: `docker compose --profile '*' config --format json` exited")


def test_unknown_setting_in_pyproject_fails_naming_it(tmp_path: Path) -> None:
    project = write_project(tmp_path, NO_HEALTHCHECKS, pyproject='[tool.stacktasks]\nprofile = ["x"]\n')
    result = run_inv(project, "ps")
    assert result.returncode == 2  # a usage error
    assert "unknown setting 'profile'" in result.stderr
    assert "did you mean 'profiles'?" in result.stderr


def test_exec_without_a_command_explains_the_form(seed_001: Path) -> None:
    result = run_inv(seed_001, "exec", "backend")
    assert result.returncode == 2
    assert "hint: inv exec backend -- COMMAND" in result.stderr


WATCHED_FRONTEND = """
services:
  frontend:
    build: ./frontend
    profiles: ["build"]
    develop:
      watch:
        - action: rebuild
          path: ./frontend/src
"""


def test_front_watch_hands_over_to_compose_watch_where_develop_watch_is_declared(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", WATCHED_FRONTEND)
    (project / "frontend" / "src").mkdir(parents=True)
    result = run_inv(project, "--dry", "front.watch")
    assert result.returncode == 0, result.stderr
    assert "frontend declares develop.watch: compose watch takes over" in result.stdout
    assert "docker compose --profile build watch frontend" in result.stdout
    assert "run --rm" not in result.stdout


def test_front_watch_polls_where_no_develop_watch_is_declared(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", SEED_001)
    (project / "frontend").mkdir()
    result = run_inv(project, "--dry", "front.watch")
    assert result.returncode == 0, result.stderr
    assert "docker compose --profile build run --rm -T --build frontend" in result.stdout
    assert "every 1s and build again on a change" in result.stdout
    assert " watch " not in result.stdout


# -- the compose version, kept per binary --------------------------------------------------------


def docker_shim(tmp_path: Path) -> dict[str, str]:
    """PATH with a `docker` of its own (a script that runs the real one), so that the test can
    upgrade it; the cache is the test's own."""
    import os
    import shutil

    real = shutil.which("docker")
    assert real
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "docker").write_text(f'#!/bin/sh\nexec {real} "$@"\n')
    (shim / "docker").chmod(0o755)
    return {"PATH": f"{shim}{os.pathsep}{os.environ['PATH']}", "XDG_CACHE_HOME": str(tmp_path / "cache")}


def cache_file(env: dict[str, str]) -> Path:
    return Path(env["XDG_CACHE_HOME"]) / "stacktasks" / "compose-version.json"


def test_a_kept_version_is_used_until_the_docker_cli_is_upgraded(seed_001: Path, tmp_path: Path) -> None:
    import json
    import os

    env = docker_shim(tmp_path)
    assert "docker compose up -d --wait\n" in run_inv(seed_001, "--dry", "up", env=env).stdout
    # The kept answer is trusted while the binaries are the same: an old one means no --wait.
    kept = json.loads(cache_file(env).read_text())
    assert len(kept) == 1
    cache_file(env).write_text(json.dumps({key: "2.0.0" for key in kept}))
    assert "docker compose up -d\n" in run_inv(seed_001, "--dry", "up", env=env).stdout
    # An upgrade (another binary: size and mtime) is a new key: the CLI is asked again.
    shim = Path(env["PATH"].split(os.pathsep, 1)[0]) / "docker"
    shim.write_text(shim.read_text() + "# upgraded\n")
    upgraded = run_inv(seed_001, "--dry", "up", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "docker compose up -d --wait\n" in upgraded.stdout
    assert len(json.loads(cache_file(env).read_text())) == 2


def test_a_corrupt_version_cache_is_ignored_and_every_task_still_works(seed_001: Path, tmp_path: Path) -> None:
    env = docker_shim(tmp_path)
    cache_file(env).parent.mkdir(parents=True)
    cache_file(env).write_bytes(b'{"truncated": "2.4')
    result = run_inv(seed_001, "--dry", "up", env=env)
    assert result.returncode == 0, result.stderr
    assert "docker compose up -d --wait\n" in result.stdout
    import subprocess

    real = subprocess.run(["docker", "compose", "version", "--short"], capture_output=True, text=True, check=True)
    assert f"docker compose {real.stdout.strip()}" in run_inv(seed_001, "doctor", env=env).stdout
