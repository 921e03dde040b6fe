"""The Invoke collection: every task each namespace module defines, and the settings keys."""

from __future__ import annotations

from typing import Any

from invoke.collection import Collection
from invoke.tasks import Task


def collection(**overrides: Any) -> Collection:
    """The Invoke collection of every stacktasks task.

    ``overrides`` are settings as in ``[tool.stacktasks]`` (nested dicts for tables, e.g.
    ``app={"service": "api", "prefix": "uv run"}``); they rank above pyproject.toml and below
    invoke.yaml and ``INVOKE_STACKTASKS_*``. An unknown key or a wrong type fails here, at import.
    """
    from ..keys import COLLECTION_KEY, placeholder_tree
    from . import aliases, db, env, front, redis, snapshots, stack

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
    ns.configure(
        {
            # Every key present (as None) so that INVOKE_STACKTASKS_* can reach it.
            "stacktasks": placeholder_tree(),
            COLLECTION_KEY: _checked(overrides),
        }
    )
    return ns


def _checked(overrides: dict[str, Any]) -> dict[str, Any]:
    """Overrides checked against the schema at import, so a typo fails on `inv --list` already.

    The schema is only imported when there are overrides: listing tasks stays cheap without.
    """
    if not overrides:
        return {}
    from ..settings import check_overrides

    return check_overrides(overrides)
