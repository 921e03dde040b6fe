"""Redis: where it is, and deleting keys by pattern without ever blocking the server.

The URL in the env files usually names the compose service (``redis://redis:6379/0``), which
this host cannot resolve: it is translated to the service's published port. Where the service
publishes none, the same SCAN + UNLINK work runs inside its container instead, through
redis-cli there, one short script call per batch.

Never KEYS: it walks the whole keyspace in one command and stalls every other client. SCAN
walks it in small steps; each UNLINK batch travels in the same pipelined round trip as the next
SCAN, and UNLINK frees memory off the main thread. Keys are bytes end to end, so a key with
spaces, quotes, newlines or invalid UTF-8 is matched and deleted exactly.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote, urlsplit

from .errors import StackError

if TYPE_CHECKING:
    import redis

    from .project import Project

DEFAULT_PORT = 6379
#: SCAN's COUNT hint: buckets visited per step. At 5,000 a step (SCAN, then UNLINK of what it
#: found) holds the server for a few milliseconds and 2M keys take ~400 steps; 10,000 was no
#: faster and doubled the worst PING another client saw (bench/redis_flush.py measures both).
SCAN_COUNT = 5_000
SAMPLES = 5


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

    def display(self) -> str:
        scheme = "rediss" if self.tls else "redis"
        auth = ""
        if self.password is not None:
            auth = f"{self.username or ''}:***@"
        elif self.username:
            auth = f"{self.username}@"
        where = f"{scheme}://{auth}{self.host}:{self.port}/{self.db}"
        if self.in_service:
            return f"{where} inside service {self.service}"
        if self.service:
            return f"{where} (service {self.service}, published port)"
        return where


def parse_redis_url(url: str, source: str) -> RedisTarget:
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise StackError(f"{source} is not a redis:// URL (scheme {parts.scheme or 'missing'})")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise StackError(f"{source} has an invalid port") from None
    path = parts.path.lstrip("/")
    if path and not path.isdigit():
        raise StackError(f"{source}: the database in the URL path must be a number, not {path!r}")
    return RedisTarget(
        host=parts.hostname or "localhost",
        port=port,
        db=int(path or 0),
        password=unquote(parts.password) if parts.password is not None else None,
        username=unquote(parts.username) if parts.username else None,
        tls=parts.scheme == "rediss",
        source=source,
    )


def resolve_redis(project: Project) -> RedisTarget:
    """The project's Redis, reachable from this host or marked to be worked on inside its service."""
    from dataclasses import replace

    settings = project.settings.redis
    url = project.env.values.get(settings.url_env)
    services: set[str] = set()
    role = settings.service
    if project.has_compose_files():
        services = set(project.model().services)
        role = project.role_service("redis")  # the configured service, else the detected one
    if url:
        target = parse_redis_url(url, settings.url_env)
    elif role:
        target = RedisTarget(host=role, port=DEFAULT_PORT, db=0, source=f"service {role}")
    else:
        raise StackError(
            f"no Redis: {settings.url_env} is not set in the env files and the compose model has no redis service",
            hint="put REDIS_URL in your .env, or set redis.service",
        )
    if target.host not in services:
        return target
    service = target.host
    address = project.compose().host_address(service, target.port, published_only=True)
    if address is not None:
        return replace(target, host=address[0], port=address[1], service=service)
    if service not in project.compose().running_services():
        raise StackError(f"service {service} is not running", hint=f"inv up -s {service}")
    return replace(target, service=service, in_service=True)


def connect(target: RedisTarget, mask: Callable[[str], str] = lambda text: text) -> redis.Redis:
    """A client on the target (hiredis parses replies when installed); checked with PING."""
    import redis

    client = redis.Redis(
        host=target.host,
        port=target.port,
        db=target.db,
        username=target.username,
        password=target.password,
        ssl=target.tls,
        socket_connect_timeout=5,
        socket_timeout=60,
    )
    try:
        client.ping()
    except redis.RedisError as error:
        reason = str(error)
        if target.password:
            reason = reason.replace(target.password, "***")
        raise StackError(
            f"cannot reach Redis at {target.display()} (from {target.source}): {mask(reason)}",
            hint="is it running? inv up" if target.service else f"check {target.source}",
        ) from None
    return client


# -- working on a reachable server ------------------------------------------------------------


