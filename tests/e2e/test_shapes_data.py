"""End-to-end: the data services of shapes unlike the seeds, worked on with no settings (or the
one a hint names): Valkey without a port in a non-zero database, PostgreSQL beside ClickHouse,
services from an included file with ports from an override, a variables file."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.shapes import compose, inv, psql_in, restore_round_trip, shaped


@shaped("tracker-valkey", PROXY_PORT="29290")
def test_valkey_without_a_published_port_is_flushed_in_the_database_the_url_names(
    shape: tuple[Path, dict[str, str]],
) -> None:
    project, env = shape
    inv(project, env, "env.init")
    inv(project, env, "up", "-s", "valkey")
    for db, key in (("2", "ratelimit:a"), ("2", "session:b"), ("0", "ratelimit:c")):
        compose(project, env, "exec", "-T", "valkey", "redis-cli", "-n", db, "SET", key, "1")
    flushed = inv(project, env, "redis.flush-ratelimits")
    assert "deleted 1 keys matching 'ratelimit:*'" in flushed.stdout
    assert compose(project, env, "exec", "-T", "valkey", "redis-cli", "-n", "0", "EXISTS", "ratelimit:c").strip() == "1"


@shaped("telemetry-clickhouse", WEB_PORT="29291", REDIS_PORT="29292")
def test_the_metadata_database_beside_clickhouse_is_backed_up_and_restored(shape: tuple[Path, dict[str, str]]) -> None:
    project, env = shape
    inv(project, env, "up", "-s", "metadata")
    said = restore_round_trip(project, env, psql_in(project, env, "metadata", "telemetry", "telemetry"), rows=2)
    assert "into telemetry" in said


@shaped("telemetry-clickhouse", WEB_PORT="29293", REDIS_PORT="29294")
def test_redis_published_on_loopback_is_reached_there_and_proven_the_stacks(shape: tuple[Path, dict[str, str]]) -> None:
    project, env = shape
    inv(project, env, "up", "-s", "redis")
    compose(project, env, "exec", "-T", "redis", "redis-cli", "SET", "ratelimit:x", "1")
    compose(project, env, "exec", "-T", "redis", "redis-cli", "SET", "session:y", "1")
    flushed = inv(project, env, "redis.flush-ratelimits")
    assert "deleted 1 keys matching 'ratelimit:*'" in flushed.stdout
    assert compose(project, env, "exec", "-T", "redis", "redis-cli", "KEYS", "*").split() == ["session:y"]
    doctor = inv(project, env, "doctor", "--no-settings")
    assert "route to redis" in doctor.stdout and "29294" in doctor.stdout


@shaped("fitness-include", NGINX_PORT="29295", DB_PORT="29296")
def test_a_database_from_an_included_file_is_backed_up_with_the_password_env_init_made(
    shape: tuple[Path, dict[str, str]],
) -> None:
    project, env = shape
    made = inv(project, env, "env.init")
    assert "fill in DROPBOX_APP_KEY: From the Dropbox App Console (Settings > App key)" in made.stdout
    inv(project, env, "up", "-s", "db")
    psql = ["exec", "-T", "db", "psql", "-U", "fitness", "-d", "fitness", "-c"]
    compose(project, env, *psql, "create table workouts (id int); insert into workouts values (1), (2), (3)")
    backup = inv(project, env, "db.backup")
    assert "backup: backups/fitness-dev-" in backup.stdout
    password = next(
        line.split("=", 1)[1]
        for line in (project / ".env").read_text().splitlines()
        if line.startswith("POSTGRES_PASSWORD=")
    )
    assert password not in backup.stdout + backup.stderr


@shaped("planner-queues")
def test_a_stack_run_with_a_variables_file_works_once_env_files_names_it(shape: tuple[Path, dict[str, str]]) -> None:
    project, env = shape
    (project / "pyproject.toml").write_text('[tool.stacktasks]\nenv_files = ["variables.env"]\n')
    env = {**env, "LISTEN_HTTP_PORT": "29297"}
    up = inv(project, env, "up", "-s", "planner-db")
    assert "variable is not set" not in up.stderr
    backup = inv(project, env, "db.backup")  # no healthcheck: the backup waits for the server
    assert "backup: backups/planner-dev-" in backup.stdout
    assert "variable is not set" not in backup.stderr and "planner-dev-2c1f" not in backup.stdout + backup.stderr
