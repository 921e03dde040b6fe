"""The extensions a dump needs, made ready before the load role applies it (see loadrole.py).

A trusted extension (pgcrypto, hstore, …) the load role creates itself, as the scratch
database's owner, and owns. One that is not trusted only a superuser may create: the admin
connection creates it first, by the name the dump gives, where the server offers it, never by
running the dump's text. The dump's own ``CREATE EXTENSION IF NOT EXISTS`` then does nothing;
its ``COMMENT ON EXTENSION`` (owner only) is left out of the load: the extension already carries
the comment its control file gives, which is the one pg_dump wrote.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .admin import connect, server_major, statement

if TYPE_CHECKING:
    from pathlib import Path

    from .dumpread import DumpFormat
    from .target import DbTarget

#: A TOC line of ``pg_restore -l``: ``12; 3079 16385 EXTENSION - pgcrypto`` or
#: ``4001; 0 0 COMMENT - EXTENSION pgcrypto``.
TOC_EXTENSION = re.compile(r"^\d+; \d+ \d+ (?:EXTENSION - (?P<ext>\S+)|COMMENT - EXTENSION (?P<comment>\S+))\s*$")
PLAIN_EXTENSION = re.compile(rb'^CREATE EXTENSION IF NOT EXISTS ("(?:[^"]|"")+"|[a-z_][a-z0-9_$-]*)\b', re.IGNORECASE)
#: pg_dump writes extensions before the first table: the search stops there (or at this size).
PLAIN_SCAN_LIMIT = 16 * 1024 * 1024


def toc_extensions(toc: str) -> list[str]:
    """The extensions a custom or tar dump's table of contents creates."""
    names = []
    for line in toc.splitlines():
        match = TOC_EXTENSION.match(line)
        if match and match.group("ext"):
            names.append(match.group("ext"))
    return names


def toc_without(toc: str, extensions: Iterable[str]) -> str:
    """The table of contents with ``extensions``' own entries (created, commented) left out."""
    skipped = set(extensions)
    lines = []
    for line in toc.splitlines():
        match = TOC_EXTENSION.match(line)
        name = match and (match.group("ext") or match.group("comment"))
        lines.append(f";{line}" if name and name in skipped else line)
    return "\n".join(lines) + "\n"


def plain_extensions(path: Path, fmt: DumpFormat) -> list[str]:
    """The extensions a plain dump creates before its first table."""
    from .dumpread import open_dump_stream

    names: list[str] = []
    read = 0
    with open_dump_stream(path, fmt) as stream:
        for line in stream:
            read += len(line)
            if line.startswith((b"CREATE TABLE", b"COPY ")) or read > PLAIN_SCAN_LIMIT:
                break
            match = PLAIN_EXTENSION.match(line)
            if match:
                name = match.group(1).decode("utf-8", "replace")
                names.append(name[1:-1].replace('""', '"') if name.startswith('"') else name)
    return names


def prepare_extensions(target: DbTarget, scratch: str, wanted: list[str]) -> list[str]:
    """Create in ``scratch`` (as the admin) each of ``wanted`` that only a superuser may create and
    the server offers; return the extensions of ``wanted`` that are then already there, which the
    load must not create or comment on."""
    if not wanted:
        return []
    conn = connect(target, scratch)
    try:
        for name in untrusted_offered(conn, wanted):
            conn.execute(statement("create extension if not exists {} cascade", name))
        rows = conn.execute("select extname from pg_extension where extname = any(%s)", [wanted]).fetchall()
        return sorted(str(row[0]) for row in rows)
    finally:
        conn.close()


OFFERED_SQL = "select name from pg_available_extensions where name = any(%s)"
UNTRUSTED_SQL = (
    "select e.name from pg_available_extensions e left join pg_available_extension_versions v "
    "on v.name = e.name and v.version = e.default_version where e.name = any(%s) and not coalesce(v.trusted, false)"
)


def untrusted_offered(conn: Any, names: list[str]) -> list[str]:
    """Which of ``names`` the server offers and only a superuser may create (before PostgreSQL 13
    no extension was trusted)."""
    query = UNTRUSTED_SQL if server_major(conn) >= 13 else OFFERED_SQL
    rows = conn.execute(query, [names]).fetchall()
    return [str(row[0]) for row in rows]
