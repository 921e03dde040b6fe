"""The dump and restore engines: db.backup, db.restore and db.undo without the task wrappers.

Backup: pg_dump's stdout goes through a pipe straight into a ``.partial`` file (constant
memory, hashed on the way), while a second connection counts every table's rows in the same
snapshot pg_dump reads (``--snapshot``), so the manifest describes exactly what was dumped.

Restore: into a scratch database, verified against the manifest, then swapped in by two
renames; the replaced database stays as ``<name>__undo`` until the next restore. Where the
role may not create databases, a safety dump is taken and the restore runs in place, in one
transaction.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import re
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from . import dumpfiles
from .dumpfiles import DumpFormat, Progress
from .errors import StackError
from .postgres import (
    DbTarget,
    PgClient,
    allow_connections,
    aside_name,
    can_create_databases,
    choose_client,
    connect,
    create_database_like,
    database_exists,
    drop_database,
    end_sessions,
    file_in_service,
    rename_database,
    resolve_target,
    row_counts,
    server_major,
    statement,
    verify_counts,
)
from .safety import has_terminal

if TYPE_CHECKING:
    import psycopg

    from .project import Project

Confirm = Callable[[str, str], None]  # (action, typed name on a protected stage)


@dataclass
class BackupResult:
    path: Path
    size: int
    tables: int
    seconds: float
    pruned: list[Path]


def backup_directory(project: Project) -> Path:
    return (project.settings.root / project.settings.db.backup_dir).resolve()


def default_backup_name(project: Project, target: DbTarget, reason: str | None) -> str:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    name = f"{target.dbname}-{project.settings.stage}-{stamp}"
    if reason:
        name += "-auto-" + re.sub(r"[^a-z0-9]+", "-", reason.lower()).strip("-")
    return dumpfiles.check_name(re.sub(r"[^A-Za-z0-9._-]+", "-", name))


def git_commit(root: Path) -> str | None:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


class TailBuffer:
    """Drains a child's stderr in a thread, keeping its last lines for the error message."""

    def __init__(self, stream: IO[bytes], echo: IO[bytes] | None = None) -> None:
        self.lines: deque[str] = deque(maxlen=20)
        self._thread = threading.Thread(target=self._drain, args=(stream, echo), daemon=True)
        self._thread.start()

    def _drain(self, stream: IO[bytes], echo: IO[bytes] | None) -> None:
        for raw in iter(stream.readline, b""):
            if echo is not None:
                echo.write(raw)
                echo.flush()
            line = raw.decode("utf-8", "replace").strip()
            if line:
                self.lines.append(line)

    def join(self) -> None:
        self._thread.join()

    def reason(self) -> str:
        errors = [line for line in self.lines if "error" in line.lower() or "fatal" in line.lower()]
        return (errors or list(self.lines) or [""])[-1]


def _tool_failure(project: Project, what: str, code: int, tail: TailBuffer) -> StackError:
    reason = project.env.masker(tail.reason())
    if code < 0:
        reason = f"killed by signal {-code}" + (f"; {reason}" if reason else "")
    return StackError(f"{what} failed (exit {code})" + (f": {reason}" if reason else ""), code=code if code > 0 else 1)


# -- backup -------------------------------------------------------------------------------------


