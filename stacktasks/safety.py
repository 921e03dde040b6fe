"""The one confirmation behind every destructive task.

``--yes`` skips it. Without a terminal and without ``--yes`` it refuses at once, never waiting
on a stdin nobody will write to. On a protected stage the user types the project's name.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import IO

from .errors import REFUSED, StackError

#: Exit code of a refusal (no terminal, no --yes) or of an answer that was not yes.


def has_terminal(stream: IO[str] | None = None) -> bool:
    """Whether ``stream`` (default: stdin) is a terminal; False for a closed or replaced one."""
    stream = sys.stdin if stream is None else stream
    try:
        return stream is not None and stream.isatty()
    except (ValueError, AttributeError):  # closed or replaced stdin
        return False


def confirm(
    action: str,
    *,
    yes: bool,
    protected: bool = False,
    expected: str = "",
    dry: bool = False,
    stdin: IO[str] | None = None,
    ask: Callable[[str], str] = input,
    out: IO[str] | None = None,
) -> None:
    """Return when the user agreed to ``action``; raise StackError otherwise.

    ``protected`` asks for ``expected`` (the project's name) typed in full instead of y/N.
    """
    out = sys.stderr if out is None else out
    if dry:
        print(f"[dry-run] would ask: {action}", file=sys.stdout, flush=True)
        return
    if yes:
        return
    if not has_terminal(stdin):
        raise StackError(
            f"refusing to {action} without confirmation: no terminal to ask on",
            hint="pass --yes (-y) to confirm from a script",
            code=REFUSED,
        )
    try:
        if protected:
            print(f"This is a protected stage. About to {action}.", file=out, flush=True)
            answer = ask(f"Type the project name ({expected}) to go on: ")
            agreed = answer.strip() == expected
        else:
            answer = ask(f"About to {action}. Go on? [y/N] ")
            agreed = answer.strip().lower() in ("y", "yes")
    except (EOFError, KeyboardInterrupt):
        agreed = False
        print(file=out)
    if not agreed:
        raise StackError(f"did not {action}: not confirmed", code=REFUSED)
