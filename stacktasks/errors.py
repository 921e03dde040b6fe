"""What can go wrong, as the user sees it: one ``stacktasks:`` line, a hint, a documented exit code.

Exit codes (the README's table is this one):

====  ============================================================================
0     done
1     the operation failed (a check, a verification, a server said no)
2     usage: a wrong argument or setting (Invoke's own parse errors exit 1)
3     refused: not confirmed, or no terminal to ask on and no ``--yes``
70    a bug in stacktasks (the traceback is shown with ``STACKTASKS_DEBUG=1``)
127   a tool is missing (docker, compose, pg_dump …)
N     a child's own exit code, passed through (tests, migrations, psql …)
128+n a child (or stacktasks) was killed by signal n: 130 for Ctrl-C, 143 for SIGTERM
====  ============================================================================

``failure_of`` is the one boundary that turns any expected exception (ours, psycopg, redis-py,
the OS) into a ``StackError``; it never imports those libraries itself.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

OK = 0
FAILED = 1
USAGE = 2
REFUSED = 3
BUG = 70
MISSING_TOOL = 127
SIGNAL_BASE = 128


class StackError(Exception):
    """A failure the user can act on: a one-line reason, an optional hint and an exit code."""

    def __init__(self, message: str, hint: str | None = None, code: int = FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\nhint: {self.hint}"
        return self.message


class ChildFailed(StackError):
    """A child process exited non-zero or was killed: built in one place (``Runner``) for every tool.

    ``returncode`` is what the OS reported (negative for a signal); ``code`` is the exit code
    stacktasks leaves with: the child's own, or 128+n for signal n.
    """

    def __init__(self, shown: str, returncode: int, reason: str = "", what: str = "", hint: str | None = None) -> None:
        self.returncode = returncode
        self.shown = shown
        self.reason = reason
        if returncode < 0:
            killed = f"killed by signal {-returncode} ({signal_name(-returncode)})"
            message = f"{what} failed: {killed}" if what else f"`{shown}` was {killed}"
            code = SIGNAL_BASE - returncode
        else:
            message = f"{what} failed (exit {returncode})" if what else f"`{shown}` exited with {returncode}"
            code = returncode
        if reason:
            message += f": {reason}"
        super().__init__(message, hint=hint, code=code)


class Interrupted(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP reached stacktasks: finish or roll back the current step, then stop."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal_name(signum))
        self.signum = signum

    @property
    def code(self) -> int:
        return SIGNAL_BASE + self.signum


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def raise_interrupted(signum: int, _frame: object) -> None:
    raise Interrupted(signum)


def first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return lines[0] if lines else str(text).strip()


def _library_error(error: BaseException, module: str, class_name: str = "Error") -> bool:
    """Whether ``error`` is ``module.class_name``'s kind, without importing the library."""
    loaded = sys.modules.get(module)
    kind = getattr(loaded, class_name, None) if loaded else None
    return isinstance(kind, type) and isinstance(error, kind)


def _os_failure(error: OSError) -> StackError:
    where = f": {error.filename}" if error.filename else ""
    if error.errno == errno.ENOSPC:
        return StackError(f"no space left on the device{where}", hint="free disk space (df -h), then run it again")
    if error.errno in (errno.EACCES, errno.EPERM):
        return StackError(f"permission denied{where}", hint="check the owner and mode of that path")
    if error.errno == errno.ENOTDIR:
        return StackError(f"not a folder{where}", hint="a file is in the way of a folder stacktasks needs")
    if error.errno == errno.EEXIST:
        return StackError(f"already exists{where}")
    if isinstance(error, ConnectionError | TimeoutError):
        return StackError(f"connection failed: {error.strerror or error}{where}")
    return StackError(f"{error.strerror or error}{where}")


def failure_of(error: BaseException) -> StackError:
    """The one-line failure an exception becomes at the task boundary."""
    if isinstance(error, StackError):
        return error
    if isinstance(error, Interrupted):
        return StackError(f"interrupted by {signal_name(error.signum)}", code=error.code)
    if isinstance(error, KeyboardInterrupt):
        return StackError("interrupted (Ctrl-C)", code=SIGNAL_BASE + signal.SIGINT)
    if _library_error(error, "psycopg"):
        hint = "is the database up? inv ps" if _library_error(error, "psycopg", "OperationalError") else None
        return StackError(f"PostgreSQL: {first_line(str(error))}", hint=hint)
    if _library_error(error, "redis.exceptions", "RedisError"):
        return StackError(f"Redis: {first_line(str(error)) or type(error).__name__}", hint="is Redis up? inv ps")
    if isinstance(error, OSError):
        return _os_failure(error)
    return StackError(
        f"internal error: {type(error).__name__}: {first_line(str(error))}",
        hint="run again with STACKTASKS_DEBUG=1 for the traceback, and report it",
        code=BUG,
    )


def with_crash_log(failure: StackError, error: BaseException, mask: Callable[[str], str]) -> StackError:
    """An unexpected error (exit 70) keeps its traceback in a crash log whose path the hint names,
    as pre-commit's error handler does; a log that cannot be written leaves the hint as it was."""
    if failure.code != BUG:
        return failure
    path = write_crash_log(error, mask)
    if path is None:
        return failure
    return StackError(failure.message, hint=f"the traceback is in {path}; report it with that file", code=BUG)


def crash_log_path() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "stacktasks" / "crash.log"


def write_crash_log(error: BaseException, mask: Callable[[str], str]) -> Path | None:
    """stacktasks' and Python's versions, the command line and the traceback, secrets masked;
    readable by its owner only. The last crash replaces the one before (a bounded file)."""
    import platform
    import traceback
    from importlib import metadata

    try:
        version = metadata.version("stacktasks")
    except metadata.PackageNotFoundError:
        version = "(not installed)"
    path = crash_log_path()
    text = "\n".join(
        [
            f"stacktasks {version}, Python {platform.python_version()}, {platform.platform()}",
            f"argv: {mask(' '.join(sys.argv))}",
            "",
            mask("".join(traceback.format_exception(error))),
        ]
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError:
        return None
    return path


def debugging() -> bool:
    return os.environ.get("STACKTASKS_DEBUG", "") not in ("", "0")


def one_line(error: StackError, mask: Callable[[str], str]) -> str:
    """``stacktasks: reason`` (and ``hint: …`` on its own line), secrets masked."""
    return f"stacktasks: {mask(str(error))}"


def report(error: StackError) -> None:
    """Print a failure that happens outside any task (at import, in Invoke's config) as a task's would."""
    print(one_line(error, lambda text: text), file=sys.stderr, flush=True)


class interrupts_deferred:
    """Signals that arrive inside the block are acted on when it ends: a step that must finish (a
    swap's transaction, a rollback) finishes, then stacktasks stops with the signal's exit code."""

    def __enter__(self) -> interrupts_deferred:
        import threading

        self.caught: list[int] = []
        self.previous: dict[int, object] = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                self.previous[signum] = signal.signal(signum, self._remember)
        return self

    def stop_requested(self) -> int | None:
        """The signal that came, if one did: a step that would wait longer (a retry) gives up instead."""
        return self.caught[0] if self.caught else None

    def _remember(self, signum: int, _frame: object) -> None:
        self.caught.append(signum)

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        if self.caught and kind is None:
            raise Interrupted(self.caught[0])
