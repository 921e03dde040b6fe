"""The redis namespace: flush-ratelimits, flush, count, cli."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from invoke.context import Context

from ..errors import StackError
from . import remainder_argv, stack_task
from .stack import project_label

if TYPE_CHECKING:
    from ..project import Project
    from ..redisops import RedisTarget


def _target(c: Context, *, tolerate_down: bool = False) -> tuple[Project, RedisTarget]:
    """The project and its Redis; with ``tolerate_down`` (a dry run) a stopped service still gives a plan."""
    from dataclasses import replace

    from ..project import Project
    from ..redisops import parse_redis_url, resolve_redis

    project = Project.from_context(c)
    try:
        return project, resolve_redis(project)
    except StackError:
        if not tolerate_down:
            raise
        url = project.env.values.get(project.settings.redis.url_env) or "redis://redis:6379/0"
        target = parse_redis_url(url, project.settings.redis.url_env)
        return project, replace(target, service=target.host, in_service=True)


def _print_counts(counts: dict[str, tuple[int, list[str]]], verb: str) -> None:
    for pattern, (number, samples) in counts.items():
        print(f"{number} keys match {pattern!r}{verb}")
        for sample in samples:
            print(f"  {sample}")


@stack_task(
    name="flush-ratelimits",
    iterable=["pattern"],
    help={
        "pattern": "a key pattern to delete (repeatable; default: redis.ratelimit_patterns)",
        "dry-run": "count the matching keys and show a few; delete nothing",
        "yes": "confirm without asking (asked only on a protected stage)",
    },
)
def flush_ratelimits(
    c: Context, pattern: list[str] | None = None, dry_run: bool = False, yes: bool = False,
) -> None:
    """Delete the rate-limit keys: SCAN + UNLINK in pipelined batches, never KEYS; any key bytes."""
    from ..redisops import count_patterns, flush_patterns
    from ..safety import confirm

    project, target = _target(c, tolerate_down=bool(c.config.run.dry))
    patterns = list(pattern or []) or list(project.settings.redis.ratelimit_patterns)
    if not patterns:
        raise StackError("no pattern given and redis.ratelimit_patterns is empty", code=2)
    if dry_run or project.runner.dry:
        project.runner.note(f"SCAN MATCH {' / '.join(patterns)} COUNT 5000 + pipelined UNLINK in {target.display()}")
        try:
            _print_counts(count_patterns(project, target, patterns), " (dry run: nothing deleted)")
        except StackError as error:
            if dry_run:
                raise
            project.runner.note(f"not counted: {error.message}")  # Invoke's --dry shows the plan regardless
        return
    if project.settings.is_protected:
        confirm(f"delete keys matching {', '.join(patterns)} in {target.display()}", yes=yes, protected=True,
                expected=project_label(project))
    meter = _meter("deleted")
    deleted = flush_patterns(project, target, patterns, progress=meter)
    _clear_meter(meter)
    for name, number in deleted.items():
        print(f"deleted {number} keys matching {name!r}")


@stack_task(
    help={
        "yes": "confirm without asking (for scripts)",
    }
)
def flush(c: Context, yes: bool = False) -> None:
    """Empty the configured logical database (FLUSHDB ASYNC); other databases are untouched. Asks first."""
    from ..redisops import flush_database
    from ..safety import confirm

    project, target = _target(c, tolerate_down=bool(c.config.run.dry))
    confirm(f"delete every key in {target.display()}", yes=yes, protected=project.settings.is_protected,
            expected=project_label(project), dry=project.runner.dry)
    flush_database(project, target)
    if not project.runner.dry:
        print(f"flushed {target.display()}")


@stack_task(help={"pattern": "the key pattern, e.g. 'session:*'"})
def count(c: Context, pattern: str) -> None:
    """Count the keys matching a pattern (SCAN, never KEYS) and show a few of them."""
    from ..redisops import count_patterns

    project, target = _target(c)
    _print_counts(count_patterns(project, target, [pattern]), "")


@stack_task(help={"args": "a command for redis-cli (or give it after --); none: interactive"})
def cli(c: Context, args: str = "") -> None:
    """Open redis-cli on the configured database (in the redis service when there is one)."""
    import shlex

    from ..project import interactive_terminal
    from ..redisops import cli_argv

    project, target = _target(c)
    extra = shlex.split(args) + remainder_argv(c)
    argv, env = cli_argv(project, target, extra, interactive=interactive_terminal() and not extra)
    code = project.runner.run(argv, check=False, extra_env=env)
    if code:
        raise StackError(f"redis-cli exited with {code}", code=code)


class _Meter:
    def __init__(self, verb: str) -> None:
        self.verb = verb
        self.shown = False

    def __call__(self, number: int) -> None:
        if number and number % 10000 < 1000:
            sys.stderr.write(f"\r{self.verb} {number} keys")
            sys.stderr.flush()
            self.shown = True


def _meter(verb: str) -> _Meter | None:
    from ..safety import has_terminal

    return _Meter(verb) if has_terminal(sys.stderr) else None


def _clear_meter(meter: _Meter | None) -> None:
    if meter and meter.shown:
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()
