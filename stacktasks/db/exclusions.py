"""What a backup leaves out: whole tables (``--exclude-table``) or only their rows
(``--exclude-table-data``: audit logs, sessions), as pg_dump's own patterns.

The patterns go to pg_dump as they are; the same patterns decide which tables' rows are counted
for the manifest, so that a restore's verification expects what the dump holds: an excluded
table is not expected at all, a table without its data is expected empty. They are matched as
pg_dump matches them, by the server itself: each pattern turned into the regular expressions
psql's rules make of it (``*`` and ``?`` wildcards, a dot between schema and table, unquoted
names folded to lower case, every other regular-expression character working as such outside
double quotes and literal inside them), applied with the server's ``~``; a name without a schema
matches the tables visible on the role's search_path, as pg_dump resets it to match them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..errors import StackError

if TYPE_CHECKING:
    import psycopg

#: What a pattern leaves out of a table: all of it, or its rows.
Excluded = Literal["table", "data"]


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

    def on_server(self, conn: psycopg.Connection[Any]) -> Callable[[str, str], Excluded | None]:
        """Which tables the patterns leave out, asked of the server as pg_dump asks it: "table"
        for a table left out, "data" for one whose rows are, else None."""
        tables = _matching(conn, self.tables)
        data = _matching(conn, self.table_data)

        def kind(schema: str, table: str) -> Excluded | None:
            if (schema, table) in tables:
                return "table"
            return "data" if (schema, table) in data else None

        return kind

    def record(self) -> dict[str, Any]:
        """What the manifest says was left out."""
        return {"tables": list(self.tables), "table_data": list(self.table_data)}


TABLES_FROM = (
    "select n.nspname, c.relname from pg_catalog.pg_class c join pg_catalog.pg_namespace n "
    "on n.oid = c.relnamespace where c.relkind in ('r', 'p') and c.relname ~ %s collate pg_catalog.default "
)
#: A pattern without a schema: the tables visible on the search path (as pg_dump resets it).
VISIBLE_SQL = TABLES_FROM + "and pg_catalog.pg_table_is_visible(c.oid)"
IN_SCHEMA_SQL = TABLES_FROM + "and n.nspname ~ %s collate pg_catalog.default"


def _matching(conn: psycopg.Connection[Any], patterns: Sequence[str]) -> set[tuple[str, str]]:
    import psycopg

    found: set[tuple[str, str]] = set()
    for pattern in patterns:
        parts = _split(pattern)
        if len(parts) > 3:
            raise StackError(f"{pattern!r} is not a pattern pg_dump reads (too many dotted names)")
        name = f"^({psql_regex(parts[-1])})$"
        query, args = (
            (VISIBLE_SQL, [name]) if len(parts) == 1 else (IN_SCHEMA_SQL, [name, f"^({psql_regex(parts[-2])})$"])
        )
        try:
            with conn.transaction():  # a savepoint: a refused pattern leaves the snapshot usable
                conn.execute("set local search_path to default")
                rows = conn.execute(query, args).fetchall()
        except psycopg.errors.InvalidRegularExpression as error:
            raise StackError(
                f"{pattern!r} is not a pattern pg_dump can read: {str(error).splitlines()[0]}",
                hint="psql's pattern rules: * and ? are wildcards; quote a name to match it literally",
            ) from None
        found.update((str(schema_name), str(table)) for schema_name, table in rows)
    return found


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


def psql_regex(part: str) -> str:
    """One part of a pattern as the regular expression psql makes of it (patternToSQLRegex):
    outside double quotes ``*`` is ``.*``, ``?`` is ``.``, capitals fold to lower case and other
    regular-expression characters keep their meaning; inside, every character is literal."""
    out, quoted, index = [], False, 0
    while index < len(part):
        char = part[index]
        if char == '"':
            if quoted and part[index + 1 : index + 2] == '"':  # "" inside quotes is one "
                out.append('"')
                index += 1
            else:
                quoted = not quoted
        elif not quoted and char == "*":
            out.append(".*")
        elif not quoted and char == "?":
            out.append(".")
        elif not quoted and char.isupper():
            out.append(char.lower())
        elif char == "$":
            out.append("\\$")
        elif quoted and char in "|*+?()[]{}.^\\":
            out.append("\\" + char)
        else:
            out.append(char)
        index += 1
    return "".join(out)
