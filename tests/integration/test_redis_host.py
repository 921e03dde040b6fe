"""The redis namespace on a real Redis server on this host, driven through `inv`."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.helpers import INV, env_project, require, run_inv

HOST_URL = os.environ.get("STACKTASKS_TEST_REDIS_URL", "redis://127.0.0.1:6379")
DB, OTHER_DB = 11, 12

AWKWARD_MATCHING = [
    b"ratelimit:user 42",
    b'ratelimit:"quoted"',
    b"ratelimit:it's",
    b"ratelimit:line\nbreak",
    b"ratelimit:\xff\xfe-not-utf8",
    b"ratelimit:*literal-star",
    b"ratelimit:",
]
NOT_MATCHING = [b"ratelimits:x", b"xratelimit:1", b"RATELIMIT:1", b"session:ratelimit:1", b"other key\n"]


def server_missing() -> str | None:
    try:
        redis.Redis.from_url(HOST_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        return f"no Redis at {HOST_URL} ({error}); scripts/setup --for-tests starts one"
    return None


@pytest.fixture()
def server() -> Iterator[tuple[redis.Redis, redis.Redis]]:
    require(server_missing())
    main = redis.Redis.from_url(f"{HOST_URL}/{DB}")
    other = redis.Redis.from_url(f"{HOST_URL}/{OTHER_DB}")
    main.flushdb()
    other.flushdb()
    yield main, other
    main.flushdb()
    other.flushdb()


def project_for(root: Path, url: str, pyproject: str = "") -> Path:
    return env_project(root, {"REDIS_URL": url}, pyproject)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    return project_for(tmp_path / "p", f"{HOST_URL}/{DB}")


def fill(client: redis.Redis, keys: list[bytes]) -> None:
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.set(key, b"1")
    pipe.execute()


def test_only_matching_keys_go_whatever_their_bytes(server: tuple[redis.Redis, redis.Redis], project: Path) -> None:
    main, other = server
    plain = [f"ratelimit:ip:{i}".encode() for i in range(5000)]
    fill(main, plain + AWKWARD_MATCHING + NOT_MATCHING)
    fill(other, plain[:10])
    result = run_inv(project, "redis.flush-ratelimits")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"deleted {len(plain) + len(AWKWARD_MATCHING)} keys matching 'ratelimit:*'\n"
    assert set(main.scan_iter(count=1000)) == set(NOT_MATCHING)  # a set: SCAN may repeat a key
    assert other.dbsize() == 10  # another logical database is never touched


def test_keys_written_during_the_flush_that_do_not_match_are_untouched(
    server: tuple[redis.Redis, redis.Redis],
    project: Path,
) -> None:
    main, _ = server
    for start in range(0, 200_000, 20_000):
        fill(main, [f"ratelimit:{i}".encode() for i in range(start, start + 20_000)])
    written: list[bytes] = []
    stop = threading.Event()

    def write_while_flushing() -> None:
        writer = redis.Redis.from_url(f"{HOST_URL}/{DB}")
        while not stop.is_set():
            key = f"session:{len(written)}".encode()
            writer.set(key, b"x")
            written.append(key)

    thread = threading.Thread(target=write_while_flushing)
    thread.start()
    try:
        result = run_inv(project, "redis.flush-ratelimits")
    finally:
        stop.set()
        thread.join()
    assert result.returncode == 0, result.stderr
    assert len(written) > 100  # the writer really ran during the flush
    assert main.exists(*written) == len(written)
    assert not list(main.scan_iter(match=b"ratelimit:*", count=1000))


def test_a_pattern_matching_nothing_deletes_zero_and_succeeds(
    server: tuple[redis.Redis, redis.Redis],
    project: Path,
) -> None:
    main, _ = server
    fill(main, NOT_MATCHING)
    result = run_inv(project, "redis.flush-ratelimits", "--pattern", "nothing:*")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "deleted 0 keys matching 'nothing:*'\n"
    assert main.dbsize() == len(NOT_MATCHING)


def test_several_patterns_from_flags_replace_the_configured_ones(
    server: tuple[redis.Redis, redis.Redis],
    project: Path,
) -> None:
    main, _ = server
    fill(main, [b"a:1", b"a:2", b"b:1", b"ratelimit:1"])
    result = run_inv(project, "redis.flush-ratelimits", "--pattern", "a:*", "--pattern", "b:*")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "deleted 2 keys matching 'a:*'\ndeleted 1 keys matching 'b:*'\n"
    assert set(main.scan_iter()) == {b"ratelimit:1"}


def test_a_pattern_with_invalid_utf8_matches_those_bytes(
    server: tuple[redis.Redis, redis.Redis],
    project: Path,
) -> None:
    main, _ = server
    fill(main, [b"rl:\xff:1", b"rl:\xfe:1"])
    result = subprocess.run(
        [INV.encode(), b"redis.flush-ratelimits", b"--pattern", b"rl:\xff:*"],
        cwd=project,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    assert set(main.scan_iter()) == {b"rl:\xfe:1"}


def test_dry_run_counts_and_shows_samples_but_deletes_nothing(
    server: tuple[redis.Redis, redis.Redis],
    project: Path,
) -> None:
    main, _ = server
    fill(main, AWKWARD_MATCHING + NOT_MATCHING)
    result = run_inv(project, "redis.flush-ratelimits", "--dry-run")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"{len(AWKWARD_MATCHING)} keys match 'ratelimit:*' (dry run: nothing deleted)"
    assert "  ratelimit:line\\x0abreak" in lines
    assert len(lines) == 1 + 5
    assert main.dbsize() == len(AWKWARD_MATCHING) + len(NOT_MATCHING)


def test_invokes_dry_flag_also_deletes_nothing(server: tuple[redis.Redis, redis.Redis], project: Path) -> None:
    main, _ = server
    fill(main, AWKWARD_MATCHING)
    result = run_inv(project, "--dry", "redis.flush-ratelimits")
    assert result.returncode == 0, result.stderr
    assert main.dbsize() == len(AWKWARD_MATCHING)


def test_count_counts_each_matching_key_once(server: tuple[redis.Redis, redis.Redis], project: Path) -> None:
    main, _ = server
    fill(main, [f"session:{i}".encode() for i in range(3000)] + [b"ratelimit:1"])
    result = run_inv(project, "redis.count", "session:*")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "3000 keys match 'session:*'"


def test_an_unreachable_redis_is_a_clear_error_with_the_password_masked(tmp_path: Path) -> None:
    project = project_for(tmp_path / "p", "redis://:Sup3r-Secret-Pw@127.0.0.1:1/0")
    result = run_inv(project, "redis.flush-ratelimits")
    assert result.returncode == 1
    assert "cannot reach Redis at redis://:***@127.0.0.1:1/0 (from REDIS_URL)" in result.stderr
    assert "Sup3r-Secret-Pw" not in result.stdout + result.stderr


def test_a_protected_stage_refuses_without_a_terminal_or_yes(
    server: tuple[redis.Redis, redis.Redis],
    tmp_path: Path,
) -> None:
    main, _ = server
    fill(main, AWKWARD_MATCHING)
    project = project_for(tmp_path / "p", f"{HOST_URL}/{DB}", pyproject='[tool.stacktasks]\nstage = "prod"\n')
    refused = run_inv(project, "redis.flush-ratelimits")
    assert refused.returncode == 3
    assert "pass --yes" in refused.stderr
    assert main.dbsize() == len(AWKWARD_MATCHING)
    confirmed = run_inv(project, "redis.flush-ratelimits", "--yes")
    assert confirmed.returncode == 0, confirmed.stderr
    assert main.dbsize() == 0


def test_a_dev_stage_flushes_rate_limits_without_asking(server: tuple[redis.Redis, redis.Redis], project: Path) -> None:
    main, _ = server
    fill(main, AWKWARD_MATCHING)
    assert run_inv(project, "redis.flush-ratelimits").returncode == 0  # no terminal, no --yes: fine on dev
    assert main.dbsize() == 0


@pytest.mark.parametrize("pattern", ["*", "**", "?*"])
def test_a_pattern_that_matches_every_key_is_asked_as_a_flush_even_on_dev(
    server: tuple[redis.Redis, redis.Redis], project: Path, pattern: str
) -> None:
    main, _ = server
    fill(main, NOT_MATCHING)
    refused = run_inv(project, "redis.flush-ratelimits", "--pattern", pattern)
    assert refused.returncode == 3, refused.stderr
    assert "delete every key" in refused.stderr
    assert main.dbsize() == len(NOT_MATCHING)
    done = run_inv(project, "redis.flush-ratelimits", "--pattern", pattern, "--yes")
    assert done.returncode == 0, done.stderr
    assert main.dbsize() == 0


def test_flush_empties_only_the_configured_database_and_asks_first(
    server: tuple[redis.Redis, redis.Redis],
    project: Path,
) -> None:
    main, other = server
    fill(main, NOT_MATCHING)
    fill(other, NOT_MATCHING)
    refused = run_inv(project, "redis.flush")
    assert refused.returncode == 3
    assert main.dbsize() == len(NOT_MATCHING)
    done = run_inv(project, "redis.flush", "--yes")
    assert done.returncode == 0, done.stderr
    assert main.dbsize() == 0
    assert other.dbsize() == len(NOT_MATCHING)


def test_cli_runs_a_redis_cli_command_on_the_configured_database(
    server: tuple[redis.Redis, redis.Redis],
    project: Path,
) -> None:
    main, _ = server
    fill(main, [b"a", b"b", b"c"])
    result = run_inv(project, "redis.cli", "--", "dbsize")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3"


def test_without_hiredis_redis_pys_own_encoding_deletes_the_same_keys(
    server: tuple[redis.Redis, redis.Redis],
) -> None:
    from stacktasks.redis.flush import redis_py_packer, unlink_matching

    main, _ = server
    fill(main, [*AWKWARD_MATCHING, *NOT_MATCHING, *(f"ratelimit:{i}".encode() for i in range(20_000))])
    deleted = unlink_matching(main, b"ratelimit:*", pack=redis_py_packer(main))
    left = sorted(set(main.scan_iter()) - set(NOT_MATCHING))
    assert (deleted, left) == (20_000 + len(AWKWARD_MATCHING), [])


def test_a_query_db_url_flushes_that_database_and_only_it(
    server: tuple[redis.Redis, redis.Redis], tmp_path: Path
) -> None:
    main, other = server
    main.set(b"a", b"1")
    other.set(b"b", b"1")
    project = project_for(tmp_path / "q", f"{HOST_URL}?db={DB}")  # redis-py reads ?db=, and so do we
    result = run_inv(project, "redis.flush", "--yes")
    assert result.returncode == 0, result.stderr
    assert f"/{DB}" in result.stdout
    assert main.dbsize() == 0 and other.dbsize() == 1


def test_rediss_against_a_server_without_tls_fails_fast_with_a_hint(tmp_path: Path) -> None:
    require(server_missing())
    project = project_for(tmp_path / "t", HOST_URL.replace("redis://", "rediss://") + "/0")
    started = time.monotonic()
    result = run_inv(project, "redis.count", "x*", timeout=60)
    assert time.monotonic() - started < 20
    assert result.returncode == 1
    assert "rediss:// needs a server that speaks TLS" in result.stderr
