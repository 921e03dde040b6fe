"""What db.restore reads: a dump file as it is, or a private decompressed copy of one.

A restore reads plain, custom and tar dumps, gzipped or not, where they are. Anything else people
receive is turned into such a file first, streamed in constant memory into ``backups/`` (mode
0600, a name no other run uses) and removed on every exit: a dump piped on stdin (`--file -`), and
dumps compressed with zstd, xz or bzip2, or zipped (one member), recognised by their content, not
their name. A copy a killed run left (its pid gone) is removed by the next one.
"""

from __future__ import annotations

import bz2
import contextlib
import lzma
import os
import secrets
import shutil
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Literal

from ..errors import StackError
from . import dumpfiles

if TYPE_CHECKING:
    from ..project import Project

STDIN = Path("-")
#: Leading bytes of the compressions a restore unpacks into a copy first (gzip it reads as it is).
Compression = Literal["zstd", "xz", "bzip2", "zip"]
MAGIC: dict[bytes, Compression] = {
    b"\x28\xb5\x2f\xfd": "zstd",
    b"\xfd7zXZ\x00": "xz",
    b"BZh": "bzip2",
    b"PK\x03\x04": "zip",
}
PREFIX = ".incoming-"


def compression_of(path: Path) -> Compression | None:
    with path.open("rb") as handle:
        head = handle.read(8)
    return next((name for magic, name in MAGIC.items() if head.startswith(magic)), None)


@contextlib.contextmanager
def readable_dump(project: Project, path: Path) -> Iterator[Path]:
    """``path`` itself, or a decompressed private copy (stdin, zstd, xz, bzip2, zip)."""
    from .backup import backup_directory

    directory = backup_directory(project)
    if directory.is_dir() and not project.dry:
        remove_stale_copies(directory)  # whatever this run reads: a killed run's copies go
    if path != STDIN and (not path.is_file() or compression_of(path) is None):
        yield path  # as it is (a missing file is said by the restore)
        return
    dumpfiles.ensure_private_directory(directory)
    copies: list[Path] = []
    try:
        source = path
        if path == STDIN:
            if sys.stdin is None or sys.stdin.closed:
                raise StackError("--file - reads the dump from stdin, which is closed", hint="pipe a dump in: … |")
            if sys.stdin.isatty():
                raise StackError("--file - reads the dump from stdin, which is a terminal", hint="pipe a dump in: … |")
            source = _private_copy(directory, copies, sys.stdin.buffer, "the dump from stdin")
        compression = compression_of(source)
        if compression:
            source = _decompressed(project, directory, copies, source, compression)
        yield source
    finally:
        for copy in copies:
            copy.unlink(missing_ok=True)


def _decompressed(project: Project, directory: Path, copies: list[Path], path: Path, compression: Compression) -> Path:
    label = "the dump from stdin" if path.name.startswith(PREFIX) else path.name
    project.runner.note(f"{label} is {compression}-compressed: unpacking it into a private copy in {directory}")
    if compression == "zstd":
        argv = ["zstd", "-dc", "--", str(path)]
        child = project.runner.start(argv, stdout=subprocess.PIPE, what="zstd", changes=False)
        with child:
            copy = _private_copy(directory, copies, child.stdout, f"{path.name} (zstd)")
            child.wait()
        return copy
    if compression == "zip":
        try:
            with zipfile.ZipFile(path) as archive:
                members = [info for info in archive.infolist() if not info.is_dir()]
                if len(members) != 1:
                    raise StackError(f"{path} holds {len(members)} files; a restore takes a zip of one dump")
                with archive.open(members[0]) as member:
                    return _private_copy(directory, copies, member, f"{path.name}: {members[0].filename}")
        except (zipfile.BadZipFile, zlib.error, EOFError) as error:
            raise StackError(f"{path}: broken zip data ({error})") from None
        except NotImplementedError as error:  # a compression method Python does not read
            raise StackError(f"{path}: {error}", hint="zip it again with the usual method (deflate)") from None
        except RuntimeError as error:  # "File … is encrypted, password required"
            raise StackError(f"{path}: {error}", hint="unpack it yourself, then restore the dump") from None
    opener = lzma.open if compression == "xz" else bz2.open
    try:
        with opener(path, "rb") as handle:
            return _private_copy(directory, copies, handle, f"{path.name} ({compression})")
    except (lzma.LZMAError, OSError, EOFError) as error:
        raise StackError(f"{path}: broken {compression} data ({error})") from None


def unpack_limit(directory: Path) -> int:
    """How much a copy may take: the free space there, less a margin (a tenth of the disk, at most
    1 GiB) that the database and everyone else keep."""
    usage = shutil.disk_usage(directory)
    return max(0, usage.free - min(usage.total // 10, 1 << 30))


def _private_copy(directory: Path, copies: list[Path], source: IO[bytes], what: str) -> Path:
    """``source`` into a new private file, in constant memory, bounded by ``unpack_limit``: a small
    file that unpacks to fill the disk is stopped before it does."""
    copy = directory / f"{PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
    fd = dumpfiles.create_private(copy)
    copies.append(copy)
    limit = unpack_limit(directory)
    written = 0
    try:
        with os.fdopen(fd, "wb") as handle:
            while chunk := source.read(dumpfiles.CHUNK):
                written += len(chunk)
                if written > limit:
                    raise StackError(
                        f"{what} unpacks to more than the {dumpfiles.human_size(limit)} {directory} can spare "
                        "(its free space less a margin): stopped before the disk filled",
                        hint="unpack it yourself where there is room, then restore the unpacked dump",
                    )
                handle.write(chunk)
    except (lzma.LZMAError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise StackError(f"{what}: broken compressed data ({error})") from None
    if copy.stat().st_size == 0:
        raise StackError(f"{what} is empty")
    return copy


def remove_stale_copies(directory: Path) -> None:
    from ..leftovers import pid_alive

    for stale in directory.glob(f"{PREFIX}*"):
        with contextlib.suppress(ValueError, OSError):
            if not pid_alive(int(stale.name.removeprefix(PREFIX).split("-")[0])):
                stale.unlink()
