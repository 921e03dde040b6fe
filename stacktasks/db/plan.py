"""What a restore works from and what it gives back: plain values both ways of restoring share
(``restore.py`` by swap, ``restore_in_place.py`` in place), and the check of what was restored."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import StackError
from .admin import connect, verify_counts
from .dumpread import DumpFormat, DumpOrigin, ReadDump
from .manifest import Manifest
from .sanitize import Rule, RuleResult
from .target import DbTarget


@dataclass
class RestorePlan:
    dump: ReadDump  # the file, read once and checked (dumpread.py)
    jobs: int
    database: str = ""  # the database restored (names the dump's copies in the service)
    #: Extensions made ready before the load, whose own entries the dump skips (extensions.py).
    ready_extensions: frozenset[str] = frozenset()
    #: Sanitising rules run in the scratch database after its check, before the swap (sanitize.py).
    rules: tuple[Rule, ...] = ()

    @property
    def path(self) -> Path:
        return self.dump.path

    @property
    def format(self) -> DumpFormat:
        return self.dump.format

    @property
    def manifest(self) -> Manifest | None:
        return self.dump.manifest

    @property
    def origin(self) -> DumpOrigin:
        return self.dump.origin


@dataclass(frozen=True)
class Applied:
    """What one way of restoring did: the copy it kept, the safety dump it took, what it checked."""

    kept_as: str | None
    safety_dump: Path | None
    verified_tables: int
    ended_sessions: int
    sanitized: tuple[RuleResult, ...] = ()


@dataclass(frozen=True)
class RestoreResult:
    database: str
    seconds: float
    kept_as: str | None
    safety_dump: Path | None
    verified_tables: int
    ended_sessions: int
    origin: DumpOrigin
    source: Path
    sanitized: tuple[RuleResult, ...] = ()

    @classmethod
    def of(cls, applied: Applied, database: str, seconds: float, plan: RestorePlan) -> RestoreResult:
        return cls(
            database,
            seconds,
            applied.kept_as,
            applied.safety_dump,
            applied.verified_tables,
            applied.ended_sessions,
            plan.origin,
            plan.path,
            applied.sanitized,
        )


def verify_restored(target: DbTarget, dbname: str, plan: RestorePlan) -> int:
    """Row counts of the restored database against the manifest's; an error on any difference."""
    if plan.manifest is None:
        return 0
    return check_counts(target, dbname, plan.manifest.tables, "manifest")


def check_counts(target: DbTarget, dbname: str, expected: Mapping[str, int], against: str) -> int:
    """Row counts of a freshly loaded database against ``expected`` (what ``against`` says);
    how many tables were checked, or an error on any difference."""
    conn = connect(target, dbname)
    try:
        actual = verify_counts(conn, expected)
    finally:
        conn.close()
    differences = [
        f"{table}: {'missing' if actual[table] is None else f'{actual[table]} rows'}, {against} {count}"
        for table, count in sorted(expected.items())
        if actual[table] != count
    ]
    if differences:
        more = f"; and {len(differences) - 5} more" if len(differences) > 5 else ""
        raise StackError(f"the restored database differs from the {against}: {'; '.join(differences[:5])}{more}")
    return len(expected)