def dump_database(
    project: Project, *, name: str | None = None, fmt: str = "custom", reason: str | None = None,
    target: DbTarget | None = None, progress: bool = False,
) -> BackupResult | None:
    """Write one backup (and its manifest); ``reason`` marks it automatic. None under dry-run."""
    import time

    runner = project.runner
    settings = project.settings
    if fmt not in dumpfiles.SUFFIX:
        raise StackError(f"unknown backup format {fmt!r}; use custom or plain", code=2)
    target = target or resolve_target(project)
    target.refuse_transaction_pooler("backup")
    directory = backup_directory(project)
    suffix = dumpfiles.SUFFIX[fmt]
    if name:
        final = directory / (dumpfiles.check_name(name) + suffix)
        if final.exists():
            raise StackError(f"{final} already exists", hint="choose another --name", code=2)
    else:
        stem = default_backup_name(project, target, reason)
        final = directory / (stem + suffix)
        serial = 1
        while final.exists() or dumpfiles.partial_path(final).exists():  # two backups in one second
            serial += 1
            final = directory / f"{stem}-{serial}{suffix}"
    partial = dumpfiles.partial_path(final)
    format_args = ["-Fc", "-Z", str(settings.db.compress)] if fmt == "custom" else ["-Fp"]

    if runner.dry:
        client = choose_client(project, target, None)
        runner.show(client.argv("pg_dump", [*format_args, "--snapshot=<exported>"]))
        runner.note(f"stream it to {partial}, fsync, rename to {final}, write {dumpfiles.manifest_path(final).name}")
        return None

    started = time.monotonic()
    conn = connect(target, autocommit=False)
    try:
        import psycopg

        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        row = conn.execute("select pg_export_snapshot(), current_setting('server_version'), "
                           "pg_database_size(current_database())").fetchone()
        assert row is not None
        snapshot, server_version, database_size = str(row[0]), str(row[1]), int(row[2])
        major = server_major(conn)
        client = choose_client(project, target, major)
        argv = client.argv("pg_dump", [*format_args, f"--snapshot={snapshot}"])
        dumpfiles.ensure_private_directory(directory)
        counter = _Counter(conn)
        process = runner.stream(
            argv, extra_env=client.env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert process.stdout is not None and process.stderr is not None
        tail = TailBuffer(process.stderr)
        counter.start()
        meter = Progress(
            f"backup {target.dbname}", enabled=progress,
            total_label=f"database {dumpfiles.human_size(database_size)}",
        )
        try:
            written = dumpfiles.stream_to_file(process.stdout, partial, meter)
            code = process.wait()
            tail.join()
            if code != 0:
                raise _tool_failure(project, "pg_dump", code, tail)
            counts = counter.result()
        except BaseException:
            meter.finish()
            if process.poll() is None:
                process.kill()
                process.wait()
            counter.abandon()
            partial.unlink(missing_ok=True)
            raise
    finally:
        conn.close()

    manifest = {
        "stacktasks_manifest": 1,
        "file": final.name,
        "format": fmt,
        "database": target.dbname,
        "server_version": server_version,
        "server_major": major,
        "size": written.size,
        "sha256": written.sha256,
        "created_at": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "stage": settings.stage,
        "compose_project": settings.project_name,
        "source": target.describe(),
        "git_commit": git_commit(settings.root),
        "automatic": reason is not None,
        "reason": reason or "manual",
        "tables": counts,
    }
    dumpfiles.write_json_atomically(dumpfiles.manifest_path(final), manifest)
    os.replace(partial, final)
    dumpfiles.fsync_directory(directory)
    pruned = []
    if reason is not None:
        pruned = dumpfiles.prune_automatic(directory, target.dbname, settings.db.keep_automatic)
    return BackupResult(final, written.size, len(counts), time.monotonic() - started, pruned)


class _Counter:
    """Counts rows on the snapshot connection in a thread, while pg_dump streams."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.counts: dict[str, int] | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.counts = row_counts(self.conn)
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


# -- restore ------------------------------------------------------------------------------------


@dataclass
class RestorePlan:
    path: Path
    format: DumpFormat
    manifest: dict[str, Any] | None
    jobs: int


@dataclass
class RestoreResult:
    database: str
    seconds: float
    kept_as: str | None
    safety_dump: Path | None
    verified_tables: int
    ended_sessions: int


def latest_backup(project: Project, database: str | None = None) -> Path:
    backups = dumpfiles.list_backups(backup_directory(project))
    if database:
        backups = [b for b in backups if b.database in (database, "?")]
    if not backups:
        raise StackError(f"no backups in {backup_directory(project)}", hint="inv db.backup makes one")
    return backups[-1].path


def check_dump_file(path: Path) -> tuple[DumpFormat, dict[str, Any] | None]:
    """Format and manifest, with the file checked against it: all before anything changes."""
    fmt = dumpfiles.detect_format(path)
    manifest = dumpfiles.read_manifest(path)
    if manifest:
        size = path.stat().st_size
        if manifest.get("size") not in (None, size):
            raise StackError(
                f"{path} is {size} bytes but its manifest says {manifest['size']}: truncated or changed",
            )
        if manifest.get("sha256") and dumpfiles.file_digest(path) != manifest["sha256"]:
            raise StackError(f"{path} does not match the sha256 in its manifest: corrupt or changed")
    return fmt, manifest


def default_jobs(project: Project) -> int:
    return project.settings.db.jobs or max(1, min(4, os.cpu_count() or 1))


def restore_database(
    project: Project, path: Path, *, confirm: Confirm, jobs: int | None = None,
) -> RestoreResult | None:
    """Replace the database with the dump at ``path``. None under dry-run."""
    import time

    runner = project.runner
    target = resolve_target(project)
    target.refuse_transaction_pooler("restore")
    fmt, manifest = check_dump_file(path)
    if fmt.kind == "plain" and dumpfiles.plain_dump_switches_database(path, fmt):
        raise StackError(
            f"{path} connects to or creates databases itself (made with pg_dump --create or pg_dumpall)",
            hint="dump without --create (inv db.backup does), then restore that",
        )
    plan = RestorePlan(path, fmt, manifest, jobs or default_jobs(project))
    if runner.dry:
        client = choose_client(project, target, None)
        _show_dry_plan(project, target, client, plan)
        return None

    started = time.monotonic()
    admin = connect(target, project.settings.db.maintenance_db)
    try:
        major = server_major(admin)
        client = choose_client(project, target, major)
        dump_major = _dump_major(project, client, plan)
        if dump_major and dump_major > major:
            runner.note(
                f"warning: the dump comes from PostgreSQL {dump_major}, this server is {major}; "
                "objects newer than the server may fail to restore"
            )
        swap = can_create_databases(admin)
        what = f"replace {target.describe()} with {path.name}"
        if not swap:
            what += " (in place: this role may not create databases; a safety dump is taken first)"
        confirm(what, target.dbname)
        if swap:
            result = _restore_by_swap(project, admin, client, target, plan)
        else:
            result = _restore_in_place(project, admin, client, target, plan)
    finally:
        admin.close()
    result.seconds = time.monotonic() - started
    return result


def _show_dry_plan(project: Project, target: DbTarget, client: PgClient, plan: RestorePlan) -> None:
    runner = project.runner
    scratch = aside_name(target.dbname, "__restoring")
    runner.note(f"create database {scratch}; restore {plan.path.name} ({plan.format.describe()}) into it")
    runner.show(client.argv("pg_restore", _restore_args(plan.jobs), dbname=scratch)
                if plan.format.kind != "plain" else client.argv("psql", PSQL_ARGS, dbname=scratch, stdin=True))
    if plan.manifest:
        runner.note(f"check the row counts of {len(plan.manifest.get('tables', {}))} tables against the manifest")
    runner.note(f"end the sessions on {target.dbname}; rename it to "
                f"{aside_name(target.dbname, '__undo')} and {scratch} to {target.dbname}")


def _dump_major(project: Project, client: PgClient, plan: RestorePlan) -> int | None:
    if plan.manifest and plan.manifest.get("server_major"):
        return int(plan.manifest["server_major"])
    if plan.format.kind == "plain":
        return dumpfiles.plain_dump_major(plan.path, plan.format)
    return None


def _restore_args(jobs: int) -> list[str]:
    return ["--no-owner", "--no-acl", "--exit-on-error", f"--jobs={jobs}"]


PSQL_ARGS = ["-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-o", "/dev/null"]


def _restore_by_swap(
    project: Project, admin: psycopg.Connection[Any], client: PgClient, target: DbTarget, plan: RestorePlan,
) -> RestoreResult:
    runner = project.runner
    database = target.dbname
    scratch = aside_name(database, "__restoring")
    undo = aside_name(database, "__undo")
    exists = database_exists(admin, database)
    drop_database(admin, scratch)  # left by an interrupted restore
    runner.note(f"create database {scratch}")
    create_database_like(admin, scratch, database if exists else None)
    owner = _owner(admin, database) if exists else None
    try:
        if owner:
            admin.execute(statement("alter database {} owner to {}", scratch, owner))
        _load(project, client, plan, scratch)
        verified = _verify(target, scratch, plan)
    except BaseException:
        runner.note(f"restore failed: dropping {scratch}; {database} is untouched")
        drop_database(admin, scratch)
        raise
    ended = 0
    if exists:
        drop_database(admin, undo)
        runner.note(f"end the sessions on {database}, rename it to {undo}, rename {scratch} to {database}")
        allow_connections(admin, database, False)
        try:
            ended = end_sessions(admin, database)
            rename_database(admin, database, undo)
        finally:
            allow_connections(admin, undo if database_exists(admin, undo) else database, True)
    else:
        runner.note(f"rename {scratch} to {database}")
    rename_database(admin, scratch, database)
    return RestoreResult(database, 0.0, undo if exists else None, None, verified, ended)


def _owner(admin: psycopg.Connection[Any], database: str) -> str | None:
    row = admin.execute(
        "select pg_get_userbyid(datdba) from pg_database where datname = %s", [database]
    ).fetchone()
    return str(row[0]) if row else None


def _load(project: Project, client: PgClient, plan: RestorePlan, dbname: str, *, clean: bool = False,
          prologue: bytes = b"") -> None:
    """Run pg_restore or psql into ``dbname``; any error raises, with the tool's own message."""
    runner = project.runner
    if plan.format.kind == "plain":
        _pipe_into(project, client, "psql", PSQL_ARGS, dbname, plan, prologue=prologue)
    elif clean:
        # In place: pg_restore turns the dump into SQL (with DROPs first) for one psql transaction.
        _restore_in_place_custom(project, client, plan, dbname)
    elif plan.format.gzipped:
        # Through a pipe pg_restore cannot seek: one job, and it says so.
        runner.note("the dump is compressed as a whole: pg_restore reads it from a pipe with one job")
        _pipe_into(project, client, "pg_restore", ["--no-owner", "--no-acl", "--exit-on-error"], dbname, plan)
    else:
        args = _restore_args(plan.jobs)
        if client.where == "service":
            assert client.target.service
            with file_in_service(runner, client.compose_base, client.target.service, plan.path) as inside:
                _run_tool(project, client, "pg_restore", [*args, inside], dbname)
        elif client.where == "container":
            _run_tool(project, client, "pg_restore", [*args, "/stacktasks/dump"], dbname,
                      mounts={str(plan.path.resolve()): "/stacktasks/dump"})
        else:
            _run_tool(project, client, "pg_restore", [*args, str(plan.path)], dbname)


def _run_tool(project: Project, client: PgClient, tool: str, args: list[str], dbname: str,
              mounts: dict[str, str] | None = None) -> None:
    process = project.runner.stream(
        client.argv(tool, args, dbname=dbname, mounts=mounts), extra_env=client.env(dbname),
        stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    tail = TailBuffer(process.stderr)
    code = _wait(process)
    tail.join()
    if code != 0:
        raise _tool_failure(project, tool, code, tail)


def _wait(process: subprocess.Popen[bytes]) -> int:
    try:
        return process.wait()
    except BaseException:
        process.kill()
        process.wait()
        raise


def _pipe_into(project: Project, client: PgClient, tool: str, args: list[str], dbname: str,
               plan: RestorePlan, *, prologue: bytes = b"") -> None:
    """Feed the dump to ``tool``'s stdin from Python (gunzipping on the way), in constant memory."""
    process = project.runner.stream(
        client.argv(tool, args, dbname=dbname, stdin=True), extra_env=client.env(dbname),
        stdin=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert process.stdin is not None and process.stderr is not None
    tail = TailBuffer(process.stderr)
    meter = Progress(f"restore {plan.path.name}", enabled=has_terminal(sys.stderr),
                     total=plan.path.stat().st_size if not plan.format.gzipped else 0)
    try:
        _feed(process.stdin, plan, prologue=prologue, meter=meter)
    except BaseException:
        process.kill()
        process.wait()
        raise
    finally:
        meter.finish()
    code = _wait(process)
    tail.join()
    if code != 0:
        raise _tool_failure(project, tool, code, tail)


def _feed(pipe: IO[bytes], plan: RestorePlan, *, prologue: bytes = b"", meter: Progress | None = None) -> None:
    """Write the dump (gunzipped) to a tool's stdin in constant memory, then close it."""
    try:
        if prologue:
            pipe.write(prologue)
        with dumpfiles.open_dump_stream(plan.path, plan.format) as source:
            done = 0
            while chunk := source.read(dumpfiles.CHUNK):
                pipe.write(chunk)
                done += len(chunk)
                if meter:
                    meter.update(done)
        pipe.close()
    except BrokenPipeError:
        pass  # the tool stopped reading: its exit code and message say why


def _verify(target: DbTarget, dbname: str, plan: RestorePlan) -> int:
    """Row counts of the restored database against the manifest's; an error on any difference."""
    expected = (plan.manifest or {}).get("tables")
    if not isinstance(expected, dict):
        return 0
    conn = connect(target, dbname)
    try:
        actual = verify_counts(conn, expected)
    finally:
        conn.close()
    differences = [
        f"{table}: {'missing' if actual[table] is None else f'{actual[table]} rows'}, manifest {count}"
        for table, count in sorted(expected.items()) if actual[table] != count
    ]
    if differences:
        shown = "; ".join(differences[:5]) + (f"; and {len(differences) - 5} more" if len(differences) > 5 else "")
        raise StackError(f"the restored database differs from the manifest: {shown}")
    return len(expected)


# -- in place (roles that may not create databases) ---------------------------------------------


def _restore_in_place(
    project: Project, admin: psycopg.Connection[Any], client: PgClient, target: DbTarget, plan: RestorePlan,
) -> RestoreResult:
    runner = project.runner
    runner.note(f"this role may not create databases: taking a safety dump of {target.dbname} first")
    safety = dump_database(project, reason="before restore", target=target)
    assert safety is not None
    ended = end_sessions(admin, target.dbname)
    prologue = b""
    if plan.format.kind == "plain":
        prologue = _schema_reset_sql(target)
    _load(project, client, plan, target.dbname, clean=True, prologue=prologue)
    verified = _verify(target, target.dbname, plan)
    return RestoreResult(target.dbname, 0.0, None, safety.path, verified, ended)


def _schema_reset_sql(target: DbTarget) -> bytes:
    """Drop and recreate the schemas this role owns, in the restore's own transaction."""
    conn = connect(target)
    try:
        rows = conn.execute(
            "select nspname from pg_namespace where pg_has_role(current_user, nspowner, 'USAGE') "
            "and nspname not in ('information_schema') and nspname not like 'pg\\_%'"
        ).fetchall()
    finally:
        conn.close()
    from psycopg import sql

    script = sql.SQL("\n").join(
        statement("DROP SCHEMA {} CASCADE; CREATE SCHEMA {};", row[0], row[0]) for row in rows
    )
    return (str(script.as_string(None)) + "\n").encode()


def _restore_in_place_custom(project: Project, client: PgClient, plan: RestorePlan, dbname: str) -> None:
    """pg_restore --clean writes SQL to a pipe; psql applies it in one transaction."""
    runner = project.runner
    if client.where == "container":
        args = ["--clean", "--if-exists", "--no-owner", "--no-acl", "-f", "-", "/stacktasks/dump"]
        mounts = {str(plan.path.resolve()): "/stacktasks/dump"}
        source_argv = client.argv("pg_restore", args, mounts=mounts, database=False)
        source_stdin: Any = subprocess.DEVNULL
        feed = None
    else:
        # pg_restore -f - needs no database; it reads the dump from stdin (service) or the file (host).
        args = ["--clean", "--if-exists", "--no-owner", "--no-acl", "-f", "-"]
        if client.where == "host" and not plan.format.gzipped:
            source_argv = client.argv("pg_restore", [*args, str(plan.path)], database=False)
            source_stdin, feed = subprocess.DEVNULL, None
        else:
            source_argv = client.argv("pg_restore", args, stdin=True, database=False)
            source_stdin, feed = subprocess.PIPE, plan
    producer = runner.stream(source_argv, extra_env=client.env(), stdin=source_stdin, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    assert producer.stdout is not None and producer.stderr is not None
    producer_tail = TailBuffer(producer.stderr)
    consumer = runner.stream(client.argv("psql", PSQL_ARGS, dbname=dbname, stdin=True), extra_env=client.env(dbname),
                             stdin=producer.stdout, stderr=subprocess.PIPE)
    producer.stdout.close()
    assert consumer.stderr is not None
    consumer_tail = TailBuffer(consumer.stderr)
    if feed is not None:
        assert producer.stdin is not None
        _feed(producer.stdin, feed)
    produced = _wait(producer)
    consumed = _wait(consumer)
    producer_tail.join()
    consumer_tail.join()
    if produced != 0:
        raise _tool_failure(project, "pg_restore", produced, producer_tail)
    if consumed != 0:
        raise _tool_failure(project, "psql", consumed, consumer_tail)


# -- undo ---------------------------------------------------------------------------------------


def undo_restore(project: Project, *, confirm: Confirm) -> str | None:
    """Swap the database kept by the last restore back in (the current one becomes the undo point)."""
    runner = project.runner
    target = resolve_target(project)
    database = target.dbname
    undo = aside_name(database, "__undo")
    if runner.dry:
        runner.note(f"end the sessions on {database}; swap it with {undo} "
                    "(or restore the latest safety dump where there is no such database)")
        return None
    admin = connect(target, project.settings.db.maintenance_db)
    try:
        if database_exists(admin, undo):
            confirm(f"put back {undo} as {database} (the current {database} becomes {undo})", database)
            swap = aside_name(database, "__swap")
            drop_database(admin, swap)
            allow_connections(admin, database, False)
            try:
                rename_database(admin, database, swap)
            finally:
                allow_connections(admin, swap if database_exists(admin, swap) else database, True)
            rename_database(admin, undo, database)
            rename_database(admin, swap, undo)
            return f"{undo} is {database} again; what was {database} is now {undo}"
    finally:
        admin.close()
    safety = [
        b for b in dumpfiles.list_backups(backup_directory(project))
        if b.manifest and b.manifest.get("reason") == "before restore" and b.database == database
    ]
    if not safety:
        raise StackError(f"nothing to undo: no {undo} database and no safety dump of {database}")
    result = restore_database(project, safety[-1].path, confirm=confirm)
    assert result is not None
    return f"restored the safety dump {safety[-1].path.name}"
