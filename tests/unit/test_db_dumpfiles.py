"""Backup files: format detection from content, atomic private writes, names, retention."""

from __future__ import annotations

import gzip
import hashlib
import json
import stat
import subprocess
from pathlib import Path

import pytest

from stacktasks.db import backupfiles, dumpfiles
from stacktasks.db.dumpfiles import Progress
from stacktasks.db.dumpread import DumpFormat, detect_format, read_dump
from stacktasks.db.manifest import Manifest, Reason, manifest_path
from stacktasks.errors import StackError

PLAIN = b"--\n-- PostgreSQL database dump\n--\n\n-- Dumped from database version 16.2\nSET statement_timeout = 0;\n"

FOOTER = b"\n--\n-- PostgreSQL database dump complete\n--\n"


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_a_custom_dump_is_known_by_its_pgdmp_header(tmp_path: Path) -> None:
    path = write(tmp_path / "x.bin", b"PGDMP\x01\x0e\x00" + b"\x00" * 100)
    assert detect_format(path) == DumpFormat("custom")


def test_a_plain_sql_dump_is_known_by_its_text(tmp_path: Path) -> None:
    assert detect_format(write(tmp_path / "x", PLAIN)) == DumpFormat("plain")


def test_gzip_is_looked_through_to_the_dump_inside(tmp_path: Path) -> None:
    path = write(tmp_path / "x.sql.gz", gzip.compress(PLAIN))
    assert detect_format(path) == DumpFormat("plain", gzipped=True)
    custom = write(tmp_path / "y.gz", gzip.compress(b"PGDMP" + b"\x00" * 64))
    assert detect_format(custom) == DumpFormat("custom", gzipped=True)


def test_a_tar_dump_is_known_by_its_ustar_magic(tmp_path: Path) -> None:
    header = b"toc.dat".ljust(257, b"\x00") + b"ustar\x0000" + b"\x00" * 300
    assert detect_format(write(tmp_path / "x.tar", header)).kind == "tar"


@pytest.mark.parametrize(
    "content",
    [b"REDIS0011\xfa\tredis-ver\x057.0.0", b"PK\x03\x04\x14\x00\x00\x00", b"\x89PNG\r\n\x1a\n", b"hello world\n"],
    ids=["redis-rdb", "zip", "png", "prose"],
)
def test_anything_else_is_not_a_postgres_dump(tmp_path: Path, content: bytes) -> None:
    with pytest.raises(StackError, match="is not a PostgreSQL dump"):
        detect_format(write(tmp_path / "x", content))


def test_an_empty_file_and_a_missing_file_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="is empty"):
        detect_format(write(tmp_path / "empty.dump", b""))
    with pytest.raises(StackError, match="no such file"):
        detect_format(tmp_path / "missing.dump")


def test_broken_gzip_data_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="broken gzip"):
        detect_format(write(tmp_path / "x.gz", b"\x1f\x8b\x08\x00garbage"))


def test_the_server_major_is_read_from_a_plain_dumps_header(tmp_path: Path) -> None:
    assert read_dump(write(tmp_path / "x.sql", PLAIN + FOOTER)).server_major == 16


def test_a_plain_dump_made_with_create_is_refused_before_anything_changes(tmp_path: Path) -> None:
    created = PLAIN + b"CREATE DATABASE app WITH TEMPLATE = template0;\n\\connect app\n" + FOOTER
    with pytest.raises(StackError, match="connects to or creates databases itself"):
        read_dump(write(tmp_path / "c.sql", created))


def test_a_whole_plain_dump_reads_as_one_checked_value(tmp_path: Path) -> None:
    dump = read_dump(write(tmp_path / "p.sql", PLAIN + FOOTER))
    assert dump.format == DumpFormat("plain") and dump.manifest is None and dump.origin.server_version


def test_a_plain_dump_cut_before_its_footer_is_refused_on_reading(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="no pg_dump footer"):
        read_dump(write(tmp_path / "cut.sql", PLAIN))


def test_a_streamed_file_is_private_hashed_and_complete(tmp_path: Path) -> None:
    data = bytes(range(256)) * 10_000
    (tmp_path / "source").write_bytes(data)
    child = subprocess.Popen(["cat", str(tmp_path / "source")], stdout=subprocess.PIPE)
    assert child.stdout is not None
    written = dumpfiles.stream_to_file(child.stdout, tmp_path / "out", Progress("x", enabled=False))
    child.wait()
    assert (tmp_path / "out").read_bytes() == data
    assert written.size == len(data)
    assert written.sha256 == hashlib.sha256(data).hexdigest()
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o600


def test_a_streamed_file_never_overwrites_an_existing_one(tmp_path: Path) -> None:
    write(tmp_path / "out", b"keep me")
    with pytest.raises(FileExistsError), open(tmp_path / "source", "wb+") as source:
        dumpfiles.stream_to_file(source, tmp_path / "out", Progress("x", enabled=False))
    assert (tmp_path / "out").read_bytes() == b"keep me"


