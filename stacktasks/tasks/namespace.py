"""The Invoke collection: every task each namespace module defines, and the settings keys."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from invoke.collection import Collection
from invoke.tasks import Task

T = TypeVar("T")


def collection(root: Path | None = None, **overrides: Any) -> Collection:
    """The Invoke collection of every stacktasks task.

    ``overrides`` are settings as in ``[tool.stacktasks]`` (nested dicts for tables, e.g.
    ``app={"service": "api", "prefix": "uv run"}``); they rank above pyproject.toml and below
    invoke.yaml and ``INVOKE_STACKTASKS_*``. An unknown key or a wrong type fails here, at import.
    ``root`` is the project's folder (the caller's tasks.py's), where the stack's own commands
    are read (``[tool.stacktasks.commands]``): they are tasks, so they must exist now.
    """
    from ..keys import COLLECTION_KEY, placeholder_tree
    from . import aliases, commands, db, env, front, redis, snapshots, stack

    # Every task a module defines is in its namespace: no hand-kept list of task names.
    ns = Collection()
    namespaces: dict[str, Collection] = {}
    for namespace, module in (
        ("", stack),
        ("db", db),
        ("db", snapshots),
        ("redis", redis),
        ("front", front),
        ("env", env),
        ("aliases", aliases),
    ):
        if namespace and namespace not in namespaces:
            namespaces[namespace] = Collection(namespace)
            ns.add_collection(namespaces[namespace])
        target = namespaces[namespace] if namespace else ns
        for value in vars(module).values():
            if isinstance(value, Task):
                target.add_task(value)
    one_line_for_config_errors()
    checked = _checked(overrides)
    reserved = [*ns.tasks, *ns.collections]
    for command in _at_import(lambda: commands.configured_tasks(root or Path.cwd(), checked, reserved)):
        ns.add_task(command)
    aliases.remember(ns)
    ns.configure(
        {
            # Every key present (as None) so that INVOKE_STACKTASKS_* can reach it.
            "stacktasks": placeholder_tree(),
            COLLECTION_KEY: checked,
        }
    )
    return ns


def _at_import(read: Callable[[], T]) -> T:
    """``read()``; a StackError is one line and exit 2 here, at import, where Invoke would show a
    traceback."""
    from ..errors import StackError, report

    try:
        return read()
    except StackError as error:
        report(error)
        raise SystemExit(error.code) from None


def _checked(overrides: dict[str, Any]) -> dict[str, Any]:
    """Overrides checked against the schema at import, so a typo fails on `inv --list` already.

    The schema is only imported when there are overrides: listing tasks stays cheap without.
    """
    if not overrides:
        return {}
    from ..settings import check_overrides

    return _at_import(lambda: check_overrides(overrides))


def one_line_for_config_errors() -> None:
    """Invoke merges its config files (invoke.yaml …) after loading tasks.py, outside any task:
    a plain value where stacktasks has a table (``stacktasks: {db: 5}``) would end in Invoke's
    traceback. It ends in one line and exit 2 instead; every other error is left as it was."""
    import sys

    previous = sys.excepthook

    def hook(kind: type[BaseException], error: BaseException, trace: Any) -> None:
        if kind.__name__ == "AmbiguousMergeError" and kind.__module__.startswith("invoke"):
            import os

            from ..errors import USAGE, StackError, report

            report(
                StackError(
                    "the Invoke configuration (invoke.yaml, INVOKE_* variables …) gives a plain value where "
                    f"stacktasks expects a table of settings ({str(error).split(' with ')[-1].split(' (')[0]})",
                    hint="write it as a table, e.g. stacktasks: {db: {service: db}}; inv doctor lists the settings",
                    code=USAGE,
                )
            )
            os._exit(USAGE)
        previous(kind, error, trace)

    sys.excepthook = hook
