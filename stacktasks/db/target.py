"""Where the database is: a compose service, or an external URL from the env files.

A ``DbTarget`` says which database, as whom, and how psycopg on this host reaches it; the
password is never printed (see its repr), and travels only in a child's environment (PGPASSWORD)
or psycopg's connection arguments.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, urlsplit

from ..env.secrets import file_convention
from ..errors import StackError, first_line

if TYPE_CHECKING:
    from ..placement import Placement
    from ..project import Project

TRANSACTION_POOLER_PORT = 6543


#: The stack's own db service, or a server a URL names.
TargetKind = Literal["service", "url"]


@dataclass(frozen=True)
class DbTarget:
    """One database and how to reach it. ``password`` is never printed (see __repr__)."""

    kind: TargetKind
    dbname: str
    user: str
    password: str | None = field(repr=False)
    host: str | None = None  # as psycopg on this host reaches it (libpq's form); None: not reachable yet
    port: int | str = 5432  # a str for several hosts: "5432,5433"
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
            hint = f"is it running? inv up -s {self.service}" if self.service else None
            raise StackError(f"{self.describe()} is not reachable from this host", hint=hint)
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
        variables = libpq_variables()
        for key, value in self.libpq_options.items():
            if key in variables:
                env[variables[key]] = value
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
    """A postgres:// URL as libpq reads it (psycopg's own parser): ``?host=/var/run/postgresql``,
    several hosts, every libpq option. A driver suffix (``+asyncpg``) and parameters that are an
    app's or a pooler's, not libpq's (``pgbouncer``, ``schema``), are left aside."""
    from urllib.parse import urlencode

    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    from ..env.files import refuse_unencoded_userinfo

    parts = urlsplit(url)
    scheme = parts.scheme.split("+")[0]
    if scheme not in ("postgres", "postgresql"):
        raise StackError(f"{variable} is not a PostgreSQL URL (scheme {parts.scheme or 'missing'})")
    refuse_unencoded_userinfo(url, variable)
    query = parse_qsl(parts.query, keep_blank_values=True)
    known = libpq_keywords()
    kept = urlencode([(key, value) for key, value in query if key in known])
    try:
        params = conninfo_to_dict(f"{scheme}://{parts.netloc}{parts.path}" + (f"?{kept}" if kept else ""))
    except psycopg.ProgrammingError as error:
        raise StackError(f"{variable} is not a URL libpq can read: {first_line(str(error))}") from None
    user = str(params.pop("user", "") or "postgres")
    password = params.pop("password", None)
    host = str(params.pop("host", "") or "localhost")
    port = str(params.pop("port", "") or "5432")
    dbname = str(params.pop("dbname", "") or user)
    ports = port.split(",")
    pooler = str(TRANSACTION_POOLER_PORT) in ports or dict(query).get("pgbouncer", "").lower() == "true"
    return DbTarget(
        kind="url",
        dbname=dbname,
        user=user,
        password=None if password is None else str(password),
        host=host,
        port=int(port) if port.isdigit() else port,
        libpq_options={key: str(value) for key, value in params.items() if value is not None},
        url_variable=variable,
        transaction_pooler=pooler,
    )


def libpq_keywords() -> frozenset[str]:
    """Every connection parameter this libpq knows."""
    from psycopg import pq

    return frozenset(option.keyword.decode() for option in pq.Conninfo.get_defaults())


def libpq_variables() -> dict[str, str]:
    """Connection parameter -> the environment variable libpq reads it from (sslmode -> PGSSLMODE)."""
    from psycopg import pq

    return {o.keyword.decode(): o.envvar.decode() for o in pq.Conninfo.get_defaults() if o.envvar}


def resolve_target(project: Project) -> DbTarget:
    """The project's database: the compose service or the URL in the env files, by the one rule
    of placement.py (the URL is the service only where it reaches it; a conflict is not guessed)."""
    service, url_target, placement = choose_database(project)
    if placement is not None and (placement.use == "url" or url_target is not None):
        project.runner.note_once(f"database: {placement.why}")
    if placement is not None and placement.use == "url" and url_target is not None:
        return _with_overrides(project, url_target)
    if service:
        return _service_target(project, service)
    if url_target is not None:
        return _with_overrides(project, url_target)
    raise StackError(
        f"no database: the compose model has no Postgres service and {project.settings.db.url_env} is not set "
        "in the env files",
        hint="set db.service to the compose service, or put DATABASE_URL in your .env",
    )


def choose_database(project: Project) -> tuple[str | None, DbTarget | None, Placement | None]:
    """The db service, the URL from the env files (DIRECT_URL first), and which of the two the
    tasks use where both are there (placement.py); an error where they differ and nobody chose."""
    from ..placement import UrlAim, place

    settings = project.settings
    if project.has_compose_files():
        project.compose().read_model_ahead()  # compose answers while the URL is read (psycopg loads)
    url_target = None
    for variable in (settings.db.direct_url_env, settings.db.url_env):
        url = project.env.values.get(variable)
        if url:
            url_target = parse_database_url(url, variable)
            break
    service = settings.db.service
    if not service and project.has_compose_files():
        service = project.role_service("db")
    if not (service and project.has_compose_files() and service in project.model().services):
        return service, url_target, None
    aim = None
    if url_target is not None and url_target.url_variable:
        port = url_target.port if isinstance(url_target.port, int) else -1
        aim = UrlAim(url_target.url_variable, str(url_target.host or ""), port)
    port = postgres_port(project.model().environment(service))
    return (
        service,
        url_target,
        place(project, "db", service=service, url=aim, service_port=port, choice=settings.db.target),
    )


