"""db.backup: pg_dump streamed into ``backups/`` with a manifest that describes exactly what was dumped.

pg_dump's stdout goes through a pipe straight into a ``.partial`` file (constant memory, hashed
on the way), while a second connection counts every table's rows in the same snapshot pg_dump
reads (``--snapshot``). Only when pg_dump exited 0 is the manifest written and the dump renamed
into place: a file without ``.partial`` is always complete.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import USAGE, StackError
from . import backupfiles, dumpfiles
from .admin import connect, row_counts, server_major
from .dumpread import BackupFormat
from .exclusions import Exclusions
from .manifest import Manifest, Reason, manifest_path
from .ours import project_key, seal
from .session import prove_same_server
from .target import DbTarget, resolve_target
from .tools import choose_client

if TYPE_CHECKING:
    import psycopg

    from ..project import Project
    from ..runner import Runner


@dataclass
class BackupResult:
    path: Path | None  # None: written to stdout
    size: int
    tables: int
    seconds: float
    pruned: list[Path]


@dataclass(frozen=True)
class Sanitized:
    """A dump made from a sanitised copy: the database it stands for, and its rules' digest."""

    database: str
    rules: str


@dataclass
class ExportedSnapshot:
    """The transaction snapshot pg_dump reads (pg_export_snapshot), and what its connection read first."""

    name: str
    server_version: str
    server_major: int
    database_size: int


def backup_directory(project: Project) -> Path:
    """db.backup_dir, a folder of its own: never the project's folder or one above it."""
    root = project.settings.root.resolve()
    directory = (root / project.settings.db.backup_dir).resolve()
    if directory == root or directory in root.parents:
        raise StackError(
            f"db.backup_dir is {project.settings.db.backup_dir!r}, which is {directory}: the project's folder or "
            "one above it, where stacktasks would write, list and prune among files not its own",
            hint="set db.backup_dir to a folder of its own (the default is backups)",
            code=USAGE,
        )
    return directory


def default_backup_name(project: Project, target: DbTarget, reason: Reason | None) -> str:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    name = f"{target.dbname}-{project.settings.stage}-{stamp}"
    if reason:
        name += "-auto-" + re.sub(r"[^a-z0-9]+", "-", reason.lower()).strip("-")
    return dumpfiles.check_name(re.sub(r"[^A-Za-z0-9._-]+", "-", name))


def git_commit(runner: Runner, root: Path) -> str | None:
    """The project's checked-out commit, for the manifest; None outside git or without it."""
    try:
        result = runner.capture(["git", "-C", str(root), "rev-parse", "HEAD"], check=False, timeout=5)
    except StackError:
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def backup_path(project: Project, target: DbTarget, name: str | None, fmt: BackupFormat, reason: Reason | None) -> Path:
    """The first name a backup would try: ``--name`` as given, else the default name."""
    stem = dumpfiles.check_name(name) if name else default_backup_name(project, target, reason)
    return backup_directory(project) / (stem + dumpfiles.SUFFIX[fmt])


def reserve_backup(first: Path, *, named: bool) -> tuple[Path, int]:
    """Claim a name by creating its ``.partial`` with O_EXCL (never through a link): two backups
    started in the same second get two names, and a ``.partial`` is only ever another run's to
    remove. A ``--name`` that is taken is refused; a default name gets the next free number."""
    stem, suffix = first.name.removesuffix(first.suffix), first.suffix
    for serial in range(1, 1000):
        final = first if serial == 1 else first.with_name(f"{stem}-{serial}{suffix}")
        partial = dumpfiles.partial_path(final)
        manifest = manifest_path(final)
        taken = any(path.exists() or path.is_symlink() for path in (final, manifest))
        if not taken:
            try:
                return final, dumpfiles.create_private(partial)
            except FileExistsError:
                taken = True
        if named:
            what = f"{partial.name} already exists: an interrupted backup, or one running now"
            for path in (final, manifest):
                if path.exists() or path.is_symlink():
                    what = f"{path.name} already exists"
            raise StackError(what, hint="choose another --name", code=USAGE)
    raise StackError(f"no free name for a backup like {first.name}")


def format_args(project: Project, fmt: BackupFormat, exclude: Exclusions | None = None) -> list[str]:
    args = ["-Fc", "-Z", str(project.settings.db.compress)] if fmt == "custom" else ["-Fp"]
    return args + (exclude.pg_dump_args() if exclude else [])


