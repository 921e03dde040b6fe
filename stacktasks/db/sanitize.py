"""Sanitising rules: the project's own SQL, run in a restored copy before it replaces the database.

The rules are ``db.sanitize`` (statements, each reported with the rows it changed) and
``db.sanitize_file`` (a ``.sql`` file of the project's, run as one script after them). They run in
the scratch database of a restore, after its row counts were checked against the dump's (the
counts describe the data as it was dumped, before any rule), in one transaction: a rule that fails
rolls all of them back, the scratch is dropped, and the database is left as it was.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import USAGE, StackError, first_line
from .admin import connect

if TYPE_CHECKING:
    from ..project import Project
    from .target import DbTarget


@dataclass(frozen=True)
class Rule:
    label: str  # how the result names it: "rule 1", or the file's name
    sql: str


@dataclass(frozen=True)
class RuleResult:
    label: str
    rows: int | None  # None for a script: its statements' counts are not told apart

    def describe(self) -> str:
        return f"{self.label} ({'ran' if self.rows is None else f'{self.rows} rows'})"


def sanitizing_rules(project: Project) -> tuple[Rule, ...]:
    """The project's rules, read now; an error where there are none, or the file cannot be read."""
    settings = project.settings.db
    rules = [Rule(f"rule {number}", sql) for number, sql in enumerate(settings.sanitize, 1) if sql.strip()]
    if settings.sanitize_file:
        path = project.settings.directory / settings.sanitize_file
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise StackError(f"db.sanitize_file {settings.sanitize_file}: {error}", code=USAGE) from None
        if text.strip():
            rules.append(Rule(path.name, text))
    if not rules:
        raise StackError(
            "no sanitising rules: set db.sanitize (SQL statements) or db.sanitize_file (a .sql file)",
            hint="[tool.stacktasks.db] sanitize = [\"UPDATE users SET email = 'user' || id || '@example.invalid'\"]",
            code=USAGE,
        )
    return tuple(rules)


def rules_digest(rules: tuple[Rule, ...]) -> str:
    """Which rules these are, in a few characters (a manifest records it; a confirmation shows it)."""
    digest = hashlib.sha256()
    for rule in rules:
        digest.update(rule.sql.encode() + b"\0")
    return digest.hexdigest()[:16]


def apply_rules(target: DbTarget, dbname: str, rules: tuple[Rule, ...]) -> tuple[RuleResult, ...]:
    """Every rule in ``dbname``, in one transaction, as the target's user; what each changed."""
    import psycopg

    results = []
    conn = connect(target, dbname, autocommit=False)
    try:
        for rule in rules:
            try:
                cursor = conn.execute(rule.sql.encode())
            except psycopg.Error as error:
                conn.rollback()
                raise StackError(
                    f"sanitising {rule.label} failed: {first_line(str(error))}; no rule was kept",
                    hint="fix the rule (db.sanitize / db.sanitize_file); the database was not changed",
                ) from None
            single = rule.label.startswith("rule ")
            results.append(RuleResult(rule.label, cursor.rowcount if single and cursor.rowcount >= 0 else None))
        conn.commit()
    finally:
        conn.close()
    return tuple(results)
