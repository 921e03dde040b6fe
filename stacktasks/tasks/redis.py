"""The redis namespace: flush-ratelimits, flush, count, cli."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from . import stack_task

if TYPE_CHECKING:
    from ..project import Project


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
        "yes": "confirm without asking (asked only on a protected stage, or for a pattern matching every key)",
    },
)
def flush_ratelimits(
    project: Project, pattern: list[str] | None = None, dry_run: bool = False, yes: bool = False
) -> None:
    """Delete the rate-limit keys: SCAN + UNLINK in pipelined batches, never KEYS; any key bytes."""
    from ..redis.flush import flush_ratelimits as flush

    meter = _Meter("deleted") if _on_terminal() else None
    report = flush(project, list(pattern or []), count_only=dry_run, progress=meter)
    if meter is not None:
        meter.clear()
    if report.not_counted:
        project.runner.note(f"not counted: {report.not_counted}")
    _print_counts(report.counted, " (dry run: nothing deleted)")
    for name, number in report.deleted.items():
        print(f"deleted {number} keys matching {name!r}")


@stack_task(help={"yes": "confirm without asking (for scripts)"})
def flush(project: Project, yes: bool = False) -> None:
    """Empty the configured logical database (FLUSHDB ASYNC); other databases are untouched. Asks first."""
    from ..redis.flush import flush_logical_database

    target = flush_logical_database(project)
    if not project.dry:
        print(f"flushed {target.display()}")


@stack_task(
    help={"pattern": "the key pattern, e.g. 'session:*'", "json": "print the count and the sample keys as JSON"}
)
def count(project: Project, pattern: str, json: bool = False) -> None:
    """Count the keys matching a pattern (SCAN, never KEYS) and show a few of them."""
    from ..redis.flush import count_patterns
    from ..redis.target import resolve_redis

    target = resolve_redis(project)
    counts = count_patterns(project, target, [pattern])
    if not json:
        _print_counts(counts, "")
        return
    import json as json_module

    patterns = [{"pattern": name, "keys": number, "samples": samples} for name, (number, samples) in counts.items()]
    print(json_module.dumps({"database": target.display(), "patterns": patterns}, indent=2))


@stack_task(help={"args": "a command for redis-cli (or give it after --); none: interactive"})
def cli(project: Project, args: str = "") -> None:
    """Open redis-cli on the configured database (in the redis service when there is one)."""
    from ..redis.flush import open_cli

    open_cli(project, args)


def _on_terminal() -> bool:
    from ..safety import has_terminal

    return has_terminal(sys.stderr)


class _Meter:
    """A self-rewriting count of deleted keys on a terminal."""

    def __init__(self, verb: str) -> None:
        self.verb = verb
        self.shown = False

    def __call__(self, number: int) -> None:
        if number and number % 10000 < 1000:
            sys.stderr.write(f"\r{self.verb} {number} keys")
            sys.stderr.flush()
            self.shown = True

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