def _with_overrides(project: Project, target: DbTarget) -> DbTarget:
    db = project.settings.db
    return replace(target, dbname=db.name or target.dbname, user=db.user or target.user)


#: Where stacks without POSTGRES_DB keep the database's name (their app's settings read these).
NAME_VARIABLES = ("POSTGRES_DB", "DB_NAME", "DATABASE_NAME", "PGDATABASE", "POSTGRES_DATABASE")


@dataclass(frozen=True)
class ServiceNames:
    """The database and user the tasks use in the db service, each with where it came from."""

    dbname: str
    dbname_from: str
    user: str
    user_from: str
    password: str | None = field(repr=False)


def service_names(project: Project, service: str) -> ServiceNames:
    model = project.model()
    if service not in model.services:
        raise StackError(f"db.service is {service}, which the compose model does not have")
    environment = model.environment(service)
    app_url = _url_naming(project, service)  # the app's URL names the database when POSTGRES_* do not

    def first(*found: tuple[str | None, str]) -> tuple[str, str]:
        return next((value, origin) for value, origin in found if value)

    own = f"service {service}'s"
    password = file_convention(project, service, environment, "POSTGRES_PASSWORD") or (
        app_url.password if app_url else None
    )
    from_url = f"{app_url.url_variable}" if app_url else ""
    user, user_from = first(
        (file_convention(project, service, environment, "POSTGRES_USER"), f"{own} POSTGRES_USER"),
        (app_url.user if app_url else None, from_url),
        ("postgres", "the image's default"),
    )
    named, named_from = _named(project)
    dbname, dbname_from = first(
        (file_convention(project, service, environment, "POSTGRES_DB"), f"{own} POSTGRES_DB"),
        (app_url.dbname if app_url else None, from_url),
        (named, named_from),
        (user, f"the user's name, as the image does ({user_from})"),
    )
    return ServiceNames(dbname, dbname_from, user, user_from, password or None)


def _service_target(project: Project, service: str) -> DbTarget:
    names = service_names(project, service)
    if names.password:
        project.env.masker.add(names.password)
    port = postgres_port(project.model().environment(service))
    address = _reach(project, service, port)
    target = DbTarget(
        kind="service",
        dbname=names.dbname,
        user=names.user,
        password=names.password,
        host=address[0] if address else None,
        port=address[1] if address else port,
        service=service,
    )
    return _with_overrides(project, target)


def postgres_port(environment: dict[str, str]) -> int:
    """The port PostgreSQL listens on inside its service (PGPORT moves it, as in the official image)."""
    return int(environment.get("PGPORT") or 5432)


def _reach(project: Project, service: str, port: int) -> tuple[str, int] | None:
    """How psycopg here reaches the service (said under --dry too): an address, else a relay
    through the engine (engine/relay.py), a socket directory libpq takes as its host."""
    route = project.compose().route(service, port)
    project.runner.note_once(f"route: {route.how}")
    if route.address is not None or project.runner.dry:
        return route.address
    socket_name = f".s.PGSQL.{port}"
    if route.published and (forwarded := project.ssh_forward(socket_name, route.published)):
        project.runner.note(f"{service}:{port} forwarded over the task's ssh connection")
        return str(forwarded), port
    directory = project.relay(service, port, socket_name)
    return (str(directory), port) if directory else None  # None: not running, as callers then say


def _url_naming(project: Project, service: str) -> DbTarget | None:
    """The first PostgreSQL URL (env files' db.url_env, then any service's environment in the
    compose model) whose host is ``service``."""
    model = project.model()
    candidates = [(project.settings.db.url_env, project.env.values.get(project.settings.db.url_env, ""))]
    for name in model.services:
        candidates += [(f"{key} of {name}", value) for key, value in model.environment(name).items()]
    for variable, value in candidates:
        if not value.startswith(("postgres://", "postgresql://", "postgresql+", "postgres+")):
            continue
        with contextlib.suppress(StackError):
            parsed = parse_database_url(value, variable)
            if parsed.host == service:
                return parsed
    return None


def _named(project: Project) -> tuple[str | None, str]:
    """A database name the env files or the app's environment give by one of ``NAME_VARIABLES``."""
    app = project.role_service("app")
    sources = [(project.env.values, "the env files'"), (project.model().environment(app) if app else {}, f"{app}'s")]
    for values, whose in sources:
        for variable in NAME_VARIABLES:
            if values.get(variable):
                return values[variable], f"{whose} {variable}"
    return None, ""


def refuse_stopped(project: Project, target: DbTarget) -> None:
    """Say at once that the database's service is not running (it is not starting either)."""
    service = target.service or "db"
    if service not in project.compose().running_services():
        raise StackError(f"service {service} is not running", hint=f"inv up -s {service}")


def wait_until_ready(project: Project, target: DbTarget, timeout: int) -> DbTarget:
    """Block until the database accepts connections (the service may still be starting)."""
    import psycopg

    project.runner.note(f"wait until {target.describe()} accepts connections")
    if project.runner.dry:
        return target
    if target.kind == "service" and target.host is None:
        refuse_stopped(project, target)  # waiting is for a service that is starting, not one never started
    started = time.monotonic()
    deadline = started + timeout
    next_word = started + 5
    while True:
        if time.monotonic() >= next_word:  # a database that initialises takes a while: say so
            project.runner.note(
                f"still waiting for {target.describe()} ({time.monotonic() - started:.0f}s of {timeout}s)"
            )
            next_word += 5
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
