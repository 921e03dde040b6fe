"""Where the database is: a compose service, or an external URL from the env files.

A ``DbTarget`` says which database, as whom, and how psycopg on this host reaches it; the
password is never printed (see its repr), and travels only in a child's environment (PGPASSWORD)
or psycopg's connection arguments.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ..errors import StackError, first_line

if TYPE_CHECKING:
    from ..project import Project

#: libpq parameters a URL's query may carry, and the environment variable of each.
LIBPQ_QUERY_ENV = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "channel_binding": "PGCHANNELBINDING",
    "options": "PGOPTIONS",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
    "connect_timeout": "PGCONNECT_TIMEOUT",
}
TRANSACTION_POOLER_PORT = 6543


@dataclass(frozen=True)
class DbTarget:
    """One database and how to reach it. ``password`` is never printed (see __repr__)."""

    kind: str  # "service" or "url"
    dbname: str
    user: str
    password: str | None = field(repr=False)
    host: str | None = None  # as psycopg on this host reaches it; None: not reachable yet
    port: int = 5432
    service: str | None = None
    libpq_options: dict[str, str] = field(default_factory=dict)
    url_variable: str | None = None
    transaction_pooler: bool = False

    def describe(self) -> str:
        if self.kind == "service":
            return f"database {self.dbname} in service {self.service}"
        return f"database {self.dbname} at {self.host}:{self.port} (from {self.url_variable})"

    def connect_args(self, dbname: str | None = None) -> dict[str, Any]:
        if self.host is None:
            raise StackError(f"{self.describe()} is not reachable from this host")
        args: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "dbname": dbname or self.dbname,
            "application_name": "stacktasks",
            "connect_timeout": 10,
            "client_encoding": "utf8",
        }
        if self.password is not None:
            args["password"] = self.password
        args.update(self.libpq_options)
        return args

    def client_env(self, dbname: str | None = None) -> dict[str, str]:
        """libpq variables for a client tool on this host (URL mode): secrets stay out of argv."""
        env = {
            "PGHOST": self.host or "",
            "PGPORT": str(self.port),
            "PGUSER": self.user,
            "PGDATABASE": dbname or self.dbname,
            "PGAPPNAME": "stacktasks",
        }
        if self.password is not None:
            env["PGPASSWORD"] = self.password
        for key, value in self.libpq_options.items():
            env[LIBPQ_QUERY_ENV[key]] = value
        return env

    def refuse_transaction_pooler(self, action: str) -> None:
        if self.transaction_pooler:
            raise StackError(
                f"{self.url_variable} points at a transaction pooler (port {self.port}): "
                f"{action} needs a session or direct connection",
                hint="put the session-mode or direct URL (port 5432) in DIRECT_URL in your env file "
                "(or name another variable with db.direct_url_env)",
            )


def parse_database_url(url: str, variable: str) -> DbTarget:
    """A postgres:// URL (a driver suffix such as +asyncpg is allowed) as a DbTarget."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+")[0]
    if scheme not in ("postgres", "postgresql"):
        raise StackError(f"{variable} is not a PostgreSQL URL (scheme {parts.scheme or 'missing'})")
    try:
        port = parts.port or 5432
    except ValueError:
        raise StackError(f"{variable} has an invalid port") from None
    user = unquote(parts.username) if parts.username else "postgres"
    query = dict(parse_qsl(parts.query))
    host = parts.hostname or "localhost"
    pooler = port == TRANSACTION_POOLER_PORT or query.get("pgbouncer", "").lower() == "true"
    return DbTarget(
        kind="url",
        dbname=unquote(parts.path.lstrip("/")) or user,
        user=user,
        password=unquote(parts.password) if parts.password is not None else None,
        host=host,
        port=port,
        libpq_options={k: v for k, v in query.items() if k in LIBPQ_QUERY_ENV},
        url_variable=variable,
        transaction_pooler=pooler,
    )


def resolve_target(project: Project) -> DbTarget:
    """The project's database: its compose service if it has one, else the URL in the env files."""
    settings = project.settings
    service = settings.db.service
    if not service and project.has_compose_files():
        service = project.role_service("db")
    if service:
        return _service_target(project, service)
    for variable in (settings.db.direct_url_env, settings.db.url_env):
        url = project.env.values.get(variable)
        if url:
            target = parse_database_url(url, variable)
            return _with_overrides(project, target)
    raise StackError(
        f"no database: the compose model has no Postgres service and {settings.db.url_env} is not set in the env files",
        hint="set db.service to the compose service, or put DATABASE_URL in your .env",
    )


def _with_overrides(project: Project, target: DbTarget) -> DbTarget:
    db = project.settings.db
    return replace(target, dbname=db.name or target.dbname, user=db.user or target.user)


def _service_target(project: Project, service: str) -> DbTarget:
    model = project.model()
    if service not in model.services:
        raise StackError(f"db.service is {service}, which the compose model does not have")
    environment = model.environment(service)
    # The app's URL names the same database when POSTGRES_* do not (custom images).
    url_user = url_db = None
    url = project.env.values.get(project.settings.db.url_env, "")
    if url:
        with contextlib.suppress(StackError):
            parsed = parse_database_url(url, project.settings.db.url_env)
            if parsed.host == service:
                url_user, url_db = parsed.user, parsed.dbname
    user = environment.get("POSTGRES_USER") or url_user or "postgres"
    password = environment.get("POSTGRES_PASSWORD") or None
    if password:
        project.env.masker.add(password)
    dbname = environment.get("POSTGRES_DB") or url_db or user
    port = int(environment.get("PGPORT") or 5432)
    address = None if project.runner.dry else project.compose().host_address(service, port)
    target = DbTarget(
        kind="service",
        dbname=dbname,
        user=user,
        password=password,
        host=address[0] if address else None,
        port=address[1] if address else port,
        service=service,
    )
    return _with_overrides(project, target)


def wait_until_ready(project: Project, target: DbTarget, timeout: int) -> DbTarget:
    """Block until the database accepts connections (the service may still be starting)."""
    import psycopg

    project.runner.note(f"wait until {target.describe()} accepts connections")
    if project.runner.dry:
        return target
    deadline = time.monotonic() + timeout
    while True:
        if target.host is None and target.kind == "service":
            target = resolve_target(project)
        if target.host is not None:
            try:
                psycopg.connect(**target.connect_args(), autocommit=True).close()
                return target
            except psycopg.OperationalError as error:
                last = first_line(str(error))
                if "password authentication failed" in last or "does not exist" in last:
                    raise StackError(f"cannot connect to {target.describe()}: {last}") from None
        if time.monotonic() > deadline:
            raise StackError(
                f"{target.describe()} did not accept connections within {timeout}s",
                hint="see its logs: inv logs -s " + (target.service or "db"),
            )
        time.sleep(0.5)
