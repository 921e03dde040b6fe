"""Where the database lives, how to reach it, and what we ask of it.

Two places, both first-class:

- a compose service: pg_dump, pg_restore and psql run inside its container (``exec -T``), so
  client and server versions always match; psycopg reaches it through its published port, or
  the container's address where it publishes none;
- an external URL from the env files (a cloud Postgres): the client tools run on the host, or
  in a throwaway container of the server's major version when the host's are older or missing.

Checks, sizes, row counts, ending sessions and the database swap use psycopg. The password
travels only in a child's environment (PGPASSWORD) or psycopg's connection arguments: never
argv, never a log line, never an error message.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from .errors import StackError

if TYPE_CHECKING:
    import psycopg

    from .project import Project
    from .runner import Runner

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
#: Identifiers are cut at 63 bytes by the server; suffixes must survive that.
MAX_IDENTIFIER = 63


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
            "host": self.host, "port": self.port, "user": self.user, "dbname": dbname or self.dbname,
            "application_name": "stacktasks", "connect_timeout": 10, "client_encoding": "utf8",
        }
        if self.password is not None:
            args["password"] = self.password
        args.update(self.libpq_options)
        return args

    def client_env(self, dbname: str | None = None) -> dict[str, str]:
        """libpq variables for a client tool on this host (URL mode): secrets stay out of argv."""
        env = {
            "PGHOST": self.host or "", "PGPORT": str(self.port), "PGUSER": self.user,
            "PGDATABASE": dbname or self.dbname, "PGAPPNAME": "stacktasks",
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
        service = project.model_role("db")
    if service:
        return _service_target(project, service)
    for variable in (settings.db.direct_url_env, settings.db.url_env):
        url = project.env.values.get(variable)
        if url:
            target = parse_database_url(url, variable)
            return _with_overrides(project, target)
    raise StackError(
        "no database: the compose model has no Postgres service and "
        f"{settings.db.url_env} is not set in the env files",
        hint="set db.service to the compose service, or put DATABASE_URL in your .env",
    )


def _with_overrides(project: Project, target: DbTarget) -> DbTarget:
    from dataclasses import replace

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
        kind="service", dbname=dbname, user=user, password=password,
        host=address[0] if address else None, port=address[1] if address else port, service=service,
    )
    return _with_overrides(project, target)


# -- psycopg --------------------------------------------------------------------------------


def connect(target: DbTarget, dbname: str | None = None, *, autocommit: bool = True) -> psycopg.Connection[Any]:
    """A psycopg connection; a failure says what to check, never the password."""
    import psycopg

    try:
        return psycopg.connect(**target.connect_args(dbname), autocommit=autocommit)
    except psycopg.OperationalError as error:
        reason = _first_line(str(error))
        if target.password:
            reason = reason.replace(target.password, "***")
        hint = "is the stack up? inv up" if target.kind == "service" else f"check {target.url_variable}"
        raise StackError(f"cannot connect to {target.describe()}: {reason}", hint=hint) from None


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
                last = _first_line(str(error))
                if "password authentication failed" in last or "does not exist" in last:
                    raise StackError(f"cannot connect to {target.describe()}: {last}") from None
        if time.monotonic() > deadline:
            raise StackError(
                f"{target.describe()} did not accept connections within {timeout}s",
                hint="see its logs: inv logs -s " + (target.service or "db"),
            )
        time.sleep(0.5)


def server_major(conn: psycopg.Connection[Any]) -> int:
    return conn.info.server_version // 10000


def statement(template: str, *names: str) -> Any:
    """SQL with identifiers (database, schema, table names) quoted by psycopg, never by hand."""
    from psycopg import sql

    return sql.SQL(template).format(*(sql.Identifier(name) for name in names))


#: Ordinary tables (not partitioned parents, not extension-owned), each counted on its own.
TABLES_SQL = """
select n.nspname, c.relname
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where c.relkind = 'r'
  and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_%'
  and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass
                  and d.objid = c.oid and d.deptype = 'e')
