"""Reaching Redis: URLs, what is printed of them, and secrets kept out of argv."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacktasks.compose.client import Compose
from stacktasks.compose.version import ComposeVersion
from stacktasks.errors import StackError
from stacktasks.redis.flush import parse_redis_url, pattern_bytes, show_key
from stacktasks.runner import Runner
from stacktasks.settings import Settings
from tests.recording import RecordingRunner
from tests.unit.flows import project_on


def test_a_redis_url_gives_host_port_database_and_password() -> None:
    target = parse_redis_url("redis://:p%40ss@redis:6380/4", "REDIS_URL")
    assert (target.host, target.port, target.db, target.password) == ("redis", 6380, 4, "p@ss")


def test_defaults_are_port_6379_and_database_0() -> None:
    target = parse_redis_url("redis://cache", "REDIS_URL")
    assert (target.port, target.db, target.password) == (6379, 0, None)


def test_what_is_printed_of_a_target_masks_its_password() -> None:
    target = parse_redis_url("rediss://app:hunter2-secret@cache.example.com:6380/1", "REDIS_URL")
    assert target.display() == "rediss://app:***@cache.example.com:6380/1"
    assert "hunter2" not in repr(target)


@pytest.mark.parametrize("url", ["http://redis:6379", "redis://redis:6379/cache"])
def test_a_url_that_is_not_a_numbered_redis_database_is_refused(url: str) -> None:
    with pytest.raises(StackError):
        parse_redis_url(url, "REDIS_URL")


def test_keys_of_any_bytes_print_on_one_line() -> None:
    assert show_key(b'ratelimit:a b\n"q"\xff\\') == 'ratelimit:a b\\x0a"q"\\xff\\x5c'


def test_a_pattern_typed_with_invalid_utf8_matches_those_exact_bytes() -> None:
    typed = b"ratelimit:\xff*".decode("utf-8", "surrogateescape")  # as Python gets it from argv
    assert pattern_bytes(typed) == b"ratelimit:\xff*"


def _compose(version: str) -> Compose:
    runner = Runner(env={}, cwd=Settings().root)
    parsed = tuple(int(part) for part in version.split("."))
    command = ("docker", "compose") if parsed[0] == 2 else ("docker-compose",)
    return Compose(Settings(), runner, ComposeVersion(command, parsed, version))


def test_a_secret_reaches_exec_by_name_only() -> None:
    argv = _compose("2.40.3").exec_args("redis", ["redis-cli"], pass_env=["REDISCLI_AUTH"])
    assert argv == ["exec", "-T", "-e", "REDISCLI_AUTH", "redis", "redis-cli"]


def test_compose_v1_refuses_rather_than_put_a_secret_in_argv() -> None:
    with pytest.raises(StackError, match="cannot pass a secret"):
        _compose("1.29.2").exec_args("redis", ["redis-cli"], pass_env=["REDISCLI_AUTH"])


def test_flushing_a_protected_stage_without_yes_runs_nothing(tmp_path: Path, recorder: RecordingRunner) -> None:
    from stacktasks.redis.flush import flush_ratelimits

    recorder.answer("ps", "--services", stdout="redis\n")  # running, no published port: work inside it
    recorder.answer("compose", "port", code=1)
    project = project_on(tmp_path, recorder, pyproject='[tool.stacktasks]\nstage = "prod"\n')
    with pytest.raises(StackError, match="refusing to delete keys matching ratelimit:\\*"):
        flush_ratelimits(project, [])
    assert recorder.ran == []


def test_flushdb_inside_the_service_passes_the_password_by_name(tmp_path: Path, recorder: RecordingRunner) -> None:
    from stacktasks.redis.flush import flush_logical_database

    (tmp_path / ".env").write_text("REDIS_URL=redis://:Very-Secret-9@redis:6379/2\n")
    recorder.answer("ps", "--services", stdout="redis\n")
    recorder.answer("compose", "port", code=1)
    recorder.answer("compose", "exec", "FLUSHDB")
    flush_logical_database(project_on(tmp_path, recorder, yes=True))
    assert recorder.ran == [
        ["docker", "compose", "exec", "-T", "-e", "REDISCLI_AUTH", "redis", "redis-cli", "-n", "2", "FLUSHDB", "ASYNC"]
    ]


def test_the_database_in_a_query_is_the_one_redis_py_would_use() -> None:
    assert parse_redis_url("redis://host:6379?db=2", "REDIS_URL").db == 2


def test_a_unix_socket_url_is_read_with_its_database() -> None:
    target = parse_redis_url("unix:///run/redis/redis.sock?db=3", "REDIS_URL")
    assert (target.socket, target.db) == ("/run/redis/redis.sock", 3)
    assert target.display() == "unix:///run/redis/redis.sock?db=3"
