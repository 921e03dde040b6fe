"""What a backup leaves out: whole tables (``--exclude-table``) or only their rows
(``--exclude-table-data``: audit logs, sessions), as pg_dump's own patterns.

The patterns go to pg_dump as they are; the same patterns decide which tables' rows are counted
for the manifest, so that a restore's verification expects what the dump holds: an excluded
table is not expected at all, a table without its data is expected empty. Matching follows
pg_dump (psql's pattern rules): ``*`` and ``?`` are wildcards, a dot separates schema from table,
an unquoted name is folded to lower case, a double-quoted one is taken as written, and a name
without a schema matches in every schema.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Exclusions:
    tables: tuple[str, ...] = ()
    table_data: tuple[str, ...] = ()

    @classmethod
    def of(cls, tables: Sequence[str] = (), table_data: Sequence[str] = ()) -> Exclusions:
        return cls(tuple(p for p in tables if p), tuple(p for p in table_data if p))

    def __bool__(self) -> bool:
        return bool(self.tables or self.table_data)

    def pg_dump_args(self) -> list[str]:
        return [f"--exclude-table={p}" for p in self.tables] + [f"--exclude-table-data={p}" for p in self.table_data]

    def kind(self, schema: str, table: str) -> str | None:
        """ "table" when the table is left out, "data" when only its rows are, else None."""
        if any(_matches(pattern, schema, table) for pattern in self.tables):
            return "table"
        if any(_matches(pattern, schema, table) for pattern in self.table_data):
            return "data"
        return None

    def record(self) -> dict[str, Any]:
        """What the manifest says was left out."""
        return {"tables": list(self.tables), "table_data": list(self.table_data)}


def _matches(pattern: str, schema: str, table: str) -> bool:
    parts = _split(pattern)
    if len(parts) == 1:
        return _regex(parts[0]).fullmatch(table) is not None
    return _regex(parts[-2]).fullmatch(schema) is not None and _regex(parts[-1]).fullmatch(table) is not None


def _split(pattern: str) -> list[str]:
    """At the dots outside double quotes (a database part, as in db.schema.table, is ignored)."""
    parts, current, quoted = [], "", False
    for char in pattern:
        if char == '"':
            quoted = not quoted
        if char == "." and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def _regex(part: str) -> re.Pattern[str]:
    out, quoted, index = "", False, 0
    while index < len(part):
        char = part[index]
        if char == '"':
            if quoted and part[index + 1 : index + 2] == '"':  # "" inside quotes is one "
                out += re.escape('"')
                index += 2
                continue
            quoted = not quoted
        elif quoted:
            out += re.escape(char)
        elif char == "*":
            out += ".*"
        elif char == "?":
            out += "."
        else:
            out += re.escape(char.lower())
        index += 1
    return re.compile(out, re.DOTALL)
