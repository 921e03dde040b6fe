"""Reaching the database: URLs, poolers, where the client tools run, secrets kept out of argv."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacktasks.errors import StackError
from stacktasks.migrations import makemigrations_command, migrate_command
from stacktasks.postgres import DbTarget, PgClient, aside_name, parse_database_url
from stacktasks.settings import Settings


def test_a_driver_suffixed_url_is_read_with_its_escaped_password() -> None:
    target = parse_database_url("postgresql+asyncpg://app:p%40ss%2Fword@db.example.com:5433/shop", "DATABASE_URL")
    assert (target.user, target.password, target.host, target.port, target.dbname) == (
        "app", "p@ss/word", "db.example.com", 5433, "shop",
    )


def test_libpq_options_in_the_query_are_kept_and_others_dropped() -> None:
    target = parse_database_url("postgres://u:p@h/d?sslmode=require&connection_limit=1", "DATABASE_URL")
    assert target.libpq_options == {"sslmode": "require"}
    assert target.client_env()["PGSSLMODE"] == "require"


def test_a_non_postgres_url_is_refused() -> None:
    with pytest.raises(StackError, match="not a PostgreSQL URL"):
        parse_database_url("mysql://u:p@h/d", "DATABASE_URL")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres.abc:secret@aws-0-eu-west-1.pooler.supabase.com:6543/postgres",
        "postgresql://u:secret@pgbouncer.internal:5432/app?pgbouncer=true",
    ],
)
def test_a_transaction_pooler_is_refused_for_dumps_with_the_way_out(url: str) -> None:
    target = parse_database_url(url, "DATABASE_URL")
    with pytest.raises(StackError) as caught:
        target.refuse_transaction_pooler("backup")
    assert "transaction pooler" in caught.value.message
    assert "DIRECT_URL" in (caught.value.hint or "")
    assert "secret" not in str(caught.value)


def test_a_session_pooler_url_is_accepted() -> None:
    target = parse_database_url("postgresql://u:p@aws-0-eu-west-1.pooler.supabase.com:5432/postgres", "DIRECT_URL")
    target.refuse_transaction_pooler("backup")  # no error: session mode keeps one backend per client
    assert not target.transaction_pooler


def test_the_password_never_reaches_argv_in_any_client_mode() -> None:
    target = DbTarget(kind="service", dbname="app", user="app", password="s3cret-pw", service="db")
    in_service = PgClient(target, "service", ["docker", "compose"])
    argv = in_service.argv("pg_dump", ["-Fc"])
    assert argv == [
        "docker", "compose", "exec", "-T", "-e", "PGPASSWORD", "db", "pg_dump", "-U", "app", "-d", "app", "-Fc",
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
    assert argv[argv.index("postgres:17") + 1:] == ["-d", "app", "/d"]


def test_aside_names_fit_the_63_byte_identifier_limit() -> None:
    long = "x" * 63
    assert len(aside_name(long, "__restoring").encode()) == 63
    assert aside_name("app", "__undo") == "app__undo"


def _settings(tmp_path: Path, **app: object) -> Settings:
    settings = Settings(root=tmp_path)
    for key, value in app.items():
        setattr(settings.app, key, value)
    return settings


def test_migrate_is_django_when_the_project_has_manage_py(tmp_path: Path) -> None:
    (tmp_path / "backend").mkdir()
    (tmp_path / "backend" / "manage.py").write_text("")
    settings = _settings(tmp_path, prefix=["uv", "run"])
    assert migrate_command(settings, []) == ["uv", "run", "python", "manage.py", "migrate"]


def test_migrate_is_alembic_upgrade_head_and_takes_a_revision(tmp_path: Path) -> None:
    (tmp_path / "alembic.ini").write_text("")
    assert migrate_command(_settings(tmp_path), []) == ["alembic", "upgrade", "head"]
    assert migrate_command(_settings(tmp_path), ["+1"]) == ["alembic", "upgrade", "+1"]


def test_a_configured_migrate_command_wins_over_detection(tmp_path: Path) -> None:
    (tmp_path / "manage.py").write_text("")
    settings = _settings(tmp_path, migrate="npm run migrate")
    assert migrate_command(settings, []) == ["npm", "run", "migrate"]


def test_no_migration_tool_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="no migration tool found"):
        migrate_command(_settings(tmp_path), [])


def test_alembic_makemigrations_needs_a_message(tmp_path: Path) -> None:
    (tmp_path / "alembic.ini").write_text("")
    with pytest.raises(StackError, match="needs a message"):
        makemigrations_command(_settings(tmp_path), "", [])
    assert makemigrations_command(_settings(tmp_path), "add users", []) == [
        "alembic", "revision", "--autogenerate", "-m", "add users",
    ]
