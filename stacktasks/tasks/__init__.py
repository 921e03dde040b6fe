"""Thin @task wrappers, one module per namespace, and the one boundary they all share.

``stack_task`` builds the invocation's ``Project`` from Invoke's context, hands it to the task body
in place of the context, and turns whatever leaves the body into one ``stacktasks:`` line with a
documented exit code (``errors.py``): the traceback only with ``STACKTASKS_DEBUG=1``. Nothing here
imports the core at import time: `inv --list` needs none of it.
"""

from __future__ import annotations

import functools
import shlex
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

F = TypeVar("F", bound=Callable[..., Any])


def stack_task(*args: Any, **kwargs: Any) -> Callable[[F], Any]:
    """@task whose body takes a ``Project`` instead of Invoke's context."""

    def decorate(body: F) -> Any:
        @functools.wraps(body)
        def wrapper(c: Context, *a: Any, **kw: Any) -> Any:
            from ..errors import debugging, failure_of, one_line, with_crash_log

            project = None
            try:
                with _signals_interrupt():
                    from .config import project_from_context

                    project = project_from_context(c, assume_yes=bool(kw.get("yes")), extra_args=remainder_argv(c))
                    return body(project, *a, **kw)
            except (Exit, SystemExit):
                raise
            except BaseException as error:  # the one boundary: every failure leaves as one line
                if debugging():
                    import traceback

                    traceback.print_exc()
                mask = project.mask if project is not None else (lambda text: text)
                failure = with_crash_log(failure_of(error), error, mask)
                raise Exit(one_line(failure, mask), code=failure.code) from None
            finally:
                if project is not None:
                    project.close()

        return task(*args, **kwargs)(wrapper)

    return decorate


class _signals_interrupt:
    """SIGTERM and SIGHUP raise ``Interrupted`` like Ctrl-C does, so every step can roll back."""

    def __enter__(self) -> None:
        import signal
        import threading

        from ..errors import raise_interrupted

        self.previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGHUP):
                self.previous[signum] = signal.signal(signum, raise_interrupted)

    def __exit__(self, *_: object) -> None:
        import signal

        for signum, handler in self.previous.items():
            signal.signal(signum, handler)


def remainder_argv(c: Context) -> list[str]:
    """The words after `--`, exactly as typed.

    Invoke joins them with spaces, losing the quoting of `-k "a and b"`; the process's own argv
    still has them, so it is used when it agrees with Invoke's remainder.
    """
    text = getattr(c, "remainder", "") or ""
    if not text:
        return []
    if "--" in sys.argv:
        tail = sys.argv[sys.argv.index("--") + 1 :]
        if " ".join(tail) == text:
            return tail
    return shlex.split(text)


def shown_path(path: Path) -> str:
    """A path as the user would type it: relative to the working directory where it is below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def split_names(*values: str | Sequence[str] | None) -> list[str]:
    """Service names from `api,worker`, `"api worker"` or lists of either."""
    names: list[str] = []
    for value in values:
        if not value:
            continue
        items = [value] if isinstance(value, str) else list(value)
        for item in items:
            names += [name for name in item.replace(",", " ").split() if name]
    return names


def table(rows: Sequence[tuple[str, ...]], widths: Sequence[int | None]) -> Iterator[str]:
    """Rows as aligned columns; a width of None means as wide as the widest cell."""
    limits = [w if w is not None else max((len(r[i]) for r in rows), default=0) for i, w in enumerate(widths)]
    for row in rows:
        cells = [cell.ljust(limit) for cell, limit in zip(row, limits, strict=False)]
        yield "  ".join([*cells, *row[len(limits) :]]).rstrip()
