"""db.backups: the backups listed (as text or JSON), and manual ones pruned by count or age.

Automatic backups (before a reset, a restore's safety dump) keep their own retention
(``db.keep_automatic``); ``--prune`` deals with the ones people take by hand, which otherwise
fill the disk. It asks first and, under ``--dry``, only says which would go.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import USAGE, StackError
from . import backupfiles

if TYPE_CHECKING:
    from pathlib import Path

    from ..project import Project

UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str) -> int:
    """Seconds in ``30d``, ``12h``, ``2w``, ``90m``."""
    match = re.fullmatch(r"\s*(\d+)\s*([mhdw])\s*", text)
    if not match:
        raise StackError(f"--older-than {text!r}: give a number and a unit, e.g. 30d, 12h, 2w, 90m", code=USAGE)
    return int(match.group(1)) * UNITS[match.group(2)]


def backup_record(item: backupfiles.BackupFile) -> dict[str, Any]:
    """One backup as ``--json`` gives it."""
    manifest = item.manifest
    return {
        "file": str(item.path),
        "created": item.created,
        "size": item.path.stat().st_size,
        "database": item.database,
        "reason": item.reason,
        "automatic": item.automatic,
        "format": manifest.format if manifest else None,
        "sha256": manifest.sha256 if manifest else None,
        "tables": manifest.tables if manifest else None,
    }


@dataclass
class Pruned:
    removed: list[Path]
    kept: int


def prune_backups(project: Project, *, keep: int | None, older_than: str | None) -> Pruned:
    """Remove manual backups beyond the newest ``keep`` and/or older than ``older_than``."""
    from .backup import backup_directory

    if keep is None and not older_than:
        raise StackError("--prune needs --keep N or --older-than AGE (or both)", code=USAGE)
    if keep is not None and keep < 0:
        raise StackError("--keep must be 0 or more", code=USAGE)
    from .ours import project_key

    directory = backup_directory(project)
    key = project_key(directory, create=False)
    # Only what stacktasks made here is a candidate: a file with a manifest of its own is not.
    manual = [item for item in backupfiles.list_backups(directory) if not item.automatic and item.made_here(key)]
    doomed: set[Path] = set()
    if keep is not None:
        doomed.update(item.path for item in manual[: max(len(manual) - keep, 0)])
    if older_than:
        limit = time.time() - parse_age(older_than)
        doomed.update(item.path for item in manual if item.instant < limit)
    ordered = [item.path for item in manual if item.path in doomed]
    if not ordered:
        return Pruned([], len(manual))
    listed = ", ".join(path.name for path in ordered)
    if project.dry:
        project.runner.note(f"remove {len(ordered)} manual backup(s) and their manifests: {listed}")
        return Pruned(ordered, len(manual) - len(ordered))
    project.confirm(f"remove {len(ordered)} manual backup(s): {listed}")
    for path in ordered:
        backupfiles.remove_backup(path)
    return Pruned(ordered, len(manual) - len(ordered))
