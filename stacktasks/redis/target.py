"""Where Redis is: the URL in the env files, the compose service it names, and a checked client.

The URL usually names the compose service (``redis://redis:6379/0``), which this host cannot
resolve: it is translated to the service's published port. Where the service publishes none,
the work runs inside its container instead (``scan.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import StackError

if TYPE_CHECKING:
    import redis

    from ..placement import Placement
    from ..project import Project

DEFAULT_PORT = 6379
CONNECT_TIMEOUT = 5
REPLY_TIMEOUT = 10


@dataclass(frozen=True)
class RedisTarget:
    """One logical Redis database and how to reach it; the password is never printed."""

    host: str
    port: int
    db: int
    password: str | None = field(default=None, repr=False)
    username: str | None = None
    tls: bool = False
    service: str | None = None  # the compose service, when the URL names one
    in_service: bool = False  # no published port: the work runs inside the container
    source: str = "REDIS_URL"
    socket: str | None = None  # a unix socket's path (unix://)
    password_from: str = ""  # where the password came from, or where it was looked for (password.py)

    def display(self) -> str:
        scheme = "rediss" if self.tls else "redis"
        auth = ""
        if self.password is not None:
            auth = f"{self.username or ''}:***@"
        elif self.username:
            auth = f"{self.username}@"
        where = f"{scheme}://{auth}{self.host}:{self.port}/{self.db}"
        if self.socket:
            where = f"unix://{auth}{self.socket}?db={self.db}"
        if self.in_service:
            return f"{where} inside service {self.service}"
        if self.service:
            return f"{where} (service {self.service}, published port)"
        return where


def parse_redis_url(url: str, source: str) -> RedisTarget:
    """A Redis URL as redis-py reads it (``redis.connection.parse_url``): ``redis://``,
    ``rediss://`` and ``unix://``; the database from the path or ``?db=``."""
    from redis.connection import SSLConnection, UnixDomainSocketConnection, parse_url

    scheme = urlsplit(url).scheme
    if scheme not in ("redis", "rediss", "unix"):
        raise StackError(f"{source} is not a Redis URL (scheme {scheme or 'missing'}; redis://, rediss:// or unix://)")
    from ..env.files import refuse_unencoded_userinfo

    refuse_unencoded_userinfo(url, source)
    path = urlsplit(url).path.strip("/") if scheme != "unix" else ""
    if path and not path.isdigit():  # redis-py would quietly use database 0
        raise StackError(f"{source}: the database in the URL path must be a number, not {path!r}")
    try:
        params: dict[str, Any] = parse_url(url)  # type: ignore[no-untyped-call]
    except ValueError as error:
        raise StackError(f"{source} is not a Redis URL redis-py can read: {error}") from None
    socket = params.get("path") if params.get("connection_class") is UnixDomainSocketConnection else None
    return RedisTarget(
        host=str(params.get("host") or ("" if socket else "localhost")),
        port=int(params.get("port") or DEFAULT_PORT),
        db=int(params.get("db") or 0),
        password=params.get("password"),
        password_from=source,
        username=params.get("username") or None,
        tls=params.get("connection_class") is SSLConnection,
        source=source,
        socket=socket,
    )


def named_redis(project: Project) -> RedisTarget:
    """The Redis the tasks use (see ``choose_redis``), its choice said where there was one."""
    target, placement = choose_redis(project)
    if placement is not None:
        project.runner.note_once(f"redis: {placement.why}")
    return target


def choose_redis(project: Project) -> tuple[RedisTarget, Placement | None]:
    """The Redis the env files' URL names, or the redis role's service, by the one rule the
    database follows too (placement.py): the URL is the service only where it reaches it, and
    where it names something else nothing is guessed. Not yet reached or checked."""
    from dataclasses import replace

    from ..placement import UrlAim, place

    settings = project.settings.redis
    url = project.env.values.get(settings.url_env)
    parsed = parse_redis_url(url, settings.url_env) if url else None
    role = project.role_service("redis") if project.has_compose_files() else None
    if role is not None:
        aim = UrlAim(settings.url_env, parsed.socket or parsed.host, parsed.port) if parsed else None
        placement = place(project, "redis", service=role, url=aim, service_port=DEFAULT_PORT, choice=settings.target)
        said = placement if aim is not None else None
        if placement.use == "url" and parsed is not None:
            return parsed, said
        if parsed is not None and parsed.socket is None:
            return replace(
                parsed, host=role, port=DEFAULT_PORT
            ), said  # its database and password, the service's address
        return RedisTarget(host=role, port=DEFAULT_PORT, db=0, source=f"service {role}"), said
    if parsed is not None:
        return parsed, None
    if settings.service:
        return RedisTarget(host=settings.service, port=DEFAULT_PORT, db=0, source=f"service {settings.service}"), None
    raise StackError(
        f"no Redis: {settings.url_env} is not set in the env files and the compose model has no redis service",
        hint="put REDIS_URL in your .env, or set redis.service",
    )


