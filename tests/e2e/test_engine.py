"""End-to-end: before anything destructive, the connection must reach the stack's own server.

The stack's PostgreSQL and Redis run under the real engine; this host runs another PostgreSQL and
another Redis (scripts/setup --for-tests). A connection that lands on those instead of the
services, as a remote engine's port read as this machine's would, is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from stacktasks.errors import StackError
from stacktasks.project import Project
from stacktasks.settings import resolve
from tests.helpers import copy_demo, engine_missing, require, started_stack

ENV = {"INVOKE_STACKTASKS_PROJECT_NAME": "stacktasks-e2e-engine"}
PORTS = {"APP_PORT": "29700", "DB_PORT": "29732", "REDIS_PORT": "29779"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: pytest.MonkeyPatch) -> Iterator[Project]:
    require(engine_missing())
    for key, value in ENV.items():
        monkeypatch_module.setenv(key, value)
    project = copy_demo(tmp_path_factory.mktemp("e2e-engine") / "demo", PORTS)
    with started_stack(project, ENV, "-s", "db,redis"):
        yield Project(resolve(project, flags={"project_name": ENV["INVOKE_STACKTASKS_PROJECT_NAME"]}))


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_the_services_own_redis_passes_and_another_on_this_host_is_refused(demo: Project) -> None:
    from stacktasks.redis.target import connect, prove_same_redis, resolve_redis

    target = resolve_redis(demo)
    assert target.service == "redis" and target.port == int(PORTS["REDIS_PORT"])
    with connect(target) as client:
        prove_same_redis(demo, target, client)  # the service's own: no complaint
    elsewhere = replace(target, host="127.0.0.1", port=6379, db=0)
    with connect(elsewhere) as client, pytest.raises(StackError, match="another server answers there"):
        prove_same_redis(demo, elsewhere, client)


def test_the_services_own_postgres_passes_and_another_on_this_host_is_refused(demo: Project) -> None:
    import psycopg

    from stacktasks.db.admin import connect
    from stacktasks.db.session import prove_same_server
    from stacktasks.db.target import resolve_target
    from tests import pg

    target = resolve_target(demo)
    with connect(target) as conn:
        prove_same_server(demo, target, conn)
    with psycopg.connect(pg.ADMIN_URL) as other, pytest.raises(StackError, match="another server answers there"):
        prove_same_server(demo, target, other)
