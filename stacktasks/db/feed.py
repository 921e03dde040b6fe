"""Streaming a dump into a client tool's stdin, in constant memory; plain SQL checked on its way."""

from __future__ import annotations

import subprocess
import sys
from typing import IO, TYPE_CHECKING

from ..safety import has_terminal
from . import dumpfiles
from .dumpread import open_dump_stream
from .plaindump import PlainDumpChecker

if TYPE_CHECKING:
    from ..project import Project
    from ..runner import Child
    from .plan import RestorePlan
    from .tools import PgClient

#: psql applies a dump in one transaction that only stacktasks can commit: BEGIN goes first, and
#: COMMIT only after the whole dump was checked and fed (and its producer, if any, exited 0). Cut
#: off before that, psql's session ends and the server rolls everything back.
PSQL_ARGS = ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-o", "/dev/null"]
BEGIN = b"BEGIN;\n"
COMMIT = b"COMMIT;\n"


def pipe_into(
    project: Project,
    client: PgClient,
    tool: str,
    args: list[str],
    dbname: str,
    plan: RestorePlan,
    *,
    prologue: bytes = b"",
) -> None:
    """Feed the dump to ``tool``'s stdin from Python (gunzipping on the way), in constant memory;
    a plain dump goes to psql checked line by line, inside a transaction only we commit."""
    argv = client.argv(tool, args, dbname=dbname, stdin=True)
    child = project.runner.start(argv, extra_env=client.env(dbname), stdin=subprocess.PIPE, what=tool)
    total = plan.path.stat().st_size if not plan.format.gzipped else 0
    meter = dumpfiles.Progress(f"restore {plan.path.name}", enabled=has_terminal(sys.stderr), total=total)
    with child:
        try:
            with open_dump_stream(plan.path, plan.format) as source:
                if plan.format.kind == "plain":
                    feed_checked(
                        child.stdin,
                        source,
                        plan.path.name,
                        prologue=prologue,
                        meter=meter,
                        skip_comments_on=plan.ready_extensions,
                    )
                else:
                    feed(child.stdin, source, meter=meter)
        finally:
            meter.finish()
        child.wait()


def widen_pipe(stream: IO[bytes]) -> None:
    """A pipe of 1 MiB rather than Linux's 64 KiB: a stream of many hundred MB then moves in
    sixteen times fewer reads, writes and wake-ups of the processes on either end."""
    import contextlib
    import fcntl

    # Not Linux, or above /proc/sys/fs/pipe-max-size: the default pipe works as well.
    with contextlib.suppress(OSError, AttributeError, ValueError):
        fcntl.fcntl(stream.fileno(), fcntl.F_SETPIPE_SZ, dumpfiles.CHUNK)


def feed(pipe: IO[bytes], source: IO[bytes], *, meter: dumpfiles.Progress | None = None) -> None:
    """Write a stream to a tool's stdin in constant memory, then close it."""
    try:
        done = 0
        while chunk := source.read(dumpfiles.CHUNK):
            pipe.write(chunk)
            done += len(chunk)
            if meter:
                meter.update(done)
        pipe.close()
    except BrokenPipeError:
        pass  # the tool stopped reading: its exit code and message say why


def feed_checked(
    pipe: IO[bytes],
    source: IO[bytes],
    name: str,
    *,
    prologue: bytes = b"",
    meter: dumpfiles.Progress | None = None,
    producer: Child | None = None,
    skip_comments_on: frozenset[str] = frozenset(),
) -> None:
    """BEGIN, the SQL as the checker lets it through, and COMMIT only once all of it was good.

    A refusal (or the producer's failure) raises before COMMIT is written: psql is then stopped
    with the transaction open, and the server rolls it back.
    """
    checker = PlainDumpChecker(name, skip_comments_on=skip_comments_on)
    try:
        pipe.write(BEGIN + prologue)
        done = 0
        while chunk := source.read(dumpfiles.CHUNK):
            pipe.write(checker.feed(chunk))
            done += len(chunk)
            if meter:
                meter.update(done)
        pipe.write(checker.finish())
        if producer is not None:
            producer.wait()
        pipe.write(COMMIT)
        pipe.close()
    except BrokenPipeError:
        pass  # psql stopped reading (an error in the SQL): its exit code and message say why
