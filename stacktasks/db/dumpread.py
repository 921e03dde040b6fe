"""A dump file read once before anything changes, into one typed value the restore then uses.

What a dump says of itself (``DumpOrigin``: which database, the server's version, when) is
shown in the confirmation and the result, so a dump of another database is never restored
without a word.

One open of the file: its head (gunzipped where it is gzip) says the format, what it says of
itself and, for plain SQL, whether it is pg_dump's; its tail holds a plain dump's footer; one pass
over the whole file checks it against its manifest's digest. Nothing else reads the file before
the load streams it.
"""

from __future__ import annotations

import contextlib
import datetime
import gzip
import hashlib
import io
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from ..errors import StackError
from .manifest import Manifest, read_manifest

#: What pg_dump wrote: its custom or tar archive, or plain SQL.
DumpKind = Literal["custom", "tar", "plain"]
#: What db.backup writes.
BackupFormat = Literal["custom", "plain"]

SNIFF = 1 << 18  # the head read: enough for a plain dump's preamble and any archive's header
TAIL = 4096
CHUNK = 1 << 20
DUMPED_FROM = re.compile(rb"Dumped from database version (\d+)")
SWITCHES_DATABASE = re.compile(rb"^(\\connect|\\c |create database|drop database)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class DumpFormat:
    kind: DumpKind
    gzipped: bool = False

    def describe(self) -> str:
        name = {"custom": "custom-format dump", "tar": "tar-format dump", "plain": "plain SQL dump"}[self.kind]
        return f"gzip-compressed {name}" if self.gzipped else name


@dataclass(frozen=True)
class ReadDump:
    """What the restore knows of a dump before it starts: all of it checked."""

    path: Path
    format: DumpFormat
    manifest: Manifest | None
    origin: DumpOrigin
    server_major: int | None  # the server it was dumped from, where the dump or its manifest says


def read_dump(path: Path) -> ReadDump:
    """The dump at ``path``, read once and checked; an error for anything that is not a whole,
    restorable dump, before anything changes."""
    from .plaindump import check_plain_head, check_plain_tail

    manifest = read_manifest(path)
    with _open_regular(path) as handle:
        raw = handle.read(SNIFF)
        fmt, head = _sniff(path, handle, raw)
        size = handle.seek(0, io.SEEK_END)
        if manifest:
            _check_against(path, handle, size, manifest)
        if fmt.kind == "plain":
            if SWITCHES_DATABASE.search(head):
                raise StackError(
                    f"{path} connects to or creates databases itself (made with pg_dump --create or pg_dumpall)",
                    hint="dump without --create (inv db.backup does), then restore that",
                )
            check_plain_head(path.name, head)
            if not fmt.gzipped:
                handle.seek(max(0, size - TAIL))
                check_plain_tail(path.name, handle.read())
    major = manifest.server_major if manifest and manifest.server_major else None
    if major is None and fmt.kind == "plain" and (named := DUMPED_FROM.search(head)):
        major = int(named.group(1))
    return ReadDump(path, fmt, manifest, origin_of(head, fmt, manifest), major)


@contextlib.contextmanager
def open_dump_stream(path: Path, fmt: DumpFormat) -> Iterator[IO[bytes]]:
    """The dump's bytes, gunzipped when needed."""
    with gzip.open(path, "rb") if fmt.gzipped else path.open("rb") as handle:
        yield handle  # type: ignore[misc]


def detect_format(path: Path) -> DumpFormat:
    """The dump's format, read from its content; an error for anything that is not a dump."""
    with _open_regular(path) as handle:
        return _sniff(path, handle, handle.read(SNIFF))[0]


def _open_regular(path: Path) -> IO[bytes]:
    if not path.exists():
        raise StackError(f"{path}: no such file", hint="inv db.backups lists the backups")
    if not path.is_file():
        raise StackError(f"{path}: not a file")
    return path.open("rb")


def _sniff(path: Path, handle: IO[bytes], raw: bytes) -> tuple[DumpFormat, bytes]:
    """The format, and the head as pg_restore or psql will read it (gunzipped)."""
    if not raw:
        raise StackError(f"{path} is empty: not a dump")
    gzipped = raw.startswith(b"\x1f\x8b")
    head = raw
    if gzipped:
        try:
            handle.seek(0)
            head = gzip.GzipFile(fileobj=handle, mode="rb").read(SNIFF)
        except (OSError, EOFError) as error:
            raise StackError(f"{path}: broken gzip data ({error})") from None
    kind = _classify(head[:4096])
    if kind is None:
        raise StackError(f"{path} is not a PostgreSQL dump (neither custom format, tar format nor SQL text)")
    return DumpFormat(kind, gzipped), head


def _check_against(path: Path, handle: IO[bytes], size: int, manifest: Manifest) -> None:
    if manifest.size not in (None, size):
        raise StackError(f"{path} is {size} bytes but its manifest says {manifest.size}: truncated or changed")
    if manifest.sha256:
        digest = hashlib.sha256()
        handle.seek(0)
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
        if digest.hexdigest() != manifest.sha256:
            raise StackError(f"{path} does not match the sha256 in its manifest: corrupt or changed")


def _classify(head: bytes) -> DumpKind | None:
    if head.startswith(b"PGDMP"):
        return "custom"
    if len(head) > 262 and head[257:262] == b"ustar":
        return "tar"
    if b"\x00" in head:
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # a cut multibyte character at the end is fine
            return None
        text = head[: error.start].decode("utf-8")
    stripped = text.lstrip("\ufeff \t\r\n")
    sql_starts = ("--", "/*", "set ", "create ", "begin", "select ", "insert ", "\\", "alter ", "copy ", "start ")
    return "plain" if stripped.lower().startswith(sql_starts) else None


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


def origin_of(head: bytes, fmt: DumpFormat, manifest: Manifest | None) -> DumpOrigin:
    """Which database a dump came from, the server's version and when: from our manifest when
    there is one, else from the custom format's own header or a plain dump's header comment."""
    if manifest:
        return DumpOrigin(_text(manifest.database), _text(manifest.server_version), _text(manifest.created_at))
    if fmt.kind == "custom":
        return read_custom_header(io.BytesIO(head))
    if fmt.kind == "plain":
        return plain_header(head[:4096])
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
