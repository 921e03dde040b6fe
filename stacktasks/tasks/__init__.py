"""Thin @task wrappers, one module per namespace, and what they share."""

from __future__ import annotations

import functools
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from ..errors import StackError

F = TypeVar("F", bound=Callable[..., Any])


def stack_task(*args: Any, **kwargs: Any) -> Callable[[F], Any]:
    """@task, with a StackError turned into a one-line failure and its exit code."""

    def decorate(body: F) -> Any:
        @functools.wraps(body)
        def wrapper(c: Context, *a: Any, **kw: Any) -> Any:
            try:
                return body(c, *a, **kw)
            except StackError as error:
                raise Exit(f"stacktasks: {error}", code=error.code) from None

        return task(*args, **kwargs)(wrapper)

    return decorate


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
