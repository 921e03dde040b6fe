"""The backup folder's files: what is there, oldest first by instant, what stacktasks made
(a sealed manifest, see ours.py), and the retention of automatic backups."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import StackError
from .dumpfiles import PARTIAL
from .manifest import Manifest, manifest_path, read_manifest


@dataclass
class BackupFile:
    path: Path
    manifest: Manifest | None
    unreadable: bool = False  # a manifest is there, but not one this version can read

    @property
    def reason(self) -> str:
        """Why it was taken, as listings say it."""
        if self.manifest is not None:
            return str(self.manifest.reason)
        return "bad manifest" if self.unreadable else "no manifest"

    @property
    def created(self) -> str:
        if self.manifest and self.manifest.created_at:
            return self.manifest.created_at
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(self.path.stat().st_mtime))

    @property
    def instant(self) -> float:
        """When it was taken, as an instant: manifests written in other time zones compare right."""
        import datetime

        try:
            moment = datetime.datetime.fromisoformat(self.created)
        except ValueError:
            return self.path.stat().st_mtime
        if moment.tzinfo is None:  # a time of day without a zone: this machine's
            moment = moment.astimezone()
        return moment.timestamp()

    @property
    def automatic(self) -> bool:
        return bool(self.manifest and self.manifest.automatic)

    @property
    def database(self) -> str:
        return self.manifest.database or "?" if self.manifest else "?"

    def made_here(self, key: bytes | None) -> bool:
        """Whether stacktasks wrote this backup, for this project: its manifest's seal verifies for
        this very file (name, size, digest), which nobody without the project's key can forge."""
        from .ours import verifies

        manifest = self.manifest
        if manifest is None or self.path.is_symlink() or manifest_path(self.path).is_symlink():
            return False
        try:
            size = self.path.stat().st_size
        except OSError:
            return False
        return size == manifest.size and verifies(key, manifest.seal, *manifest.sealed_parts(self.path.name))


def list_backups(directory: Path) -> list[BackupFile]:
    """Complete backups, oldest first (by the instant in the manifest, else the file's time);
    links are not backups and are left out."""
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        if path.suffix in (".dump", ".sql", ".gz", ".tar") and path.is_file() and not path.is_symlink():
            try:
                found.append(BackupFile(path, read_manifest(path)))
            except StackError:  # listed all the same; restoring it says what is wrong
                found.append(BackupFile(path, None, unreadable=True))
    # The manifest's time has whole seconds; the file's own time orders backups within one.
    return sorted(found, key=lambda backup: (backup.instant, backup.path.stat().st_mtime_ns))


def incomplete_backups(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(
        p
        for p in directory.iterdir()
        if (p.name.endswith(PARTIAL) and not p.name.endswith(".json" + PARTIAL)) or p.name.startswith(".incoming-")
    )


def prune_automatic(
    directory: Path, database: str, keep: int, *, made: Path, in_use: tuple[Path, ...] = ()
) -> list[Path]:
    """Delete the automatic backups of ``database`` that stacktasks made, all but ``made`` (the
    one the task just took, which it names: never pruned), those ``in_use`` (the dump the same
    task goes on to restore) and the newest ``keep - 1`` others (``keep`` 0 keeps only ``made``);
    return what went."""
    from .ours import project_key

    key = project_key(directory, create=False)
    spared = {made.resolve(), *(path.resolve() for path in in_use)}
    automatic = [
        b
        for b in list_backups(directory)
        if b.automatic and b.database == database and b.path.resolve() not in spared and b.made_here(key)
    ]
    doomed = automatic[: max(len(automatic) - max(keep - 1, 0), 0)]
    for backup in doomed:
        remove_backup(backup.path)
    return [backup.path for backup in doomed]


def remove_backup(path: Path) -> None:
    """A backup and its manifest, whichever of them is there."""
    path.unlink(missing_ok=True)
    manifest_path(path).unlink(missing_ok=True)
