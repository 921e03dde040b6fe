"""Deleting and counting keys by pattern without ever blocking the server: SCAN + UNLINK.

Never KEYS: it walks the whole keyspace in one command and stalls every other client. SCAN
walks it in small steps; each UNLINK batch travels in the same pipelined round trip as the next
SCAN, and UNLINK frees memory off the main thread. Keys are bytes end to end, so a key with
spaces, quotes, newlines or invalid UTF-8 is matched and deleted exactly. Where the server is
not reachable from here, the same steps run inside its service through redis-cli.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, cast

from ..errors import StackError
from .password import refused_login, refused_login_hint
from .target import RedisTarget, auth_env, auth_names

if TYPE_CHECKING:
    import redis

    from ..project import Project

#: SCAN's COUNT hint: buckets visited per step. At 5,000 a step (SCAN, then UNLINK of what it
#: found) holds the server for a few milliseconds and 2M keys take ~400 steps; 10,000 was no
#: faster and doubled the worst PING another client saw (bench/redis_flush.py measures both).
SCAN_COUNT = 5_000
SAMPLES = 5


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
    return compose.exec_argv(target.service, command, pass_env=auth_names(target))


def scan_in_service(project: Project, target: RedisTarget, pattern: str, *, delete: bool) -> tuple[int, list[str]]:
    """The step loop inside the service: (number, escaped sample keys)."""
    argv = in_service_argv(project, target, pattern, delete=delete)
    runner = project.runner
    verb = "unlink" if delete else "count"
    runner.note(
        f"inside service {target.service}: SCAN + {verb} of {pattern!r} in database {target.db}, "
        "one bounded redis-cli EVAL step per batch"
    )
    if delete:
        runner.show(argv)  # it changes data: shown like every command that does
    result = runner.capture(argv, extra_env=auth_env(target), check=False)
    if result.returncode != 0:
        said = (result.stderr.strip() or result.stdout.strip()).splitlines()
        reason = runner.mask(said[-1] if said else "")
        hint = None
        if refused_login(reason):
            hint = refused_login_hint(target.password is not None, target.password_from)
        raise StackError(
            f"the scan inside service {target.service} failed (exit {result.returncode}): {reason}", hint=hint
        )
    lines = result.stdout.splitlines()
    if not lines or not lines[0].strip().isdigit():
        raise StackError(f"unexpected reply from inside service {target.service}: {runner.mask(result.stdout[:200])}")
    return int(lines[0]), lines[1:]
