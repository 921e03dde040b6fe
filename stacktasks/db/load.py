"""Loading a dump into a database: pg_restore (in parallel, from a file the tool can seek) or
psql (a plain dump, checked on its way), wherever the client tools run (tools.py)."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from ..safety import has_terminal
from . import dumpfiles
from .backup import backup_directory
from .dumpread import open_dump_stream
from .extensions import plain_extensions, prepare_extensions, toc_extensions, toc_without
from .feed import PSQL_ARGS, feed, pipe_into
from .tools import PgClient, file_in_service

if TYPE_CHECKING:
    from ..project import Project
    from ..runner import Child
    from .plan import RestorePlan
    from .target import DbTarget


def restore_args(jobs: int) -> list[str]:
    return ["--no-owner", "--no-acl", "--exit-on-error", f"--jobs={jobs}"]


def load_dump(
    project: Project, client: PgClient, plan: RestorePlan, dbname: str, *, admin_target: DbTarget | None = None
) -> None:
    """Run pg_restore or psql into ``dbname``; any error raises, with the tool's own message.

    With ``admin_target``, the extensions the dump needs are made ready first (extensions.py)."""
    if plan.format.kind == "plain":
        if admin_target and not project.dry:
            wanted = plain_extensions(plan.path, plan.format)
            plan.ready_extensions = frozenset(prepare_extensions(admin_target, dbname, wanted))
        pipe_into(project, client, "psql", PSQL_ARGS, dbname, plan)
        return
    with dump_for_tool(project, client, plan) as (dump_arg, mounts):
        toc_args: list[str] = []
        ready = []
        if admin_target and not project.dry:
            toc = read_toc(project, client, plan, dump_arg, mounts)
            ready = prepare_extensions(admin_target, dbname, toc_extensions(toc))
        with list_for_tool(project, client, plan, toc_without(toc, ready) if ready else None) as (list_arg, more):
            if list_arg:
                project.runner.note(
                    f"the extensions {', '.join(ready)} were created first: the dump's own entries for them are skipped"
                )
                toc_args = ["-L", list_arg]
                mounts = {**mounts, **more}
            if dump_arg is None:
                # Through a pipe pg_restore cannot seek: one job, and it says so.
                project.runner.note("the dump is compressed as a whole: pg_restore reads it from a pipe with one job")
                pipe_into(
                    project,
                    client,
                    "pg_restore",
                    ["--no-owner", "--no-acl", "--exit-on-error", *toc_args],
                    dbname,
                    plan,
                )
                return
            tables = len(plan.manifest.tables if plan.manifest else {}) or None
            jobs = 1 if plan.format.kind == "tar" else plan.jobs  # pg_restore runs a tar archive with one job only
            args = [*restore_args(jobs), *toc_args, dump_arg]
            remove = dump_arg if client.where == "service" else ""
            run_tool(project, client, "pg_restore", args, dbname, mounts or None, remove=remove, total=tables)


@contextlib.contextmanager
def dump_for_tool(project: Project, client: PgClient, plan: RestorePlan) -> Iterator[tuple[str | None, dict[str, str]]]:
    """Where pg_restore reads the dump: a path it sees (with the mounts that show it there), or
    None for its stdin (a dump compressed as a whole)."""
    if plan.format.gzipped:
        yield None, {}
    elif client.where == "service":
        assert client.compose is not None and client.target.service
        runner = project.runner
        with file_in_service(runner, client.compose, client.target.service, plan.path, plan.database) as inside:
            yield inside, {}
    elif client.where == "container":
        yield "/stacktasks/dump", {str(plan.path.resolve()): "/stacktasks/dump"}
    else:
        yield str(plan.path), {}


@contextlib.contextmanager
def list_for_tool(
    project: Project, client: PgClient, plan: RestorePlan, toc: str | None
) -> Iterator[tuple[str | None, dict[str, str]]]:
    """A pg_restore ``-L`` list where the tool reads it (None: the whole dump is restored)."""
    if toc is None:
        yield None, {}
        return
    directory = backup_directory(project)
    dumpfiles.ensure_private_directory(directory)
    path = directory / f".list-{secrets.token_hex(6)}"
    os.close(dumpfiles.create_private(path))
    try:
        path.write_text(toc, encoding="utf-8")
        if client.where == "service":
            assert client.compose is not None and client.target.service
            runner = project.runner
            with file_in_service(runner, client.compose, client.target.service, path, plan.database) as inside:
                yield inside, {}
        elif client.where == "container":
            yield "/stacktasks/list", {str(path): "/stacktasks/list"}
        else:
            yield str(path), {}
    finally:
        path.unlink(missing_ok=True)


def read_toc(
    project: Project, client: PgClient, plan: RestorePlan, dump_arg: str | None, mounts: Mapping[str, str]
) -> str:
    """``pg_restore -l``: the dump's table of contents, read where the tool reads the dump."""
    args = ["-l", *([dump_arg] if dump_arg else [])]
    argv = client.argv("pg_restore", args, mounts=mounts or None, database=False, stdin=dump_arg is None)
    stdin = subprocess.PIPE if dump_arg is None else subprocess.DEVNULL
    child = project.runner.start(
        argv, extra_env=client.env(), stdin=stdin, stdout=subprocess.PIPE, what="pg_restore", quiet=True
    )
    with child:
        if dump_arg is None:
            threading.Thread(target=feed_stream, args=(child, plan), daemon=True).start()
        toc = child.stdout.read().decode("utf-8", "replace")
        child.wait()
    return toc


def feed_stream(child: Child, plan: RestorePlan) -> None:
    """The dump, unpacked, into a child's stdin (from a thread; the child may stop reading early)."""
    with contextlib.suppress(OSError), open_dump_stream(plan.path, plan.format) as source:
        feed(child.stdin, source)


def run_tool(
    project: Project,
    client: PgClient,
    tool: str,
    args: list[str],
    dbname: str,
    mounts: Mapping[str, str] | None = None,
    remove: str = "",
    total: int | None = None,
) -> None:
    """A tool that reads no stdin; in the service it is watched, so it ends when the task does.
    On a terminal, pg_restore says each table it finished (--verbose) and a line counts them."""
    watched = client.can_watch()
    meter = TablesDone(total) if tool == "pg_restore" and has_terminal(sys.stderr) else None
    args = ["--verbose", *args] if meter else args
    argv = client.argv(tool, args, dbname=dbname, mounts=mounts, watched=watched, remove=remove)
    child = project.runner.start(
        argv,
        extra_env=client.env(dbname, watched=watched),
        stdin=subprocess.PIPE if watched else subprocess.DEVNULL,
        what=tool,
        on_stderr_line=meter.see if meter else None,
    )
    try:
        child.wait()
    finally:
        if meter:
            meter.finish()
    if watched:
        child.stdin.close()


class TablesDone:
    """ "restore: 12 of 40 tables" on one self-rewriting line, from pg_restore --verbose."""

    FINISHED = re.compile(r"finished item \d+ TABLE DATA |processing data for table ")

    def __init__(self, total: int | None) -> None:
        self.total, self.done, self.started = total, 0, time.monotonic()

    def see(self, line: str) -> None:
        if self.FINISHED.search(line):
            self.done += 1
            of = f" of {self.total}" if self.total else ""
            elapsed = time.monotonic() - self.started
            sys.stderr.write(f"\r\033[Krestore: {self.done}{of} tables · {elapsed:.0f}s")
            sys.stderr.flush()

    def finish(self) -> None:
        if self.done:
            sys.stderr.write("\n")
            sys.stderr.flush()