def scan_keys(client: redis.Redis, pattern: bytes, count: int = SCAN_COUNT) -> Iterator[list[bytes]]:
    """Batches of matching keys, as SCAN returns them (a key may come twice during a rehash)."""
    cursor = 0
    while True:
        cursor, keys = client.scan(cursor, match=pattern, count=count)
        if keys:
            yield cast(list[bytes], keys)  # decode_responses is off: keys are bytes
        if cursor == 0:
            return


def unlink_matching(
    client: redis.Redis,
    pattern: bytes,
    *,
    count: int = SCAN_COUNT,
    progress: Callable[[int], None] | None = None,
    pack: Callable[..., bytes] | None = None,
) -> int:
    """UNLINK every key matching ``pattern``; return how many went.

    The commands are pipelined two deep on one connection: as soon as a SCAN step's reply is
    in, the next SCAN and the UNLINK of what the step found are sent together, so the server
    works on that UNLINK while this side parses the reply and packs the next batch. No MULTI:
    the server never runs anything long, and each step holds it for a millisecond or two.
    """
    pack = pack or packer(client)
    connection: Any = client.connection_pool.get_connection()  # redis-py's Connection is untyped
    deleted = 0
    unlink_in_flight = False
    try:
        connection.send_packed_command([pack(b"SCAN", b"0", b"MATCH", pattern, b"COUNT", str(count).encode())])
        cursor, keys = _scan_reply(connection.read_response())
        while True:
            outgoing: list[bytes] = []
            if cursor != 0:
                outgoing.append(pack(b"SCAN", str(cursor).encode(), b"MATCH", pattern, b"COUNT", str(count).encode()))
            if keys:
                outgoing.append(pack(b"UNLINK", *keys))
            if outgoing:
                connection.send_packed_command(outgoing)
            if unlink_in_flight:
                deleted += int(connection.read_response())
                if progress:
                    progress(deleted)
            unlink_in_flight = bool(keys)
            if cursor == 0:
                if unlink_in_flight:
                    deleted += int(connection.read_response())
                return deleted
            cursor, keys = _scan_reply(connection.read_response())
    except BaseException:
        connection.disconnect()  # replies may still be on the wire: this connection is spent
        raise
    finally:
        client.connection_pool.release(connection)


def _scan_reply(reply: object) -> tuple[int, list[bytes]]:
    cursor, keys = cast(tuple[bytes, list[bytes]], reply)
    return int(cursor), keys


def packer(client: redis.Redis) -> Callable[..., bytes]:
    """RESP encoding of one command: hiredis's C packer where installed, else redis-py's."""
    try:
        import hiredis
    except ImportError:
        return redis_py_packer(client)
    pack_command: Any = hiredis.pack_command  # untyped C function
    return lambda *args: cast(bytes, pack_command(args))


def redis_py_packer(client: redis.Redis) -> Callable[..., bytes]:
    def pack(*args: bytes) -> bytes:
        connection: Any = client.connection_pool.get_connection()
        try:
            return b"".join(connection.pack_command(*args))
        finally:
            client.connection_pool.release(connection)

    return pack


def count_matching(client: redis.Redis, pattern: bytes, samples: int = SAMPLES) -> tuple[int, list[bytes]]:
    """How many keys match (each counted once), and a few of them."""
    seen: set[bytes] = set()
    for batch in scan_keys(client, pattern):
        seen.update(batch)
    return len(seen), sorted(seen)[:samples]


def pattern_bytes(pattern: str) -> bytes:
    """A pattern as typed, as the bytes Redis matches (surrogate escapes keep invalid UTF-8)."""
    return pattern.encode("utf-8", "surrogateescape")


def show_key(key: bytes) -> str:
    """A key printable on one line: non-printable and non-ASCII bytes as \\xNN."""
    return "".join(chr(b) if 32 <= b < 127 and b != 92 else f"\\x{b:02x}" for b in key)


# -- working inside the service (no published port) --------------------------------------------

#: One bounded step per call: SCAN from the cursor, then UNLINK (mode 1) or count (mode 0) what it
#: found, returning the next cursor, the number, and (mode 0) up to 3 escaped sample keys.
STEP_SCRIPT = """
local found = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', ARGV[3])
local keys = found[2]
local n = 0
if ARGV[4] == '1' then
  for i = 1, #keys, 500 do
    n = n + redis.call('UNLINK', unpack(keys, i, math.min(i + 499, #keys)))
  end
else
  n = #keys
end
local reply = {found[1], n}
if ARGV[4] == '0' then
  for i = 1, math.min(#keys, 3) do
    reply[#reply + 1] = string.gsub(keys[i], '[^%w%p ]',
      function(c) return string.format('\\\\x%02x', string.byte(c)) end)
  end
end
return reply
"""

