"""End-to-end: a stack whose passwords are all compose secrets (shape chat-secrets). Redis reads its
password in its own shell (``$(cat $REDIS_PASSWORD_FILE)``); stacktasks reads the same file, never
prints it, and where the login is refused says where it looked and what setting gives it."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.shapes import compose, inv, psql_in, restore_round_trip, shaped
from tests.helpers import run_inv

PASSWORD = "chat-redis-dev"


def redis_cli(project: Path, env: dict[str, str], *args: str) -> str:
    return compose(project, env, "exec", "-T", "-e", f"REDISCLI_AUTH={PASSWORD}", "redis", "redis-cli", *args)


@shaped("chat-secrets")
def test_a_password_the_redis_shell_reads_from_a_secret_file_is_read_from_that_file(
    shape: tuple[Path, dict[str, str]],
) -> None:
    project, env = shape
    inv(project, env, "up", "-s", "redis")
    for key in ("ratelimit:a", "ratelimit:b", "session:c"):
        redis_cli(project, env, "SET", key, "1")
    flushed = inv(project, env, "redis.flush-ratelimits")
    assert "deleted 2 keys matching 'ratelimit:*'" in flushed.stdout
    assert PASSWORD not in flushed.stdout + flushed.stderr
    assert redis_cli(project, env, "DBSIZE").strip() == "1"


@shaped("chat-secrets")
def test_a_refused_login_names_where_the_password_came_from_and_the_setting_that_gives_it(
    shape: tuple[Path, dict[str, str]],
) -> None:
    project, env = shape
    inv(project, env, "up", "-s", "redis")
    redis_cli(project, env, "SET", "ratelimit:a", "1")
    (project / "secrets" / "redis_password").write_text("rotated-but-not-restarted\n")
    refused = run_inv(project, "redis.flush-ratelimits", env=env)
    assert refused.returncode == 1, refused.stderr
    assert "the password came from --requirepass in service redis's command (the file /run/secrets/redis_password)" in (
        refused.stderr
    )
    assert "set redis.password_file" in refused.stderr
    assert "rotated-but-not-restarted" not in refused.stdout + refused.stderr
    (project / "old-redis-password").write_text(PASSWORD + "\n")
    given = {**env, "INVOKE_STACKTASKS_REDIS_PASSWORD_FILE": "old-redis-password"}
    flushed = inv(project, given, "redis.flush-ratelimits")
    assert "deleted 1 keys matching 'ratelimit:*'" in flushed.stdout
    assert PASSWORD not in flushed.stdout + flushed.stderr


@shaped("chat-secrets")
def test_a_database_password_in_a_secret_file_backs_up_and_restores(shape: tuple[Path, dict[str, str]]) -> None:
    project, env = shape
    inv(project, env, "up", "-s", "database")
    said = restore_round_trip(project, env, psql_in(project, env, "database", "chat", "chat"), rows=9)
    assert "chat-db-dev" not in said
