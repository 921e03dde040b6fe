"""End-to-end: the redis namespace on the demo stack's redis service, under a real engine.

The demo's REDIS_URL names the service (redis://redis:6379/0), which this host cannot resolve:
with the port published it is translated to it; with no port published the same SCAN + UNLINK
work runs inside the service. Both paths, in file order, on one stack (only its redis service).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.helpers import copy_demo, engine_missing, require, run_inv, started_stack

PROJECT = "stacktasks-e2e-redis"
PORT = "30379"
ENV = {"INVOKE_STACKTASKS_PROJECT_NAME": PROJECT}
NO_PORTS = {**ENV, "INVOKE_STACKTASKS_COMPOSE_FILES": "compose.yaml,compose.noports.yaml"}
AWKWARD = [b"ratelimit:user 42", b'ratelimit:"q"', b"ratelimit:line\nbreak", b"ratelimit:\xff\xfe"]
KEPT = [b"session:1", b"ratelimits:x", b"cache:ratelimit:1"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require(engine_missing())
    project = copy_demo(tmp_path_factory.mktemp("e2e-redis") / "demo", {"REDIS_PORT": PORT})
    (project / "compose.noports.yaml").write_text("services:\n  redis:\n    ports: !reset []\n")
    with started_stack(project, ENV, "-s", "redis"):
        yield project


def redis_cli(project: Path, script: str) -> str:
    """Commands for redis-cli inside the service, one per line (redis-cli parses \\xNN in quotes)."""
    result = subprocess.run(
        ["docker", "compose", "-p", PROJECT, "exec", "-T", "redis", "redis-cli"],
        cwd=project,
        input=script,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def test_a_service_url_is_translated_to_the_published_port(demo: Path) -> None:
    client = redis.Redis(host="127.0.0.1", port=int(PORT))
    client.flushdb()
    client.mset({key: b"1" for key in AWKWARD + KEPT + [f"ratelimit:{i}".encode() for i in range(2000)]})
    result = run_inv(demo, "redis.flush-ratelimits", env=ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"deleted {2000 + len(AWKWARD)} keys matching 'ratelimit:*'\n"
    assert "exec" not in result.stderr  # worked from this host, through the published port
    assert set(client.scan_iter()) == set(KEPT)  # a set: SCAN may repeat a key


def test_without_a_published_port_the_work_runs_inside_the_service(demo: Path) -> None:
    up = run_inv(demo, "up", "-s", "redis", env=NO_PORTS)
    assert up.returncode == 0, up.stderr
    published = subprocess.run(
        ["docker", "compose", "-p", PROJECT, "port", "redis", "6379"], cwd=demo, capture_output=True, text=True
    )
    assert published.stdout.strip() in ("", ":0")  # nothing published now
    redis_cli(
        demo,
        "FLUSHDB\n"
        + "".join(f"SET ratelimit:n{i} 1\n" for i in range(3000))
        + 'SET "ratelimit:user 42" 1\nSET "ratelimit:line\\nbreak" 1\nSET "ratelimit:\\xff\\xfe" 1\n'
        + "SET session:1 1\nSET ratelimits:x 1\nSELECT 1\nSET ratelimit:other-db 1\n",
    )
    dry = run_inv(demo, "redis.flush-ratelimits", "--dry-run", env=NO_PORTS)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines()[0] == "3003 keys match 'ratelimit:*' (dry run: nothing deleted)"
    result = run_inv(demo, "redis.flush-ratelimits", env=NO_PORTS)
    assert result.returncode == 0, result.stderr
    assert "inside service redis" in result.stderr
    assert result.stdout == "deleted 3003 keys matching 'ratelimit:*'\n"
    assert sorted(redis_cli(demo, "SCAN 0 COUNT 10000\n").split()[1:]) == ["ratelimits:x", "session:1"]
    assert redis_cli(demo, "SELECT 1\nEXISTS ratelimit:other-db\n").split()[-1] == "1"


def test_count_and_cli_work_inside_the_service_too(demo: Path) -> None:
    redis_cli(demo, "SET session:2 1\n")
    count = run_inv(demo, "redis.count", "session:*", env=NO_PORTS)
    assert count.returncode == 0, count.stderr
    assert count.stdout.splitlines()[0] == "2 keys match 'session:*'"
    cli = run_inv(demo, "redis.cli", "--", "dbsize", env=NO_PORTS)
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.strip() == "3"
