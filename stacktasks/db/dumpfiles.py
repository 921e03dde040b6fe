"""Dump files on disk: private folders, safe names, atomic streamed writes and their progress.

Reading a dump is dumpread.py's; its manifest is manifest.py's; the backup folder's listing and
retention are backupfiles.py's.

A dump is written to ``NAME.dump.partial`` (mode 0600), fsynced, and renamed only when the
tool that produced it exited 0, so a file without ``.partial`` is always complete. Its
manifest (``NAME.dump.json``) is renamed into place first: a complete dump always has one.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import stat
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import StackError

CHUNK = 1 << 20
SUFFIX: dict[str, str] = {"custom": ".dump", "plain": ".sql"}
PARTIAL = ".partial"
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # whole names only: fullmatch, never $


def partial_path(path: Path) -> Path:
    return path.with_name(path.name + PARTIAL)


def check_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name) or len(name) > 200:
        raise StackError(
            f"backup name {name!r} is not allowed",
            hint="use letters, digits, dots, dashes and underscores",
            code=2,
        )
    return name


def ensure_private_directory(directory: Path) -> None:
    """The backups folder: created 0700; an existing one must be ours and 0700 already.

    A folder another user owns, or a file in its place, is refused: dumps hold the whole database,
    and a folder others can write to lets them plant links where our files will be written.
    """
    made = False
    with contextlib.suppress(FileExistsError):
        directory.mkdir(parents=True, mode=0o700)
        made = True
    info = directory.stat()
    if not stat.S_ISDIR(info.st_mode):
        raise StackError(f"{directory} is not a folder", hint="move it away, or set db.backup_dir to a folder")
    if info.st_uid != os.geteuid():
        raise StackError(
            f"{directory} belongs to another user (uid {info.st_uid}): refusing to write dumps there",
            hint="set db.backup_dir to a folder of your own",
        )
    if stat.S_IMODE(info.st_mode) & 0o077:
        if not made:  # a folder stacktasks did not make keeps its mode: said, not changed
            raise StackError(
                f"{directory} can be read or written by others (mode {stat.S_IMODE(info.st_mode):o}): "
                "dumps hold the whole database",
                hint=f"chmod 700 {directory}, or set db.backup_dir to a folder of its own",
            )
        directory.chmod(0o700)  # made just now, under a umask that dropped none of the bits


def link_into_place(source: Path, destination: Path) -> None:
    """Give a finished file its final name, never replacing a file that is there (unlike rename)."""
    try:
        os.link(source, destination, follow_symlinks=False)
    except FileExistsError:
        raise StackError(f"{destination} appeared while the backup ran: left as it is") from None
    source.unlink()


def fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):  # some filesystems refuse; the rename is still atomic
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class Progress:
    """One self-rewriting status line on a terminal; silent otherwise."""

    def __init__(
        self, label: str, *, enabled: bool, stream: IO[str] | None = None, total: int = 0, total_label: str = ""
    ) -> None:
        self.label = label
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.total = total
        self.total_label = total_label
        self.started = time.monotonic()
        self._shown = 0.0

    def update(self, done: int, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._shown < 0.25:
            return
        self._shown = now
        elapsed = max(now - self.started, 1e-6)
        rate = done / elapsed
        line = f"{self.label}: {human_size(done)} · {human_size(int(rate))}/s · {elapsed:.0f}s"
        if self.total:
            share = min(done / self.total, 1.0)
            remaining = (self.total - done) / rate if rate and done < self.total else 0
            line += f" · {share:.0%} of {human_size(self.total)}, ~{remaining:.0f}s left"
        elif self.total_label:
            line += f" · {self.total_label}"
        self.stream.write("\r\033[K" + line)
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


@dataclass
class Written:
    size: int
    sha256: str


def create_private(path: Path) -> int:
    """A new file, 0600, never through a symlink and never over an existing file (O_EXCL)."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)


def stream_to_file(source: IO[bytes], destination: Path | int, progress: Progress) -> Written:
    """Copy a stream into a new file (or the open ``fd``) in constant memory, hashing as it goes;
    fsynced and closed."""
    fd = create_private(destination) if isinstance(destination, Path) else destination
    digest = hashlib.sha256()
    size = 0
    try:
        source_fd = source.fileno()
        while True:
            chunk = os.read(source_fd, CHUNK)
            if not chunk:
                break
            digest.update(chunk)
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view) :]
            size += len(chunk)
            progress.update(size)
        try:
            os.fsync(fd)
        except OSError as error:  # a pipe (--output -) has nothing to sync
            if error.errno not in (errno.EINVAL, errno.ESPIPE, errno.ENOTSUP):
                raise
    finally:
        os.close(fd)
    progress.update(size, force=True)
    progress.finish()
    return Written(size, digest.hexdigest())


def write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    """A new JSON file, written whole under a private temporary name, then linked into place."""
    import secrets

    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}{PARTIAL}")
    fd = create_private(partial)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        link_into_place(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