def resolve_redis(project: Project, *, planning: bool = False) -> RedisTarget:
    """The project's Redis, reachable from this host or marked to be worked on inside its service.

    ``planning`` (a dry run): a stopped service still gives the plan of work inside it, and says
    that the real run would fail; a stack with no Redis fails as the real run does.
    """
    from dataclasses import replace

    from .password import configured_password, service_password

    target = named_redis(project)
    if configured := configured_password(project):
        target = replace(target, password=configured.value, password_from=configured.where)
    services = set(project.model().services) if project.has_compose_files() else set()
    if target.host not in services:
        return target
    service = target.host
    if configured is None and target.password is None:  # the stack may keep it in the service itself
        found = service_password(project, service)
        if found.value:
            project.env.masker.add(found.value)
        target = replace(target, password=found.value, password_from=found.where)
    address = project.compose().host_address(service, target.port, published_only=True)
    if address is not None:
        return replace(target, host=address[0], port=address[1], service=service)
    if service not in project.compose().running_services():
        if not planning:
            raise StackError(f"service {service} is not running", hint=f"inv up -s {service}")
        project.runner.note(f"service {service} is not running: the real run stops here (inv up -s {service})")
    return replace(target, service=service, in_service=True)


def connect(target: RedisTarget, mask: Callable[[str], str] = lambda text: text) -> redis.Redis:
    """A client on the target (hiredis parses replies when installed); checked with PING."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from .password import refused_login, refused_login_hint

    # Bounded: no step of ours takes the server long, and redis-py's own retries would multiply a
    # TLS handshake that never completes (rediss:// against a plain server) into minutes of silence.
    client = redis.Redis(
        host=target.host,
        port=target.port,
        unix_socket_path=target.socket,
        db=target.db,
        username=target.username,
        password=target.password,
        ssl=target.tls,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=REPLY_TIMEOUT,
        retry=Retry(NoBackoff(), 0),
    )
    try:
        client.ping()
    except redis.RedisError as error:
        reason = str(error)
        if target.password:
            reason = reason.replace(target.password, "***")
        hint = "is it running? inv up" if target.service else f"check {target.source}"
        if refused_login(reason):
            hint = refused_login_hint(target.password is not None, target.password_from)
        if target.tls and isinstance(error, redis.TimeoutError | redis.ConnectionError):
            hint = f"rediss:// needs a server that speaks TLS; if this one does not, use redis:// in {target.source}"
        raise StackError(
            f"cannot reach Redis at {target.display()} (from {target.source}): {mask(reason)}", hint=hint
        ) from None
    return client


def auth_env(target: RedisTarget) -> dict[str, str]:
    """redis-cli's password, for the child's environment only (never argv)."""
    return {"REDISCLI_AUTH": target.password} if target.password else {}


def auth_names(target: RedisTarget) -> list[str]:
    """The variable by name: exec reads its value from our environment, never from argv."""
    return list(auth_env(target))


def prove_same_redis(project: Project, target: RedisTarget, client: redis.Redis) -> None:
    """Refuse when the connection reaches another Redis than the stack's own service: its
    ``run_id`` read inside the service and over the connection must agree."""
    if not target.service or target.in_service or project.dry:
        return
    command = ["redis-cli", "--no-auth-warning", "INFO", "server"]
    argv = project.compose().exec_argv(target.service, command, pass_env=auth_names(target))
    inside = project.runner.capture(argv, check=False, extra_env=auth_env(target))
    theirs = _run_id(inside.stdout)
    ours = str(client.info("server").get("run_id", ""))
    if inside.returncode == 0 and theirs and theirs != ours:
        raise StackError(
            f"{target.host}:{target.port} is not the {target.service} service's Redis: another server answers "
            "there, so nothing was deleted",
            hint="is the engine remote (DOCKER_HOST, docker context)? inv doctor shows which engine",
        )


def _run_id(info: str) -> str:
    for line in info.splitlines():
        if line.startswith("run_id:"):
            return line.split(":", 1)[1].strip()
    return ""
