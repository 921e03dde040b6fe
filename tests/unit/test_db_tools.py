"""Where the client tools run; secrets kept out of argv."""

from __future__ import annotations

from pathlib import Path

from stacktasks.compose.client import Compose
from stacktasks.compose.version import ComposeVersion
from stacktasks.db.target import DbTarget, parse_database_url
from stacktasks.db.tools import PgClient
from stacktasks.runner import Runner
from stacktasks.settings import Settings


def test_the_password_never_reaches_argv_in_any_client_mode() -> None:
    target = DbTarget(kind="service", dbname="app", user="app", password="s3cret-pw", service="db")
    compose = Compose(
        Settings(root=Path(".")), Runner(env={}, cwd=Path(".")), ComposeVersion(("docker", "compose"), (2, 30), "2.30")
    )
    in_service = PgClient(target, "service", compose)
    argv = in_service.argv("pg_dump", ["-Fc"])
    assert argv == [
        "docker",
        "compose",
        "exec",
        "-T",
        "-e",
        "PGPASSWORD",
        "db",
        "pg_dump",
        "-U",
        "app",
        "-d",
        "app",
        "-Fc",
    ]
    assert in_service.env() == {"PGPASSWORD": "s3cret-pw"}
    url_target = parse_database_url("postgresql://app:s3cret-pw@127.0.0.1:5432/app", "DATABASE_URL")
    for client in (PgClient(url_target, "host"), PgClient(url_target, "container", image="postgres:16")):
        assert not any("s3cret-pw" in part for part in client.argv("pg_dump", ["-Fc"], stdin=True))
        assert client.env()["PGPASSWORD"] == "s3cret-pw"


def test_a_throwaway_client_container_passes_libpq_variables_by_name_only() -> None:
    target = parse_database_url("postgresql://app:pw@127.0.0.1:5432/app", "DATABASE_URL")
    argv = PgClient(target, "container", image="postgres:17").argv("pg_restore", ["/d"], mounts={"/h/x.dump": "/d"})
    assert argv[:4] == ["docker", "run", "--rm", "--network"]
    assert "-e" in argv and "PGPASSWORD" in argv
    assert "/h/x.dump:/d:ro" in argv
    assert argv[argv.index("--entrypoint") + 1] == "pg_restore"
    assert argv[argv.index("postgres:17") + 1 :] == ["-d", "app", "/d"]
