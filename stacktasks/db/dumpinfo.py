"""What a dump says of itself: which database it came from, the server's version and when.

From our manifest when there is one; else from the custom format's own header (pg_dump writes
the database name, the server version and the time there) or a plain dump's header comment.
Shown in the confirmation and the result, so a dump of another database is never restored
without a word.
"""

from __future__ import annotations

import datetime
import gzip
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .dumpfiles import DumpFormat
from .manifest import Manifest


@dataclass(frozen=True)
class DumpOrigin:
    database: str | None = None
    server_version: str | None = None
    created: str | None = None

    def __post_init__(self) -> None:
        # What a file says about itself is shown with its control characters (a terminal's escape
        # sequences among them) as "?": it never drives the terminal.
        from ..runner import printable

        for name in ("database", "server_version", "created"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, printable(value))

    def describe(self) -> str:
        parts = [f"database {self.database}" if self.database else "an unnamed database"]
        if self.server_version:
            parts.append(f"PostgreSQL {self.server_version}")
        if self.created:
            parts.append(f"dumped {self.created}")
        return ", ".join(parts)


def dump_origin(path: Path, fmt: DumpFormat, manifest: Manifest | None) -> DumpOrigin:
    if manifest:
        return DumpOrigin(_text(manifest.database), _text(manifest.server_version), _text(manifest.created_at))
    opener: Any = gzip.open if fmt.gzipped else open
    with opener(path, "rb") as handle:
        if fmt.kind == "custom":
            return read_custom_header(handle)
        if fmt.kind == "plain":
            return plain_header(handle.read(4096))
    return DumpOrigin()


def _text(value: object) -> str | None:
    return str(value) if isinstance(value, str | int) and str(value) else None


def plain_header(head: bytes) -> DumpOrigin:
    match = re.search(rb"Dumped from database version (\S+)", head)
    return DumpOrigin(server_version=match.group(1).decode("ascii", "replace") if match else None)


def read_custom_header(handle: IO[bytes]) -> DumpOrigin:
    """The custom format's header (pg_backup_archiver.c, ReadHead): name, version and time."""
    try:
        head = handle.read(5 + 6)
        if not head.startswith(b"PGDMP") or len(head) < 11:
            return DumpOrigin()
        version = (head[5], head[6], head[7])
        int_size = head[8]
        if not 1 <= int_size <= 8 or version < (1, 10, 0):
            return DumpOrigin()
        reader = _Reader(handle, int_size)
        if version >= (1, 15, 0):
            handle.read(1)  # compression algorithm
        else:
            reader.integer()  # compression level
        second, minute, hour, day, month, year, _ = (reader.integer() for _ in range(7))
        database = reader.string()
        server = reader.string()
        created = datetime.datetime(year + 1900, month + 1, day, hour, minute, second).isoformat(sep=" ")
        return DumpOrigin(database, server, created)
    except (ValueError, struct.error, OverflowError, UnicodeDecodeError, EOFError):
        return DumpOrigin()


class _Reader:
    """pg_dump's integers (a sign byte, then int_size little-endian bytes) and strings."""

    def __init__(self, handle: IO[bytes], int_size: int) -> None:
        self.handle = handle
        self.int_size = int_size

    def integer(self) -> int:
        raw = self.handle.read(1 + self.int_size)
        if len(raw) != 1 + self.int_size:
            raise EOFError
        value = int.from_bytes(raw[1:], "little")
        return -value if raw[0] else value

    def string(self) -> str | None:
        length = self.integer()
        if length < 0:
            return None
        if length > 1024:
            raise ValueError("implausible string in a dump header")
        return self.handle.read(length).decode("utf-8")
