"""The redis namespace's flows: flush by pattern, count, FLUSHDB, redis-cli.

Where Redis is lives in ``target.py``; the SCAN + UNLINK engine in ``scan.py``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import StackError
from .scan import (
    SCAN_COUNT,
    count_matching,
    in_service_argv,
    pattern_bytes,
    redis_py_packer,
    scan_in_service,
    show_key,
    unlink_matching,
)
from .target import RedisTarget, auth_env, auth_names, connect, parse_redis_url, prove_same_redis, resolve_redis

if TYPE_CHECKING:
    import redis

    from ..project import Project

__all__ = ["parse_redis_url", "pattern_bytes", "redis_py_packer", "show_key", "unlink_matching"]


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
            results[pattern] = scan_in_service(project, target, pattern, delete=True)[0]
        return results
    with reachable(target, project.env.masker) as client:
        prove_same_redis(project, target, client)
        for pattern in patterns:
            results[pattern] = unlink_matching(client, pattern_bytes(pattern), progress=progress)
    return results


def count_patterns(project: Project, target: RedisTarget, patterns: Iterable[str]) -> dict[str, tuple[int, list[str]]]:
    """Per pattern: how many keys match, and a few of them (escaped for printing)."""
    results: dict[str, tuple[int, list[str]]] = {}
    if target.in_service:
        for pattern in patterns:
            results[pattern] = scan_in_service(project, target, pattern, delete=False)
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
        argv = compose.exec_argv(target.service, command, pass_env=auth_names(target))
        project.runner.run(argv, extra_env=auth_env(target))
        return
    with reachable(target, project.env.masker) as client:
        prove_same_redis(project, target, client)
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
        return compose.exec_argv(target.service, command, interactive=interactive, pass_env=auth_names(target)), env
    where = ["-s", target.socket] if target.socket else ["-h", target.host, "-p", str(target.port)]
    argv = ["redis-cli", *where, "-n", str(target.db)]
    if target.username:
        argv += ["--user", target.username]
    if target.tls:
        argv.append("--tls")
    return [*argv, *args], env


# -- the flows behind the tasks ----------------------------------------------------------------


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
    from ..errors import USAGE

    target = resolve_redis(project, planning=project.dry)
    patterns = patterns or list(project.settings.redis.ratelimit_patterns)
    if not patterns:
        raise StackError("no pattern given and redis.ratelimit_patterns is empty", code=USAGE)
    if count_only or project.dry:
        project.runner.note(
            f"SCAN MATCH {' / '.join(patterns)} COUNT {SCAN_COUNT} + pipelined UNLINK in {target.display()}"
        )
        if project.dry and target.in_service:
            for pattern in patterns:  # what the real run would run, shown; the count below only reads
                project.runner.show(in_service_argv(project, target, pattern, delete=True))
        try:
            return FlushReport(counted=count_patterns(project, target, patterns))
        except StackError as error:
            if count_only:
                raise
            return FlushReport(not_counted=error.message)  # Invoke's --dry shows the plan regardless
    everything = [pattern for pattern in patterns if matches_every_key(pattern)]
    if everything:  # a flush by another name: asked as inv redis.flush asks, on every stage
        project.confirm(f"delete every key in {target.display()} (the pattern {everything[0]} matches them all)")
    elif project.settings.is_protected:
        project.confirm(f"delete keys matching {', '.join(patterns)} in {target.display()}")
    return FlushReport(deleted=flush_patterns(project, target, patterns, progress=progress))


def matches_every_key(pattern: str) -> bool:
    """A glob with no character of its own (``*``, ``**``, ``?*``): it matches every key there is."""
    return "*" in pattern and not pattern.replace("*", "").replace("?", "")


def flush_logical_database(project: Project) -> RedisTarget:
    """FLUSHDB ASYNC of the configured logical database, after the confirmation."""
    target = resolve_redis(project, planning=project.dry)
    project.confirm(f"delete every key in {target.display()}")
    flush_database(project, target)
    return target


def open_cli(project: Project, args: str) -> None:
    """redis-cli on the target, interactive when a person is at the terminal and gave no command."""
    import shlex

    from ..project import interactive_terminal

    target = resolve_redis(project)
    extra = shlex.split(args) + project.extra_args
    argv, env = cli_argv(project, target, extra, interactive=interactive_terminal() and not extra)
    code = project.runner.run(argv, check=False, extra_env=env)
    if code:
        raise StackError(f"redis-cli exited with {code}", code=code)
