"""Hooks in the task layer: the collection's tasks as calls hooks.py can make, checked before the
task's own work so that a typo in a hook stops a restore before it starts, not after."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from invoke.tasks import Task

    from ..doctor import Check
    from ..hooks import TaskCall
    from ..project import Project

NO_HOOKS_HELP = "run none of this task's hooks ([tool.stacktasks.hooks])"
#: What stays done when an after_restore hook fails.
RESTORED = "the {what} itself is complete ({database} holds the new data; inv db.undo puts back what it replaced)"


class PreparedHooks:
    """One event's hooks, checked; ``run`` runs them (or shows them under --dry)."""

    def __init__(self, project: Project, event: str, tasks: dict[str, TaskCall]) -> None:
        self.project, self.event, self.tasks = project, event, tasks

    def run(self, done: str = "") -> None:
        from ..hooks import run_hooks

        run_hooks(self.project, self.event, self.tasks, done=done)


def prepared_hooks(project: Project, event: str, no_hooks: bool) -> PreparedHooks:
    from ..hooks import checked_hooks, hook_entries

    if no_hooks:
        project.hooks_enabled = False
    tasks = task_calls() if hook_entries(project, event) else {}
    if project.hooks_enabled:
        checked_hooks(project, event, tasks)
    return PreparedHooks(project, event, tasks)


def task_calls() -> dict[str, TaskCall]:
    """Every task of the collection this process built, by its dotted name and by its aliases."""
    from .aliases import built_collection

    collection = built_collection()
    calls: dict[str, TaskCall] = {}
    for name, aliases in collection.task_names.items():
        for called in (name, *aliases):
            calls[called] = functools.partial(call_task, collection[name], name)
    return calls


def arguments_of(task: Task[Any]) -> list[Any]:
    """The task's arguments as Invoke parses them; Invoke pops each help text as it builds one,
    so the task's help is put back for whoever asks next (its --help, the next hook)."""
    kept = dict(task.help)
    try:
        return list(task.get_arguments())
    finally:
        task.help = kept


def call_task(task: Task[Any], name: str, project: Project, words: list[str]) -> None:
    """``task`` in this process with the same project: ``words`` are its flags, then ``-- ARGS``."""
    from invoke.exceptions import ParseError
    from invoke.parser.context import ParserContext
    from invoke.parser.parser import Parser

    from ..errors import USAGE, StackError

    body = getattr(task.body, "__wrapped__", None)
    if body is None:  # a project's own task takes Invoke's context, which a hook does not have
        hint = "make what it runs a [tool.stacktasks.commands] entry, and name that"
        raise StackError(f"{name} is not a stacktasks task: a hook cannot run it", hint=hint, code=USAGE)
    arguments = arguments_of(task)
    if not arguments:  # a configured command takes no flags: its words are its arguments, -- or not
        flags, rest = [], words[1:] if words[:1] == ["--"] else words
    elif "--" in words:
        flags, rest = words[: words.index("--")], words[words.index("--") + 1 :]
    else:
        flags, rest = words, []
    try:
        parsed = Parser(contexts=[ParserContext(name=name, args=arguments)]).parse_argv([name, *flags])
    except ParseError as error:
        raise StackError(f"{name}: {error}", code=USAGE) from None
    previous = project.extra_args
    project.extra_args = rest
    try:
        body(project, **parsed[0].as_kwargs)
    finally:
        project.extra_args = previous


def hooks_check(project: Project) -> Check | None:
    """doctor's finding on the hooks: every entry of every event can run (None: no hooks set)."""
    from ..doctor import Check
    from ..errors import StackError
    from ..hooks import EVENTS, checked_hooks, hook_entries

    set_events = [event for event in EVENTS if hook_entries(project, event)]
    if not set_events:
        return None
    tasks = task_calls()
    try:
        for event in set_events:
            checked_hooks(project, event, tasks)
    except StackError as error:
        return Check("hooks", "hooks", False, error.message, error.hint or "")
    shown = "; ".join(f"{event}: {', '.join(hook_entries(project, event))}" for event in set_events)
    return Check("hooks", "hooks", True, shown)