#: The loop around STEP_SCRIPT, run by sh in the container; every input arrives as an argument.
STEP_LOOP = r"""
script=$1 pattern=$2 db=$3 count=$4 mode=$5
cursor=0 total=0 samples=''
while :; do
  reply=$(redis-cli --no-auth-warning -n "$db" EVAL "$script" 0 "$cursor" "$pattern" "$count" "$mode") || exit 1
  cursor=$(printf '%s\n' "$reply" | sed -n 1p)
  n=$(printf '%s\n' "$reply" | sed -n 2p)
  case "$cursor$n" in *[!0-9]*|'') printf 'redis: %s\n' "$reply" >&2; exit 1 ;; esac
  total=$((total + n))
  if [ "$mode" = 0 ] && [ "$(printf '%s' "$samples" | grep -c .)" -lt 5 ]; then
    samples="$samples$(printf '%s\n' "$reply" | sed -n '3,$p')
"
  fi
  [ "$cursor" = 0 ] && break
done
echo "$total"
printf '%s' "$samples" | grep . | head -n 5 || true
"""


def in_service_argv(project: Project, target: RedisTarget, pattern: str, *, delete: bool) -> list[str]:
    compose = project.compose()
    assert target.service
    command = [
        "sh",
        "-c",
        STEP_LOOP,
        "stacktasks-redis",
        STEP_SCRIPT,
        pattern,
        str(target.db),
        str(SCAN_COUNT),
        "1" if delete else "0",
    ]
    return compose.exec_argv(target.service, command, pass_env=_auth_names(target))


def auth_env(target: RedisTarget) -> dict[str, str]:
    """redis-cli's password, for the child's environment only (never argv)."""
    return {"REDISCLI_AUTH": target.password} if target.password else {}


def _auth_names(target: RedisTarget) -> list[str]:
    """The variable by name: exec reads its value from our environment, never from argv."""
    return list(auth_env(target))


def run_in_service(project: Project, target: RedisTarget, pattern: str, *, delete: bool) -> tuple[int, list[str]]:
    """The step loop inside the service: (number, escaped sample keys)."""
    argv = in_service_argv(project, target, pattern, delete=delete)
    runner = project.runner
    verb = "unlink" if delete else "count"
    runner.note(
        f"inside service {target.service}: SCAN + {verb} of {pattern!r} in database {target.db}, "
        "one bounded redis-cli EVAL step per batch"
    )
    result = runner.capture(argv, extra_env=auth_env(target), check=False)
    if result.returncode != 0:
        reason = runner.mask(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "")
        raise StackError(f"the scan inside service {target.service} failed (exit {result.returncode}): {reason}")
    lines = result.stdout.splitlines()
    if not lines or not lines[0].strip().isdigit():
        raise StackError(f"unexpected reply from inside service {target.service}: {runner.mask(result.stdout[:200])}")
    return int(lines[0]), lines[1:]


@contextlib.contextmanager
def reachable(target: RedisTarget, mask: Callable[[str], str]) -> Iterator[redis.Redis]:
    client = connect(target, mask)
    try:
        yield client
    finally:
        client.close()