@pytest.mark.parametrize("name", ["../escape", "a/b", "", "-flag", "space name"])
def test_backup_names_that_could_escape_or_confuse_are_refused(name: str) -> None:
    with pytest.raises(StackError, match="not allowed"):
        dumpfiles.check_name(name)


def _backup(
    directory: Path, name: str, created: str, *, automatic: bool, database: str = "app", sealed: bool = True
) -> Path:
    """A backup as stacktasks writes it: its manifest sealed with the folder's key (``sealed``)."""
    from stacktasks.db.ours import project_key, seal

    directory.mkdir(mode=0o700, exist_ok=True)
    path = write(directory / f"{name}.dump", b"PGDMP")
    manifest = Manifest(
        created_at=created,
        automatic=automatic,
        database=database,
        reason=Reason.BEFORE_RESET if automatic else Reason.MANUAL,
        size=5,
        sha256="0" * 64,
    )
    if sealed:
        key = project_key(directory, create=True)
        assert key is not None
        manifest = manifest.with_seal(seal(key, *manifest.sealed_parts(path.name)))
    manifest_path(path).write_text(json.dumps(manifest.to_dict()))
    return path


def test_retention_keeps_the_newest_automatic_backups_and_every_manual_one(tmp_path: Path) -> None:
    manual = _backup(tmp_path, "manual", "2026-01-01T00:00:00", automatic=False)
    autos = [_backup(tmp_path, f"auto{i}", f"2026-01-0{i}T00:00:00", automatic=True) for i in range(1, 6)]
    other = _backup(tmp_path, "other-db", "2026-01-01T00:00:00", automatic=True, database="else")
    pruned = backupfiles.prune_automatic(tmp_path, "app", keep=3, made=autos[4])
    assert pruned == autos[:2]
    remaining = sorted(p.name for p in tmp_path.glob("*.dump"))
    assert remaining == sorted([manual.name, autos[2].name, autos[3].name, autos[4].name, other.name])
    assert not manifest_path(autos[0]).exists()


def test_retention_never_prunes_the_backup_the_task_just_made_even_with_keep_zero(tmp_path: Path) -> None:
    older = _backup(tmp_path, "older", "2026-01-01T00:00:00", automatic=True)
    made = _backup(tmp_path, "made", "2025-01-01T00:00:00", automatic=True)  # even when it looks older
    assert backupfiles.prune_automatic(tmp_path, "app", keep=0, made=made) == [older]
    assert made.exists() and manifest_path(made).exists()


def test_retention_never_prunes_the_dump_the_task_goes_on_to_restore(tmp_path: Path) -> None:
    # db.undo restores the last safety dump in place, after taking a safety dump of its own.
    restoring = _backup(tmp_path, "restoring", "2026-01-01T00:00:00", automatic=True)
    made = _backup(tmp_path, "made", "2026-01-02T00:00:00", automatic=True)
    assert backupfiles.prune_automatic(tmp_path, "app", keep=0, made=made, in_use=(restoring,)) == []
    assert restoring.exists() and manifest_path(restoring).exists()


def test_retention_leaves_files_whose_manifest_stacktasks_did_not_seal(tmp_path: Path) -> None:
    made = _backup(tmp_path, "made", "2026-01-09T00:00:00", automatic=True)
    planted = _backup(tmp_path, "mine", "2026-01-01T00:00:00", automatic=True, sealed=False)
    copied = _backup(tmp_path, "copied", "2026-01-02T00:00:00", automatic=True)
    # A sealed manifest put beside another file does not verify for it.
    manifest_path(copied).write_text(manifest_path(made).read_text())
    (tmp_path / "link.dump").symlink_to(made)
    (tmp_path / "link.dump.json").symlink_to(manifest_path(made))
    assert backupfiles.prune_automatic(tmp_path, "app", keep=0, made=made) == []
    assert planted.exists() and copied.exists() and (tmp_path / "link.dump").is_symlink()


def test_backups_are_ordered_by_the_instant_not_the_text_of_their_times(tmp_path: Path) -> None:
    # 09:00 in Tokyo is 00:00 UTC; 20:00 the day before in New York is 01:00 UTC: New York is newer.
    _backup(tmp_path, "tokyo", "2026-03-02T09:00:00+09:00", automatic=False)
    _backup(tmp_path, "new-york", "2026-03-01T20:00:00-05:00", automatic=False)
    assert [b.path.name for b in backupfiles.list_backups(tmp_path)] == ["tokyo.dump", "new-york.dump"]


def test_listing_shows_complete_backups_oldest_first_and_incomplete_ones_apart(tmp_path: Path) -> None:
    _backup(tmp_path, "new", "2026-02-01T00:00:00", automatic=False)
    _backup(tmp_path, "old", "2026-01-01T00:00:00", automatic=False)
    write(tmp_path / "broken.dump.partial", b"PGDMP")
    assert [b.path.name for b in backupfiles.list_backups(tmp_path)] == ["old.dump", "new.dump"]
    assert [p.name for p in backupfiles.incomplete_backups(tmp_path)] == ["broken.dump.partial"]
