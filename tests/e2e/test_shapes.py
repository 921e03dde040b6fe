"""End-to-end: the real-world shapes of examples/shapes under a real engine, as a new user runs them.

Each test copies one shape, names its compose project, moves its ports out of the way, and runs
what failed on stacks of that shape before: a database named `postgres`, credentials kept in the
stack's own services, hard-coded ports already taken, a database still initialising right after
`up`, bind-mounted data, an image that cannot be had.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.shapes import compose, inv, shaped
from tests.helpers import run_inv


@shaped("social", WEB_PORT="29300")
def test_a_database_named_postgres_backs_up_restores_and_undoes(shape: tuple[Path, dict[str, str]]) -> None:
    project, env = shape
    made = inv(project, env, "env.init")
    assert "generated: SECRET_KEY_BASE" in made.stdout
    assert "fill in SMTP_PASSWORD: From your mail provider's dashboard." in made.stdout
    inv(project, env, "up", "-s", "db")
    psql = ["exec", "-T", "db", "psql", "-U", "postgres", "-d", "postgres", "-c"]
    compose(project, env, *psql, "create table toots (id int); insert into toots select generate_series(1, 42)")
    inv(project, env, "db.backup", "--name", "before")
    compose(project, env, *psql, "delete from toots where id > 2")
    restored = inv(project, env, "db.restore", "--yes", "--file", "before")
    assert "into postgres" in restored.stdout
    assert "42" in compose(project, env, *psql, "select count(*) from toots")
    inv(project, env, "db.undo", "--yes")
    assert " 2\n" in compose(project, env, *psql, "select count(*) from toots")


@shaped("social", WEB_PORT="29301")
def test_reset_says_which_bind_mounted_data_it_keeps_and_deletes_it_only_when_asked(
    shape: tuple[Path, dict[str, str]],
) -> None:
    project, env = shape
    inv(project, env, "env.init")
    inv(project, env, "up")
    assert (project / "postgres14" / "PG_VERSION").exists()
    kept = inv(project, env, "reset", "--yes", "--no-backup")
    assert "kept bind-mounted data (down -v never removes it): ./postgres14 (db), ./redis (redis)" in kept.stdout
    assert (project / "postgres14" / "PG_VERSION").exists()
    refused = run_inv(project, "reset", "--bind-data", "--no-backup", env=env)
    assert refused.returncode == 3  # no terminal to type the project's name on, and no --yes
    assert (project / "postgres14").exists()
    deleted = inv(project, env, "reset", "--bind-data", "--no-backup", "--yes")
    assert "deleted bind-mounted data: ./postgres14 (db), ./redis (redis)" in deleted.stdout
    assert not (project / "postgres14").exists() and not (project / "redis").exists()


@shaped("valkey-broker", API_PORT="29880")
def test_a_password_the_broker_sets_for_itself_is_found_and_used(shape: tuple[Path, dict[str, str]]) -> None:
    project, env = shape
    inv(project, env, "up", "-s", "broker")
    cli = ["exec", "-T", "-e", "REDISCLI_AUTH=broker-dev-91ab", "broker", "redis-cli"]
    for key in ("ratelimit:a", "ratelimit:b", "session:c"):
        compose(project, env, *cli, "SET", key, "1")
    flushed = inv(project, env, "redis.flush-ratelimits")
    assert "deleted 2 keys matching 'ratelimit:*'" in flushed.stdout
    assert "broker-dev-91ab" not in flushed.stdout + flushed.stderr
    assert compose(project, env, *cli, "DBSIZE").strip() == "1"


@shaped("sidekiq", APP_PORT="29302")
def test_a_password_interpolated_into_the_redis_command_is_used(shape: tuple[Path, dict[str, str]]) -> None:
    project, env = shape
    made = inv(project, env, "env.init")
    assert "generated: SECRET_KEY_BASE, POSTGRES_PASSWORD, REDIS_PASSWORD" in made.stdout
    assert "fill in MAPBOX_API_KEY: From the Mapbox dashboard (Account > Tokens)." in made.stdout
    inv(project, env, "up", "-s", "redis")
    password = next(
        line.split("=", 1)[1]
        for line in (project / ".env").read_text().splitlines()
        if line.startswith("REDIS_PASSWORD=")
    )
    compose(
        project, env, "exec", "-T", "-e", f"REDISCLI_AUTH={password}", "redis", "redis-cli", "SET", "ratelimit:x", "1"
    )
    flushed = inv(project, env, "redis.flush-ratelimits")
    assert "deleted 1 keys matching 'ratelimit:*'" in flushed.stdout
    assert (project / "data" / "redis").is_dir()


@shaped("storefront")
def test_hard_coded_ports_that_are_taken_stop_up_with_a_hint_that_works_when_followed(
    shape: tuple[Path, dict[str, str]],
) -> None:
    project, env = shape
    probe = subprocess.run(["redis-cli", "-p", "6379", "ping"], capture_output=True, text=True)
    if probe.stdout.strip() != "PONG":
        pytest.fail("this test needs the host Redis on 6379 that scripts/setup --for-tests starts")
    with socket.socket() as holder:  # a second taken port: the database's
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("", 25432))
        holder.listen()
        result = run_inv(project, "up", env=env)
        assert result.returncode == 1
        assert "stacktasks: host ports already taken: " in result.stderr
        assert "25432 (postgres, docker-compose.yml:23)" in result.stderr
        assert "6379 (cache, docker-compose.yml:28)" in result.stderr
        assert compose(project, env, "ps", "-a", "-q").strip() == ""
        hint = next(line for line in result.stderr.splitlines() if line.startswith("hint: "))
        assert hint.startswith("hint: put this in compose.override.yaml (compose reads it unasked): services: ")
        (project / "compose.override.yaml").write_text(hint.split(": ", 2)[2] + "\n")
        inv(project, env, "up")
    published = compose(project, env, "port", "cache", "6379") + compose(project, env, "port", "postgres", "5432")
    assert ":16379" in published and ":35432" in published


@shaped("storefront")
def test_the_database_named_only_in_the_apps_url_is_the_one_backed_up(shape: tuple[Path, dict[str, str]]) -> None:
    project, env = shape
    inv(project, env, "up", "-s", "postgres")
    create = ["exec", "-T", "postgres", "psql", "-U", "storefront", "-d", "storefront", "-c"]
    name = env["INVOKE_STACKTASKS_PROJECT_NAME"]
    for _ in range(120):  # no healthcheck: up returns while Postgres initialises (and restarts once)
        argv = ["docker", "compose", "-p", name, *create, "create database storefront_development"]
        if subprocess.run(argv, cwd=project, capture_output=True).returncode == 0:
            break
        time.sleep(0.5)
    made = inv(project, env, "db.backup")
    assert "storefront_development-dev-" in made.stdout


@shaped("vector-api", API_PORT="29801", DB_PORT="29533")
def test_a_backup_right_after_up_waits_for_a_database_without_healthcheck(shape: tuple[Path, dict[str, str]]) -> None:
    project, env = shape
    inv(project, env, "up")
    made = inv(project, env, "db.backup")
    assert "accepts connections" in made.stderr
    assert "backup: backups/vectors-dev-" in made.stdout


@shaped("vector-api", API_PORT="29802", DB_PORT="29534")
def test_an_image_that_cannot_be_had_is_not_reported_as_failed_tests(shape: tuple[Path, dict[str, str]]) -> None:
    project, env = shape
    compose_file = project / "compose.yaml"
    compose_file.write_text(
        compose_file.read_text().replace("ghcr.io/example/vector-api:0.9", "ghcr.io/example/gone:1")
    )
    result = run_inv(project, "test", env=env)
    assert result.returncode == 1
    assert "service api could not start: its image ghcr.io/example/gone:1 is not on this engine" in result.stderr
    assert "tests failed" not in result.stderr


@shaped("vector-api", API_PORT="29804", DB_PORT="29536")
def test_a_dependencys_image_that_cannot_be_had_is_named_by_test_and_up(shape: tuple[Path, dict[str, str]]) -> None:
    project, env = shape
    compose_file = project / "compose.yaml"
    text = compose_file.read_text()
    db_image = next(line.split("image:", 1)[1].strip() for line in text.splitlines() if "image: pgvector" in line)
    compose_file.write_text(text.replace(db_image, "ghcr.io/example/gone-db:1"))
    for task in ("test", "up"):
        result = run_inv(project, task, env=env)
        assert result.returncode == 1, result.stderr
        assert "service db could not start: its image ghcr.io/example/gone-db:1 is not on this engine" in result.stderr
        assert "tests failed" not in result.stderr and "exited with" not in result.stderr.splitlines()[-2]


@shaped("nested-envs", DJANGO_PORT="29803")
def test_compose_file_from_the_env_file_and_credentials_from_nested_env_files(
    shape: tuple[Path, dict[str, str]],
) -> None:
    project, env = shape
    doctor = inv(project, env, "doctor", "--no-settings")
    assert "docker-compose.local.yml" in doctor.stdout
    assert "db role        postgres" in doctor.stdout
    inv(project, env, "up", "-s", "postgres")
    made = inv(project, env, "db.backup")
    assert "backup: backups/shop-dev-" in made.stdout
    assert "local-dev-only-3f9a" not in made.stdout + made.stderr