def flush_patterns(
    project: Project,
    target: RedisTarget,
    patterns: Iterable[str],
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Delete every key matching each pattern; the number deleted per pattern."""
    results: dict[str, int] = {}
    if target.in_service:
        for pattern in patterns:
            results[pattern] = run_in_service(project, target, pattern, delete=True)[0]
        return results
    with reachable(target, project.env.masker) as client:
        for pattern in patterns:
            results[pattern] = unlink_matching(client, pattern_bytes(pattern), progress=progress)
    return results


def count_patterns(project: Project, target: RedisTarget, patterns: Iterable[str]) -> dict[str, tuple[int, list[str]]]:
    """Per pattern: how many keys match, and a few of them (escaped for printing)."""
    results: dict[str, tuple[int, list[str]]] = {}
    if target.in_service:
        for pattern in patterns:
            results[pattern] = run_in_service(project, target, pattern, delete=False)
        return results
    with reachable(target, project.env.masker) as client:
        for pattern in patterns:
            number, samples = count_matching(client, pattern_bytes(pattern))
            results[pattern] = (number, [show_key(key) for key in samples])
    return results


def flush_database(project: Project, target: RedisTarget) -> None:
    """FLUSHDB ASYNC of the target's logical database only (under dry-run: what would run)."""
    if not target.in_service and project.runner.dry:
        project.runner.note(f"FLUSHDB ASYNC on {target.display()}")
        return
    if target.in_service:
        assert target.service
        compose = project.compose()
        command = ["redis-cli", "-n", str(target.db), "FLUSHDB", "ASYNC"]
        argv = compose.exec_argv(target.service, command, pass_env=_auth_names(target))
        project.runner.run(argv, extra_env=auth_env(target))
        return
    with reachable(target, project.env.masker) as client:
        client.flushdb(asynchronous=True)


def cli_argv(
    project: Project,
    target: RedisTarget,
    args: list[str],
    *,
    interactive: bool,
) -> tuple[list[str], dict[str, str]]:
    """redis-cli on the target: in the service when there is one, else on this host."""
    env = auth_env(target)
    if target.service:
        compose = project.compose()
        command = ["redis-cli", "-n", str(target.db), *args]
        return compose.exec_argv(target.service, command, interactive=interactive, pass_env=_auth_names(target)), env
    argv = ["redis-cli", "-h", target.host, "-p", str(target.port), "-n", str(target.db)]
    if target.username:
        argv += ["--user", target.username]
    if target.tls:
        argv.append("--tls")
    return [*argv, *args], env


# -- the flows behind the tasks ----------------------------------------------------------------


def target_for(project: Project, *, planning: bool = False) -> RedisTarget:
    """The project's Redis; while ``planning`` (a dry run), a stopped service still gives a plan."""
    from dataclasses import replace

    try:
        return resolve_redis(project)
    except StackError:
        if not planning:
            raise
        settings = project.settings.redis
        url = project.env.values.get(settings.url_env) or "redis://redis:6379/0"
        target = parse_redis_url(url, settings.url_env)
        return replace(target, service=target.host, in_service=True)


@dataclass
class FlushReport:
    """What flush-ratelimits did (``deleted``) or, counting only, found (``counted``)."""

    deleted: dict[str, int] = field(default_factory=dict)
    counted: dict[str, tuple[int, list[str]]] = field(default_factory=dict)
    not_counted: str | None = None


def flush_ratelimits(
    project: Project,
    patterns: list[str],
    *,
    count_only: bool = False,
    progress: Callable[[int], None] | None = None,
) -> FlushReport:
    """Delete the keys matching ``patterns`` (default: redis.ratelimit_patterns); with
    ``count_only`` or under dry-run, count them and show a few instead."""
    from .errors import USAGE

    target = target_for(project, planning=project.dry)
    patterns = patterns or list(project.settings.redis.ratelimit_patterns)
    if not patterns:
        raise StackError("no pattern given and redis.ratelimit_patterns is empty", code=USAGE)
    if count_only or project.dry:
        project.runner.note(
            f"SCAN MATCH {' / '.join(patterns)} COUNT {SCAN_COUNT} + pipelined UNLINK in {target.display()}"
        )
        try:
            return FlushReport(counted=count_patterns(project, target, patterns))
        except StackError as error:
            if count_only:
                raise
            return FlushReport(not_counted=error.message)  # Invoke's --dry shows the plan regardless
    if project.settings.is_protected:
        project.confirm(f"delete keys matching {', '.join(patterns)} in {target.display()}")
    return FlushReport(deleted=flush_patterns(project, target, patterns, progress=progress))


def flush_logical_database(project: Project) -> RedisTarget:
    """FLUSHDB ASYNC of the configured logical database, after the confirmation."""
    target = target_for(project, planning=project.dry)
    project.confirm(f"delete every key in {target.display()}")
    flush_database(project, target)
    return target


def open_cli(project: Project, args: str) -> None:
    """redis-cli on the target, interactive when a person is at the terminal and gave no command."""
    import shlex

    from .project import interactive_terminal

    target = resolve_redis(project)
    extra = shlex.split(args) + project.extra_args
    argv, env = cli_argv(project, target, extra, interactive=interactive_terminal() and not extra)
    code = project.runner.run(argv, check=False, extra_env=env)
    if code:
        raise StackError(f"redis-cli exited with {code}", code=code)
