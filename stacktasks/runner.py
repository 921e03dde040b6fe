"""Runs argv lists as child processes: streamed, masked when shown, never through a shell.

Invoke's ``run()`` reads every byte of a child's output into memory and decodes it; here the
child inherits our terminal (or pipes we hand it), so output streams as it comes and binary
streams stay binary. Every failure of a child becomes one ``ChildFailed``, built here, with the
same rule everywhere: the child's own exit code, or 128+n for signal n. This is the interface a
remote host or ``kubectl exec`` would also implement.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO

from .errors import MISSING_TOOL, SIGNAL_BASE, ChildFailed, Interrupted, StackError

#: How long a child may take to stop after SIGTERM before it gets SIGKILL.
STOP_GRACE = 5.0


def ends_with_us() -> Callable[[], None] | None:
    """What makes a streaming child end when stacktasks dies, SIGKILL included (Linux's parent-death
    signal): a pg_restore on this host must not go on loading after the task that ran it is gone.

    The signal follows the thread that started the child, so only children of the main thread get it.
    """
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def set_parent_death_signal() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the signal was set
            os._exit(128 + signal.SIGTERM)

    return set_parent_death_signal


PR_SET_PDEATHSIG = 1


def format_argv(argv: Sequence[str]) -> str:
    return shlex.join(argv)


class StderrTail:
    """Drains a child's stderr in a thread, keeping its last lines for the error message."""

    def __init__(
        self, stream: IO[bytes], echo: IO[bytes] | None = None, on_line: Callable[[str], None] | None = None
    ) -> None:
        self.lines: deque[str] = deque(maxlen=20)
        self.on_line = on_line  # sees every line (a progress meter), in the draining thread
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
                if self.on_line is not None:
                    self.on_line(line)

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def reason(self) -> str:
        """The line that says why: the server's own ERROR where there is one (pg_restore's later
        lines, "a worker process died unexpectedly", are its consequences), else the last error."""
        server = [line for line in self.lines if "ERROR:" in line]
        errors = [line for line in self.lines if "error" in line.lower() or "fatal" in line.lower()]
        return printable((server or errors or list(self.lines) or [""])[-1])


def printable(text: str) -> str:
    """``text`` with control characters (a terminal's escape sequences among them) shown as ``?``:
    what a child or a file says never drives the terminal."""
    return CONTROL.sub("?", text)


CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class Child:
    """One running child with piped streams; ``wait`` raises ``ChildFailed``, ``stop`` ends it.

    As a context manager it stops the child when the block raises (an error, Ctrl-C, SIGTERM),
    so no tool outlives the task that started it.
    """

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        argv: Sequence[str],
        runner: Runner,
        what: str,
        on_stderr_line: Callable[[str], None] | None = None,
    ) -> None:
        self.process = process
        self.argv = list(argv)
        self.runner = runner
        self.what = what
        stderr = process.stderr
        self.tail = StderrTail(stderr, on_line=on_stderr_line) if stderr is not None else None

    @property
    def stdin(self) -> IO[bytes]:
        assert self.process.stdin is not None
        return self.process.stdin

    @property
    def stdout(self) -> IO[bytes]:
        assert self.process.stdout is not None
        return self.process.stdout

    def wait(self, *, check: bool = True) -> int:
        """The exit code; an interrupt stops the child first and then goes on up."""
        try:
            code = self.process.wait()
        except BaseException:
            self.stop()
            raise
        if self.tail is not None:
            self.tail.join(timeout=STOP_GRACE)
        if check and code != 0:
            raise self.failure(code)
        return code

    def failure(self, code: int) -> ChildFailed:
        reason = self.runner.mask(self.tail.reason()) if self.tail is not None else ""
        return ChildFailed(self.runner.mask(format_argv(self.argv)), code, reason, what=self.what)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a grace period; the pipes are closed."""
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.process.terminate()
            try:
                self.process.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def __enter__(self) -> Child:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if error is not None:
            self.stop()


class PlannedChild(Child):
    """What ``Runner.start`` gives under dry-run: the command was shown, nothing runs; its stdin
    swallows what is written, its stdout is empty, and it "exits" 0."""

    def __init__(self, argv: Sequence[str], runner: Runner, what: str) -> None:
        import io

        self.argv = list(argv)
        self.runner = runner
        self.what = what
        self.tail = None
        self._stdin: IO[bytes] = open(os.devnull, "wb")  # noqa: SIM115 - closed by stop() or the caller
        self._stdout: IO[bytes] = io.BytesIO()

    @property
    def stdin(self) -> IO[bytes]:
        return self._stdin

    @property
    def stdout(self) -> IO[bytes]:
        return self._stdout

    def wait(self, *, check: bool = True) -> int:
        return 0

    def stop(self) -> None:
        self._stdin.close()


@dataclass
class Runner:
    """Runs commands in ``cwd`` with ``env``; ``mask`` hides secrets in what it prints."""

    env: dict[str, str]
    cwd: Path
    mask: Callable[[str], str] = field(default=lambda text: text)
    dry: bool = False
    echo: bool = True
    out: IO[str] | None = None  # None: sys.stdout as it is when printing (tests replace it)
    err: IO[str] | None = None
    #: Called once, right before the first docker or compose child: where the engine's environment
    #: is settled (an ssh engine's one connection, see Project), so no docker call takes another route.
    before_docker: Callable[[], None] | None = field(default=None, repr=False)
    _said: set[str] = field(default_factory=set, repr=False)

    def prepare(self, argv: Sequence[str]) -> None:
        """Run ``before_docker`` ahead of the first docker child (it may start one itself)."""
        if self.before_docker is not None and argv and Path(argv[0]).name in {"docker", "docker-compose"}:
            hook, self.before_docker = self.before_docker, None
            hook()

    def show(self, argv: Sequence[str]) -> None:
        """Print a command as it would be typed, secrets masked."""
        line = self.mask(format_argv(argv))
        if self.dry:
            print(f"[dry-run] {line}", file=self.out or sys.stdout, flush=True)
        elif self.echo:
            print(f"$ {line}", file=self.err or sys.stderr, flush=True)

    def note_once(self, text: str) -> None:
        """``note``, but a line already said in this run is not said again (a route looked up anew
        while waiting for a service)."""
        if text not in self._said:
            self._said.add(text)
            self.note(text)

    def note(self, text: str) -> None:
        """A Python-side step of the plan (a file write, a wait), shown like a command."""
        if self.dry:
            print(f"[dry-run] {self.mask(text)}", file=self.out or sys.stdout, flush=True)
        elif self.echo:
            print(f"# {self.mask(text)}", file=self.err or sys.stderr, flush=True)

    def run(
        self,
        argv: Sequence[str],
        *,
        check: bool = True,
        changes: bool = True,
        extra_env: Mapping[str, str] | None = None,
        what: str = "",
    ) -> int:
        """Run with our stdio inherited; return the exit code (128+n for a child ended by signal n),
        or raise ``ChildFailed`` when ``check``.

        ``changes=False`` marks a read-only command that still runs under dry-run, because the
        plan depends on what it says. Ctrl-C reaches the child too (same process group): it
        decides what Ctrl-C means (psql cancels a query); its exit code is reported. SIGTERM sent
        to stacktasks alone is passed on to the child.
        """
        self.show(argv)
        if self.dry and changes:
            return 0
        self.prepare(argv)
        process = self._popen(argv, extra_env)
        code = self._wait_forwarding(process)
        if check and code != 0:
            raise ChildFailed(self.mask(format_argv(argv)), code, what=what)
        return SIGNAL_BASE - code if code < 0 else code  # as a shell says it: 143 for SIGTERM

    def capture(
        self,
        argv: Sequence[str],
        *,
        check: bool = True,
        extra_env: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a read-only command and return its output (small outputs only: it is buffered)."""
        result = self.capture_ahead(argv, extra_env=extra_env, timeout=timeout)()
        if check and result.returncode != 0:
            raise self.failure(argv, result.returncode, result.stderr)
        return result

    def capture_ahead(
        self, argv: Sequence[str], *, extra_env: Mapping[str, str] | None = None, timeout: float | None = None
    ) -> Callable[[], subprocess.CompletedProcess[str]]:
        """``capture`` (never checked) started now, collected by calling what it returns: an answer
        needed only after other work (compose config while psycopg loads)."""
        self.prepare(argv)
        try:
            process = subprocess.Popen(
                list(argv),
                cwd=self.cwd,
                env={**self.env, **(extra_env or {})},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        except FileNotFoundError:
            raise self.not_found(argv) from None

        def collect() -> subprocess.CompletedProcess[str]:
            try:
                stdout, stderr = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
                raise StackError(f"`{self.mask(format_argv(argv))}` did not answer within {timeout:.0f}s") from None
            except BaseException:  # a signal: the child goes with the task, as in subprocess.run
                process.kill()
                raise
            return subprocess.CompletedProcess(list(argv), process.returncode, stdout, stderr)

        return collect

    def start(
        self,
        argv: Sequence[str],
        *,
        extra_env: Mapping[str, str] | None = None,
        stdin: int | IO[bytes] | None = subprocess.DEVNULL,
        stdout: int | IO[bytes] | None = None,
        what: str = "",
        quiet: bool = False,
        changes: bool = True,
        on_stderr_line: Callable[[str], None] | None = None,
    ) -> Child:
        """Start a child whose binary streams the caller wires up; its stderr is kept for errors.

        ``extra_env`` is where secrets go (PGPASSWORD): the child sees them, argv and logs never do.
        Under dry-run the command is shown and a ``PlannedChild`` stands in for it; ``quiet``
        children (a relay's, one per connection) are said once by their owner instead. A child
        that ``changes`` nothing (a connection to the engine) runs under dry-run too.
        """
        if not quiet:
            self.show(argv)
        if self.dry and changes:
            return PlannedChild(argv, self, what or argv[0])
        self.prepare(argv)
        try:
            process = subprocess.Popen(
                list(argv),
                cwd=self.cwd,
                env={**self.env, **(extra_env or {})},
                stdin=stdin,
                stdout=stdout,
                stderr=subprocess.PIPE,
                preexec_fn=ends_with_us(),
            )
        except FileNotFoundError:
            raise self.not_found(argv) from None
        return Child(process, argv, self, what or argv[0], on_stderr_line)

    @contextlib.contextmanager
    def stopping(self, *children: Child) -> Iterator[None]:
        """Stop every child still running when the block raises."""
        try:
            yield
        except BaseException:
            for child in children:
                child.stop()
            raise

    def _popen(self, argv: Sequence[str], extra_env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
        try:
            return subprocess.Popen(list(argv), cwd=self.cwd, env={**self.env, **(extra_env or {})})
        except FileNotFoundError:
            raise self.not_found(argv) from None

    @staticmethod
    def _wait_forwarding(process: subprocess.Popen[bytes]) -> int:
        while True:
            try:
                return process.wait()
            except Interrupted as interrupt:
                if interrupt.signum != signal.SIGINT:  # Ctrl-C already reached the whole group
                    with contextlib.suppress(OSError):
                        process.send_signal(interrupt.signum)
            except KeyboardInterrupt:
                continue

    def not_found(self, argv: Sequence[str]) -> StackError:
        hint = "install it"
        if argv[0] in {"docker", "docker-compose"}:  # the compose command is a setting
            hint += ", or set stacktasks.compose_command to the compose you have"
        return StackError(f"command not found: {argv[0]}", hint=hint, code=MISSING_TOOL)

    def failure(self, argv: Sequence[str], code: int, stderr: str = "") -> ChildFailed:
        lines = [line for line in stderr.strip().splitlines() if line.strip()]
        reason = self.mask(lines[-1].strip()) if lines else ""
        return ChildFailed(self.mask(format_argv(argv)), code, reason)