order by 1, 2
"""


def row_counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """Exact row count of every user table, as ``schema.table``."""
    counts: dict[str, int] = {}
    with conn.cursor() as cursor:
        tables = cursor.execute(TABLES_SQL).fetchall()
        for schema, table in tables:
            row = cursor.execute(statement("select count(*) from only {}.{}", schema, table)).fetchone()
            counts[f"{schema}.{table}"] = int(row[0]) if row else 0
    return counts


def verify_counts(conn: psycopg.Connection[Any], expected: Mapping[str, int]) -> dict[str, int | None]:
    """Each expected table's row count in a freshly loaded database (None where it is missing).

    Every table was just created and filled by COPY, so the server's per-table counters
    (inserted minus deleted) already hold the count: reading them costs nothing where a
    count(*) scans the whole table. Where a counter disagrees (the statistics of a backend that
    is still exiting may lag), the table is counted exactly.
    """
    rows = conn.execute("select schemaname, relname, n_tup_ins - n_tup_del from pg_stat_user_tables").fetchall()
    counters = {f"{schema}.{table}": int(count) for schema, table, count in rows}
    existing = {f"{schema}.{table}": (schema, table) for schema, table in conn.execute(TABLES_SQL).fetchall()}
    actual: dict[str, int | None] = {}
    for table, count in expected.items():
        if table not in existing:
            actual[table] = None
        elif counters.get(table) == count:
            actual[table] = count
        else:
            row = conn.execute(statement("select count(*) from only {}.{}", *existing[table])).fetchone()
            actual[table] = int(row[0]) if row else 0
    return actual


def database_exists(conn: psycopg.Connection[Any], name: str) -> bool:
    return conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone() is not None


def can_create_databases(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("select rolsuper or rolcreatedb from pg_roles where rolname = current_user").fetchone()
    return bool(row and row[0])


def end_sessions(conn: psycopg.Connection[Any], dbname: str) -> int:
    """Terminate every other session on ``dbname``; return how many there were."""
    rows = conn.execute(
        "select pg_terminate_backend(pid) from pg_stat_activity "
        "where datname = %s and pid <> pg_backend_pid()",
        [dbname],
    ).fetchall()
    return len(rows)


def aside_name(dbname: str, suffix: str) -> str:
    """``dbname`` with a suffix, cut so the whole fits the server's identifier limit."""
    room = MAX_IDENTIFIER - len(suffix.encode())
    head = dbname.encode()[:room].decode(errors="ignore")
    return head + suffix


def rename_database(conn: psycopg.Connection[Any], old: str, new: str, *, attempts: int = 20) -> None:
    """Rename, ending sessions that reconnect in between (an app retries its pool at once)."""
    import psycopg

    for attempt in range(attempts):
        end_sessions(conn, old)
        try:
            conn.execute(statement("alter database {} rename to {}", old, new))
            return
        except psycopg.errors.ObjectInUse:
            if attempt == attempts - 1:
                raise StackError(f"database {old} is still in use; could not rename it") from None
            time.sleep(0.1)


def allow_connections(conn: psycopg.Connection[Any], dbname: str, allowed: bool) -> None:
    value = "true" if allowed else "false"
    conn.execute(statement("alter database {} allow_connections " + value, dbname))


def drop_database(conn: psycopg.Connection[Any], name: str) -> None:
    if database_exists(conn, name):
        allow_connections(conn, name, False)
        end_sessions(conn, name)
        conn.execute(statement("drop database {}", name))


def create_database_like(conn: psycopg.Connection[Any], name: str, model: str | None) -> None:
    """An empty database with the encoding and locale of ``model`` (when it exists)."""
    from psycopg import sql

    query = statement("create database {} template template0", name)
    if model is not None:
        row = conn.execute(
            "select pg_encoding_to_char(encoding), datcollate, datctype from pg_database where datname = %s",
            [model],
        ).fetchone()
        if row:
            query += sql.SQL(" encoding {} lc_collate {} lc_ctype {}").format(*map(sql.Literal, row))
    conn.execute(query)


# -- the client tools (pg_dump, pg_restore, psql) -------------------------------------------------