def dump_database(
    project: Project,
    *,
    name: str | None = None,
    fmt: BackupFormat = "custom",
    reason: Reason | None = None,
    target: DbTarget | None = None,
    progress: bool = False,
    to_stdout: bool = False,
    exclude: Exclusions | None = None,
    in_use: tuple[Path, ...] = (),
    sanitized: Sanitized | None = None,
) -> BackupResult | None:
    """Write one backup (and its manifest), or only the dump to stdout (``to_stdout``); ``reason``
    marks it automatic. The retention that follows never removes a dump ``in_use``. None under
    dry-run."""
    _check_request(to_stdout)
    target = target or resolve_target(project)
    target.refuse_transaction_pooler("backup")
    first = backup_path(project, target, name, fmt, reason)
    if target.kind == "service":  # just started, a database may still be initialising (said under --dry)
        from .target import wait_until_ready

        target = wait_until_ready(project, target, project.settings.db.wait_timeout)
    if project.runner.dry:
        show_dry_backup(project, target, fmt, None if to_stdout else first, exclude)
        return None
    started = time.monotonic()
    recover_before_backup(project, target)
    conn = connect(target, autocommit=False)
    try:
        snapshot = export_snapshot(conn)
        prove_same_server(project, target, conn)  # reset destroys the service's data after this backup
        if to_stdout:
            sys.stdout.flush()
            written, counts = _stream_dump(project, conn, target, snapshot, (None, os.dup(1)), fmt, False, exclude)
            return BackupResult(None, written.size, len(counts), time.monotonic() - started, [])
        dumpfiles.ensure_private_directory(first.parent)
        final, fd = reserve_backup(first, named=bool(name))
        written, counts = _stream_dump(project, conn, target, snapshot, (final, fd), fmt, progress, exclude)
    finally:
        conn.close()
    manifest = _manifest(project, target, snapshot, final, fmt, written, counts, reason, exclude, sanitized)
    directory = final.parent
    manifest = manifest.with_seal(seal(project_key(directory, create=True) or b"", *manifest.sealed_parts(final.name)))
    try:
        dumpfiles.write_json_atomically(manifest_path(final), manifest.to_dict())
        dumpfiles.link_into_place(dumpfiles.partial_path(final), final)
    except BaseException:
        dumpfiles.partial_path(final).unlink(missing_ok=True)  # ours: created by reserve_backup
        raise
    dumpfiles.fsync_directory(directory)
    pruned = []
    if reason is not None:
        keep = project.settings.db.keep_automatic
        pruned = backupfiles.prune_automatic(directory, target.dbname, keep, made=final, in_use=in_use)
    return BackupResult(final, written.size, len(counts), time.monotonic() - started, pruned)


def backup_format(text: str) -> BackupFormat:
    """``--format`` as given, checked."""
    if text == "custom":
        return "custom"
    if text == "plain":
        return "plain"
    raise StackError(f"unknown backup format {text!r}; use custom or plain", code=USAGE)


def _check_request(to_stdout: bool) -> None:
    if to_stdout and sys.stdout.isatty():
        raise StackError(
            "--output - writes the dump to stdout, which is a terminal",
            hint="pipe it: inv db.backup --output - | gzip > db.dump.gz",
            code=USAGE,
        )


def show_dry_backup(
    project: Project, target: DbTarget, fmt: BackupFormat, first: Path | None, exclude: Exclusions | None
) -> None:
    """The commands a backup would run, and where its dump would go (stdout for no path)."""
    client = choose_client(project, target, None)
    args = [*format_args(project, fmt, exclude), "--snapshot=EXPORTED-AT-RUN-TIME"]
    project.runner.show(client.argv("pg_dump", args, watched=client.can_watch()))
    if first is None:
        project.runner.note("stream it to stdout (no file, no manifest)")
        return
    project.runner.note(
        f"stream it to {dumpfiles.partial_path(first)} (created O_EXCL, 0600), fsync, link it to {first}, "
        f"write {manifest_path(first).name}"
    )


def recover_before_backup(project: Project, target: DbTarget) -> None:
    """An interrupted restore may have left the database closed: put it right first (see swap.py).

    Where the role cannot do that, or a restore is running now, the backup goes on as it is.
    """
    from .session import guarded_admin

    with contextlib.suppress(StackError), guarded_admin(project, target):
        pass


