"""A backup's manifest (``<dump>.json``): a typed, versioned value, written and read only here.

Version 1 is what stacktasks writes; a manifest with no version (written before there was one)
is read as version 1; a newer version is refused, since its fields may mean something else.
Every field a reader uses is checked on the way in: the file is input like any other.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from ..errors import StackError

VERSION = 1
VERSION_KEY = "stacktasks_manifest"


class Reason(StrEnum):
    """Why a backup was taken: asked for, or automatically before a task that replaces data."""

    MANUAL = "manual"
    BEFORE_RESTORE = "before restore"
    BEFORE_RESET = "before reset"
    OTHER = "other"  # a reason this version does not know (a foreign or hand-edited manifest)


@dataclass(frozen=True)
class Manifest:
    database: str | None = None
    size: int | None = None
    sha256: str | None = None
    format: str | None = None
    file: str | None = None
    server_version: str | None = None
    server_major: int | None = None
    created_at: str | None = None
    stage: str | None = None
    compose_project: str | None = None
    source: str | None = None
    git_commit: str | None = None
    automatic: bool = False
    reason: Reason = Reason.MANUAL
    tables: dict[str, int] = field(default_factory=dict)
    excluded: dict[str, list[str]] | None = None
    sanitized: str | None = None  # the digest of the sanitising rules the dump was made with
    seal: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {VERSION_KEY: VERSION, **asdict(self)}
        data["reason"] = str(self.reason)
        return {key: value for key, value in data.items() if value is not None}

    def sealed_parts(self, name: str) -> tuple[object, ...]:
        """What a backup's seal is over: the file itself (name, size, digest), its database, and
        the rules it was sanitised with where it was (so no record can claim that afterwards)."""
        sanitized = ("sanitized", self.sanitized) if self.sanitized else ()
        return ("backup", name, self.size, self.sha256, self.database, *sanitized)

    def with_seal(self, seal: str) -> Manifest:
        return replace(self, seal=seal)

    @classmethod
    def from_dict(cls, data: object, where: str) -> Manifest:
        if not isinstance(data, dict):
            raise StackError(f"{where}: malformed manifest (not a JSON object)")
        version = data.get(VERSION_KEY, VERSION)
        if not isinstance(version, int) or isinstance(version, bool) or version > VERSION:
            raise StackError(
                f"{where}: manifest version {version!r}, newer than this stacktasks reads ({VERSION})",
                hint="upgrade stacktasks, or restore the dump with --file and no manifest beside it",
            )
        values: dict[str, Any] = {}
        for key, kind, meaning in FIELDS:
            value = data.get(key)
            if value is None:
                continue
            if not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool):
                raise StackError(f"{where}: malformed manifest: '{key}' must be {meaning}, not {value!r}"[:300])
            values[key] = value
        tables = values.get("tables", {})
        if not all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 0 for k, v in tables.items()
        ):
            raise StackError(f"{where}: malformed manifest: every table's row count must be a whole number")
        reason = values.pop("reason", Reason.MANUAL.value)
        known = {member.value for member in Reason}
        return cls(**values, reason=Reason(reason) if reason in known else Reason.OTHER)


#: (key, type, what it must be) of every field, as the reader checks it.
FIELDS: tuple[tuple[str, Any, str], ...] = (
    ("database", str, "a name"),
    ("size", int, "a whole number"),
    ("sha256", str, "a hex digest"),
    ("format", str, "a format's name"),
    ("file", str, "a file name"),
    ("server_version", str, "a version"),
    ("server_major", int, "a whole number"),
    ("created_at", str, "a time"),
    ("stage", str, "a stage's name"),
    ("compose_project", str, "a name"),
    ("source", str, "a description"),
    ("git_commit", str, "a commit"),
    ("automatic", bool, "true or false"),
    ("reason", str, "a word"),
    ("tables", dict, "a table of row counts"),
    ("excluded", dict, "the exclusion patterns"),
    ("sanitized", str, "a digest of sanitising rules"),
    ("seal", str, "a seal"),
)


def manifest_path(dump: Path) -> Path:
    return dump.with_name(dump.name + ".json")


def read_manifest(dump: Path) -> Manifest | None:
    """The manifest beside ``dump``, checked; None where there is none."""
    path = manifest_path(dump)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise StackError(f"{path}: unreadable manifest ({error})") from None
    return Manifest.from_dict(data, str(path))
