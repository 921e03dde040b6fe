"""stacktasks: the everyday operations of a Docker Compose dev stack as Invoke tasks.

In a project's tasks.py::

    from stacktasks import collection
    ns = collection()
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "collection"]


def collection(**overrides: Any) -> Any:
    """The Invoke collection of every stacktasks task.

    ``overrides`` are settings as in ``[tool.stacktasks]`` (nested dicts for tables, e.g.
    ``app={"service": "api", "prefix": "uv run"}``); they rank above pyproject.toml and below
    invoke.yaml and ``INVOKE_STACKTASKS_*``. An unknown key or a wrong type fails here, at import.
    """
    from invoke.collection import Collection

    from .settings import COLLECTION_KEY, check_overrides, placeholder_tree
    from .tasks import db, redis, stack

    ns = Collection()
    for name in ("up", "down", "ps", "logs", "restart", "exec_", "shell", "rebuild", "reset", "test", "doctor"):
        ns.add_task(getattr(stack, name))
    db_tasks = Collection("db")
    for name in ("migrate", "makemigrations", "shell", "backup", "backups", "restore", "undo"):
        db_tasks.add_task(getattr(db, name))
    ns.add_collection(db_tasks)
    redis_tasks = Collection("redis")
    for name in ("flush_ratelimits", "flush", "count", "cli"):
        redis_tasks.add_task(getattr(redis, name))
    ns.add_collection(redis_tasks)
    ns.configure(
        {
            # Every key present (as None) so that INVOKE_STACKTASKS_* can reach it.
            "stacktasks": placeholder_tree(),
            COLLECTION_KEY: check_overrides(overrides),
        }
    )
    return ns