def export_snapshot(conn: psycopg.Connection[Any]) -> ExportedSnapshot:
    import psycopg

    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    row = conn.execute(
        "select pg_export_snapshot(), current_setting('server_version'), pg_database_size(current_database())"
    ).fetchone()
    assert row is not None
    # The counts run beside pg_dump and end well before it: parallel workers and JIT compiling
    # would only take the processors that pg_dump's COPY and compression need.
    conn.execute("set local max_parallel_workers_per_gather = 0")
    conn.execute("set local jit = off")
    return ExportedSnapshot(str(row[0]), str(row[1]), server_major(conn), int(row[2]))


def _stream_dump(
    project: Project,
    conn: psycopg.Connection[Any],
    target: DbTarget,
    snapshot: ExportedSnapshot,
    reserved: tuple[Path | None, int],
    fmt: BackupFormat,
    progress: bool,
    exclude: Exclusions | None = None,
) -> tuple[dumpfiles.Written, dict[str, int]]:
    """pg_dump into the reserved ``.partial`` (or stdout, for no path) while the rows are counted;
    the ``.partial`` is gone on any failure."""
    final, fd = reserved
    partial = dumpfiles.partial_path(final) if final else None
    client = choose_client(project, target, snapshot.server_major)
    watched = client.can_watch()  # pg_dump ends with the task: see tools.WATCHDOG
    args = [*format_args(project, fmt, exclude), f"--snapshot={snapshot.name}"]
    argv = client.argv("pg_dump", args, watched=watched)
    counter = RowCounter(conn, exclude)
    meter = dumpfiles.Progress(
        f"backup {target.dbname}",
        enabled=progress,
        total_label=f"database {dumpfiles.human_size(snapshot.database_size)}",
    )
    try:
        child = project.runner.start(
            argv,
            extra_env=client.env(watched=watched),
            stdout=subprocess.PIPE,
            what="pg_dump",
            stdin=subprocess.PIPE if watched else subprocess.DEVNULL,
        )
        counter.start()
        with child:
            handed, fd = fd, -1  # stream_to_file closes it, whatever happens
            written = dumpfiles.stream_to_file(child.stdout, handed, meter)
            child.wait()
            if watched:
                child.stdin.close()
        return written, counter.result()
    except BaseException:
        meter.finish()
        counter.abandon()
        if fd >= 0:
            os.close(fd)
        if partial:
            partial.unlink(missing_ok=True)  # ours: reserve_backup created it
        raise


class RowCounter:
    """Counts rows on the snapshot connection in a thread, while pg_dump streams."""

    def __init__(self, conn: psycopg.Connection[Any], exclude: Exclusions | None = None) -> None:
        self.conn = conn
        self.exclude = exclude
        self.counts: dict[str, int] | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.counts = row_counts(self.conn, self.exclude.on_server(self.conn) if self.exclude else None)
        except BaseException as error:  # handed to the main thread
            self.error = error

    def start(self) -> None:
        self.thread.start()

    def result(self) -> dict[str, int]:
        self.thread.join()
        if self.error is not None:
            raise StackError(f"counting rows failed: {self.error}")
        assert self.counts is not None
        return self.counts

    def abandon(self) -> None:
        if self.thread.is_alive():
            with contextlib.suppress(Exception):  # the connection is closed right after
                self.conn.cancel_safe()
            self.thread.join(timeout=5)


def _manifest(
    project: Project,
    target: DbTarget,
    snapshot: ExportedSnapshot,
    final: Path,
    fmt: BackupFormat,
    written: dumpfiles.Written,
    counts: dict[str, int],
    reason: Reason | None,
    exclude: Exclusions | None,
    sanitized: Sanitized | None = None,
) -> Manifest:
    settings = project.settings
    return Manifest(
        file=final.name,
        format=fmt,
        database=sanitized.database if sanitized else target.dbname,
        server_version=snapshot.server_version,
        server_major=snapshot.server_major,
        size=written.size,
        sha256=written.sha256,
        created_at=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        stage=settings.stage,
        compose_project=project.confirmation_name() if project.has_compose_files() else settings.project_name,
        source=target.describe(),
        git_commit=git_commit(project.runner, settings.root),
        automatic=reason is not None,
        reason=reason or Reason.MANUAL,
        tables=counts,
        excluded=exclude.record() if exclude else None,
        sanitized=sanitized.rules if sanitized else None,
    )