@dataclass
class PgClient:
    """Builds argv and environment for the client tools, wherever they must run."""

    target: DbTarget
    where: str  # "service", "host" or "container"
    compose_base: list[str] = field(default_factory=list)
    image: str | None = None
    compose_v2: bool = True

    def describe(self) -> str:
        if self.where == "service":
            return f"inside service {self.target.service}"
        if self.where == "container":
            return f"in a throwaway {self.image} container"
        return "on this host"

    def argv(
        self, tool: str, args: Sequence[str], *, dbname: str | None = None, stdin: bool = False,
        mounts: Mapping[str, str] | None = None, database: bool = True,
    ) -> list[str]:
        """``database=False`` for a tool that connects to none (`pg_restore -f -` writing SQL)."""
        db_flag = ["-d", dbname or self.target.dbname] if database else []
        if self.where == "service":
            exec_args = [*self.compose_base, "exec", "-T"]
            if self.target.password and self.compose_v2:
                exec_args += ["-e", "PGPASSWORD"]  # the value comes from our environment
            assert self.target.service
            connection = ["-U", self.target.user]
            return [*exec_args, self.target.service, tool, *connection, *db_flag, *args]
        if self.where == "container":
            assert self.image
            run = ["docker", "run", "--rm", "--network", "host"]
            if stdin:
                run.append("-i")
            for name in self.env(dbname):
                run += ["-e", name]  # names only: docker reads the values from our environment
            for host_path, inside in (mounts or {}).items():
                run += ["-v", f"{host_path}:{inside}:ro"]
            # The tool as entrypoint: images differ in what their entrypoint does with other commands.
            return [*run, "--entrypoint", tool, self.image, *db_flag, *args]
        return [tool, *db_flag, *args]

    def env(self, dbname: str | None = None) -> dict[str, str]:
        if self.where == "service":
            return {"PGPASSWORD": self.target.password} if self.target.password else {}
        return self.target.client_env(dbname)


def host_tool_major(tool: str) -> int | None:
    """The major version of a client tool on this host, or None when it is missing."""
    import subprocess

    path = shutil.which(tool)
    if not path:
        return None
    try:
        text = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"(\d+)(?:\.\d+)?", text)
    return int(match.group(1)) if match else None


def choose_client(project: Project, target: DbTarget, server: int | None) -> PgClient:
    """Where the client tools run: in the service; on the host; or in a container of the server's major."""
    settings = project.settings.db
    if target.kind == "service":
        compose = project.compose()
        return PgClient(target, "service", compose.base(), compose_v2=not compose.version.is_v1)
    choice = settings.client
    if choice not in ("auto", "host", "container"):
        raise StackError(f"db.client is {choice!r}; use auto, host or container")
    image = settings.client_image.format(major=server or "latest")
    if choice == "container":
        return PgClient(target, "container", image=image)
    host = host_tool_major("pg_dump")
    if choice == "host" or (host is not None and (server is None or host >= server)):
        if host is None:
            raise StackError("pg_dump is not installed on this host", hint="install postgresql-client")
        return PgClient(target, "host")
    project.runner.note(
        f"host pg_dump is {host or 'missing'}, server is {server}: using the {image} image"
    )
    return PgClient(target, "container", image=image)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else text.strip()


@contextlib.contextmanager
def file_in_service(runner: Runner, compose_base: list[str], service: str, path: Path) -> Iterator[str]:
    """Put a dump into the db container (pg_restore -j needs a seekable file); removed after.

    Streamed in through `exec -T … cat` rather than `docker cp`, so the file belongs to the
    service's own user (images that run as non-root can read it) and stays private (umask 077).
    """
    import secrets
    import subprocess

    ids = runner.capture([*compose_base, "ps", "-q", service]).stdout.split()
    if not ids:
        raise StackError(f"service {service} is not running", hint=f"inv up -s {service}")
    inside = f"/tmp/stacktasks-restore-{secrets.token_hex(4)}{''.join(path.suffixes[-1:])}"  # noqa: S108 - inside the container
    write = [*compose_base, "exec", "-T", service, "sh", "-c", 'umask 077 && cat > "$1"', "sh", inside]
    remove = [*compose_base, "exec", "-T", service, "rm", "-f", inside]
    try:
        with path.open("rb") as source:
            process = runner.stream(write, stdin=source, stderr=subprocess.PIPE)
            _, stderr = process.communicate()
        if process.returncode != 0:
            raise runner.failure(write, process.returncode, stderr.decode("utf-8", "replace"))
        yield inside
    finally:
        runner.run(remove, check=False)
