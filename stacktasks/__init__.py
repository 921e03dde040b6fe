"""stacktasks: the everyday operations of a Docker Compose dev stack as Invoke tasks.

In a project's tasks.py::

    from stacktasks import collection
    ns = collection()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from invoke.collection import Collection

__version__ = "0.1.0"

__all__ = ["__version__", "collection"]


def collection(**overrides: Any) -> Collection:
    """The Invoke collection of every stacktasks task.

    ``overrides`` are settings as in ``[tool.stacktasks]`` (nested dicts for tables, e.g.
    ``app={"service": "api", "prefix": "uv run"}``); they rank above pyproject.toml and below
    invoke.yaml and ``INVOKE_STACKTASKS_*``. An unknown key or a wrong type fails here, at import.
    """
    from invoke.collection import Collection
    from invoke.tasks import Task

    from .keys import COLLECTION_KEY, placeholder_tree
    from .tasks import aliases, db, env, front, redis, stack

    # Every task a module defines is in its namespace: no hand-kept list of task names.
    ns = Collection()
    for namespace, module in (
        ("", stack),
        ("db", db),
        ("redis", redis),
        ("front", front),
        ("env", env),
        ("aliases", aliases),
    ):
        target = ns if not namespace else Collection(namespace)
        for value in vars(module).values():
            if isinstance(value, Task):
                target.add_task(value)
        if namespace:
            ns.add_collection(target)
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
    from .settings import check_overrides

    return check_overrides(overrides)
