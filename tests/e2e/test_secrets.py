"""End-to-end: a database whose password is a file (the official images' POSTGRES_PASSWORD_FILE),
given as a compose secret or mounted into the service: backup and restore read it, never print it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.dryrun import dry_and_real
from tests.helpers import REPO, engine_missing, remove_stack, require, run_inv, write_project

SECRET = "s3cret-from-a-file-7Qx"
COMPOSE = """\
services:
  db:
    image: ${{POSTGRES_IMAGE:-postgres:16-alpine}}
    environment:
      POSTGRES_USER: shop
      POSTGRES_DB: shop
      POSTGRES_PASSWORD_FILE: {path}
{how}
    ports: ["127.0.0.1:{port}:5432"]
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U shop -d shop"]
      interval: 1s
      retries: 60
{top}"""
WAYS = {
    "compose secret": (
        "/run/secrets/db_password",
        "    secrets: [db_password]",
        "secrets:\n  db_password:\n    file: ./secrets/db_password.txt\n",
        "29821",
    ),
    "mounted file": ("/etc/shop/password", "    volumes: ['./secrets:/etc/shop:ro']", "", "29822"),
}


@pytest.fixture(scope="module", params=list(WAYS))
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, dict[str, str]]]:
    require(engine_missing())
    path, how, top, port = WAYS[request.param]
    project = write_project(
        tmp_path_factory.mktemp("e2e-secrets") / "shop", COMPOSE.format(path=path, how=how, top=top, port=port)
    )
    (project / "secrets").mkdir()
    secret_file = project / "secrets" / ("db_password.txt" if "secret" in request.param else "password")
    secret_file.write_text(SECRET + "\n")
    secret_file.chmod(0o644)  # the server reads it as its own user
    standins = REPO / "examples/demo/standins.env"
    (project / ".env").write_text(standins.read_text() if standins.exists() else "")
    env = {"INVOKE_STACKTASKS_PROJECT_NAME": f"stacktasks-e2e-secrets-{port}"}
    try:
        up = run_inv(project, "up", env=env)
        assert up.returncode == 0, up.stderr
        yield project, env
    finally:
        remove_stack(env["INVOKE_STACKTASKS_PROJECT_NAME"], project)


def psql(project: Path, env: dict[str, str], statement: str) -> str:
    result = run_inv(project, "db.shell", "--", "-Atc", statement, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_backup_and_restore_read_the_password_from_its_file_and_never_print_it(
    stack: tuple[Path, dict[str, str]],
) -> None:
    project, env = stack
    psql(project, env, "create table orders (id int); insert into orders values (1), (2), (3)")
    backup = run_inv(project, "db.backup", env=env)
    assert backup.returncode == 0, backup.stderr
    psql(project, env, "delete from orders")
    restore = run_inv(project, "db.restore", "--latest", "--yes", env=env)
    assert restore.returncode == 0, restore.stderr
    assert psql(project, env, "select count(*) from orders") == "3"
    for result in (backup, restore):
        assert SECRET not in result.stdout + result.stderr
    manifests = "".join(path.read_text() for path in (project / "backups").glob("*.json"))
    assert SECRET not in manifests


def test_the_password_really_is_required(stack: tuple[Path, dict[str, str]]) -> None:
    """The published port asks for the password: a wrong one is refused (so the file was read)."""
    project, _ = stack
    port = next(way[3] for way in WAYS.values() if way[3] in (project / "compose.yaml").read_text())
    probe = subprocess.run(
        [sys.executable, "-c", f"import psycopg; psycopg.connect('postgresql://shop:wrong@127.0.0.1:{port}/shop')"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert probe.returncode != 0 and "password authentication failed" in probe.stderr


def test_the_dry_run_of_a_reset_with_the_database_stopped_is_what_the_real_run_runs(
    stack: tuple[Path, dict[str, str]],
) -> None:
    """Last in this module: it destroys the stack. Stopped, a mounted file cannot be read under
    --dry, yet the plan passes the password as the real run does."""
    project, env = stack
    stopped = subprocess.run(
        ["docker", "compose", "-p", env["INVOKE_STACKTASKS_PROJECT_NAME"], "stop", "db"],
        cwd=project, capture_output=True, text=True,
    )  # fmt: skip
    assert stopped.returncode == 0, stopped.stderr
    ran = dry_and_real(project, env, "reset", "--yes")
    assert ran[0].endswith(" up -d --wait db")
    assert " exec -T -e PGPASSWORD " in ran[1]
