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
    import sys
    from pathlib import Path

    from .tasks.namespace import collection as build

    # The project is the folder of the tasks.py calling this (as Invoke's own project prefix).
    caller = sys._getframe(1).f_globals.get("__file__")
    return build(Path(caller).resolve().parent if caller else None, **overrides)
