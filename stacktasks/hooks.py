"""Hooks, from ``[tool.stacktasks.hooks]``: what runs after (or before) a task's own work.

Each event is a list of entries run in order. An entry whose first word is a task's name
(``db.migrate``, ``redis.flush-ratelimits``, a configured command) runs that task in this process,
the other words as its flags and ``-- ARGS``; any other entry is a command run in the app service
as configured commands are. A hook that fails fails the task, named, while what the task changed
before it stays as it is: the message says so. Hooks a hook's own task would run are not run
(no loops), and ``--no-hooks`` skips them all.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from .errors import USAGE, StackError

if TYPE_CHECKING:
    from .project import Project

#: The events, as keys of [tool.stacktasks.hooks].
EVENTS = ("after_up", "after_restore", "after_onboard", "before_reset")
#: A task in this process: the project and the words after its name.
TaskCall = Callable[["Project", list[str]], None]
#: A word that can only be meant as a task's name (a namespace and a task).
DOTTED = re.compile(r"[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)+\Z")


def hook_entries(project: Project, event: str) -> list[str]:
    entries: list[str] = getattr(project.settings.hooks, event)
    return entries


def checked_hooks(project: Project, event: str, tasks: Mapping[str, TaskCall]) -> list[tuple[str, list[str]]]:
    """(label, words) of each of the event's entries, or the StackError of the first that cannot run."""
    return [
        (f"hook {event}[{number}] {entry!r}", hook_words(entry, f"hooks.{event}[{number}]", tasks))
        for number, entry in enumerate(hook_entries(project, event), start=1)
    ]


def run_hooks(project: Project, event: str, tasks: Mapping[str, TaskCall], *, done: str = "") -> None:
    """Run the event's hooks in order; ``done`` says what stays changed if one fails."""
    entries = hook_entries(project, event)
    if not entries:
        return
    if not project.hooks_enabled:
        project.runner.note(f"hooks {event} not run ({'; '.join(entries)}): --no-hooks, or inside a hook")
        return
    project.hooks_enabled = False  # a hook's own task runs no hooks: no loops
    try:
        for label, words in checked_hooks(project, event, tasks):
            project.runner.note(label)
            try:
                run_entry(project, words, tasks)
            except StackError as error:
                after = f"; {done}" if done else ""
                raise StackError(
                    f"{label} failed: {error.message}{after}",
                    hint="fix it and run it alone, or skip hooks with --no-hooks"
                    + (f"; {error.hint}" if error.hint else ""),
                    code=error.code,
                ) from None
    finally:
        project.hooks_enabled = True


def hook_words(entry: str, key: str, tasks: Mapping[str, TaskCall]) -> list[str]:
    """An entry's words; a dotted first word must name a task (a typo is not run as a command)."""
    try:
        words = shlex.split(entry)
    except ValueError as error:
        raise StackError(f"setting {key} cannot be split into words ({error}): {entry!r}", code=USAGE) from None
    if not words:
        raise StackError(f"setting {key} is empty", code=USAGE)
    if words[0] not in tasks and DOTTED.match(words[0]):
        import difflib

        close = difflib.get_close_matches(words[0], list(tasks), n=1)
        raise StackError(
            f"setting {key} names no task: {words[0]!r}",
            hint=f"did you mean {close[0]!r}?" if close else "inv --list shows the tasks",
            code=USAGE,
        )
    return words


def run_entry(project: Project, words: list[str], tasks: Mapping[str, TaskCall]) -> None:
    if words[0] in tasks:
        tasks[words[0]](project, words[1:])
        return
    from .commands import run_in_app_or_service

    code = run_in_app_or_service(project, words, None)
    if code:
        raise StackError(f"exited with {code}", code=code)
