"""Dumps through pipes and in the compressions people receive, on a real PostgreSQL server:
`db.backup --output -`, `db.restore --file -`, and zstd, xz, bzip2 and zip files recognised by
their content."""

from __future__ import annotations

import bz2
import lzma
import os
import pty
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import pg
from tests.helpers import INV, run_inv


@pytest.fixture()
def database(sample_database: tuple[str, Path]) -> tuple[str, Path]:
    return sample_database


def inv_bytes(project: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([INV, *args], cwd=project, input=stdin, capture_output=True, timeout=300)


def dump_to_stdout(project: Path) -> bytes:
    result = inv_bytes(project, "db.backup", "--output", "-")
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def test_backup_to_stdout_writes_the_dump_and_leaves_no_file(database: tuple[str, Path]) -> None:
    _, project = database
    result = inv_bytes(project, "db.backup", "--output", "-")
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.startswith(b"PGDMP")
    assert b"backup: stdout (" in result.stderr and b", 2 tables" in result.stderr
    assert not any((project / "backups").glob("*"))


def test_a_dump_piped_on_stdin_is_restored(database: tuple[str, Path]) -> None:
    name, project = database
    before = pg.fingerprint(name)
    dump = dump_to_stdout(project)
    pg.execute(name, "truncate billing.invoices")
    result = inv_bytes(project, "db.restore", "--yes", "--file", "-", stdin=dump)
    assert result.returncode == 0, result.stderr.decode()
    assert b"restored the dump from stdin" in result.stdout
    assert pg.fingerprint(name) == before
    assert list((project / "backups").glob(".incoming-*")) == []  # the private copy is gone


def compressed(kind: str, dump: bytes, folder: Path) -> Path:
    path = folder / "received.bin"  # the content says what it is, not the name
    if kind == "zstd":
        path.write_bytes(subprocess.run(["zstd", "-q", "-c"], input=dump, capture_output=True, check=True).stdout)
    elif kind == "xz":
        path.write_bytes(lzma.compress(dump))
    elif kind == "bzip2":
        path.write_bytes(bz2.compress(dump))
    else:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("nightly.dump", dump)
    return path


@pytest.mark.parametrize("kind", ["zstd", "xz", "bzip2", "zip"])
def test_a_compressed_dump_is_recognised_by_its_content_and_restored(
    database: tuple[str, Path], tmp_path: Path, kind: str
) -> None:
    name, project = database
    before = pg.fingerprint(name)
    path = compressed(kind, dump_to_stdout(project), tmp_path)
    pg.execute(name, "delete from customers where id not in (select customer_id from billing.invoices)")
    result = run_inv(project, "db.restore", "--yes", "--file", str(path))
    assert result.returncode == 0, result.stderr
    assert f"is {kind}-compressed: unpacking it into a private copy" in result.stderr
    assert pg.fingerprint(name) == before
    assert list((project / "backups").glob(".incoming-*")) == []


def test_a_zip_of_two_files_is_refused_before_anything_changes(database: tuple[str, Path], tmp_path: Path) -> None:
    name, project = database
    before = pg.fingerprint(name)
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.dump", b"x")
        archive.writestr("b.dump", b"y")
    result = run_inv(project, "db.restore", "--yes", "--file", str(path))
    assert result.returncode == 1
    assert "holds 2 files; a restore takes a zip of one dump" in result.stderr
    assert pg.fingerprint(name) == before


def test_a_cut_xz_dump_is_refused_and_its_copy_removed(database: tuple[str, Path], tmp_path: Path) -> None:
    name, project = database
    before = pg.fingerprint(name)
    whole = lzma.compress(dump_to_stdout(project))
    path = tmp_path / "cut.xz"
    path.write_bytes(whole[: len(whole) // 2])
    result = run_inv(project, "db.restore", "--yes", "--file", str(path))
    assert result.returncode == 1
    assert "broken" in result.stderr and "compressed data" in result.stderr
    assert pg.fingerprint(name) == before
    assert list((project / "backups").glob(".incoming-*")) == []


def test_backup_to_stdout_refuses_a_terminal(database: tuple[str, Path]) -> None:
    _, project = database
    leader, follower = pty.openpty()
    try:
        result = subprocess.run(
            [INV, "db.backup", "--output", "-"], cwd=project, stdout=follower, stderr=subprocess.PIPE, timeout=60
        )
    finally:
        os.close(follower)
        os.close(leader)
    assert result.returncode == 2
    assert b"writes the dump to stdout, which is a terminal" in result.stderr


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 MiB tmpfs, private, as the project's backups folder."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a small filesystem needs root")
    folder = tmp_path / "project" / "backups"
    folder.mkdir(parents=True, mode=0o700)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m,mode=0700", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.mark.parametrize("kind", ["zstd", "xz", "zip"])
def test_a_small_file_that_unpacks_past_the_free_space_is_stopped_before_the_disk_fills(
    database: tuple[str, Path], small_disk: Path, kind: str
) -> None:
    name, project = database
    bomb = b"-- PostgreSQL database dump\n" + b"\0" * (200 << 20)  # 200 MiB, on a 64 MiB disk
    path = compressed(kind, bomb, project)
    assert path.stat().st_size < 1 << 20
    before = pg.fingerprint(name)
    result = run_inv(project, "db.restore", "--yes", "--file", str(path))
    assert result.returncode == 1, result.stderr
    assert "can spare (its free space less a margin): stopped before the disk filled" in result.stderr
    assert shutil.disk_usage(small_disk).free > 4 << 20  # the margin was kept
    assert list(small_disk.glob(".incoming-*")) == []
    assert pg.fingerprint(name) == before


def test_a_copy_a_killed_run_left_is_removed_by_the_next_run(database: tuple[str, Path]) -> None:
    _, project = database
    folder = project / "backups"
    folder.mkdir(mode=0o700, exist_ok=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = folder / f".incoming-{dead.pid}-0000"
    stale.write_bytes(b"half a dump")
    result = run_inv(project, "db.restore", "--yes", "--file", "missing.dump")
    assert result.returncode != 0
    assert not stale.exists()


@pytest.mark.parametrize(
    "broken",
    ["body", "method", "encrypted"],
)
def test_a_zip_that_cannot_be_read_is_one_clear_line_not_a_crash(database: tuple[str, Path], broken: str) -> None:
    _, project = database
    path = project / "received.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("db.sql", b"-- PostgreSQL database dump\n" * 10000)
    data = bytearray(path.read_bytes())
    if broken == "body":
        data[60:200] = b"\xff" * 140
    elif broken == "method":
        data[8:10] = (99).to_bytes(2, "little")  # the local header's method: one Python does not know
        central = data.rfind(b"PK\x01\x02")
        data[central + 10 : central + 12] = (99).to_bytes(2, "little")
    else:
        data[6:8] = (1).to_bytes(2, "little")  # the "encrypted" flag
        central = data.rfind(b"PK\x01\x02")
        data[central + 8 : central + 10] = (1).to_bytes(2, "little")
    path.write_bytes(bytes(data))
    result = run_inv(project, "db.restore", "--yes", "--file", str(path))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("stacktasks: ")], result.stderr


def test_a_closed_stdin_is_said_plainly(database: tuple[str, Path]) -> None:
    _, project = database
    result = subprocess.run(
        f"exec {INV} db.restore --yes --file - <&-", shell=True, cwd=project, capture_output=True, text=True
    )
    assert result.returncode == 1, result.stderr
    assert "stdin, which is closed" in result.stderr
