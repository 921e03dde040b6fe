"""The aliases namespace: just and make recipes onto the tasks."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from . import stack_task

if TYPE_CHECKING:
    from invoke.collection import Collection

    from ..aliases import AliasKind
    from ..project import Project

COMMAND_HELP = "how the recipes call the tasks (default: inv; e.g. .venv/bin/inv or stack)"

#: The collection this process built (namespace.collection records it): the recipes list its tasks,
#: a project's own tasks added to it included.
_built: list[Collection] = []


def remember(collection: Collection) -> None:
    _built[:] = [collection]


def built_collection() -> Collection:
    from ..errors import StackError

    if not _built:
        raise StackError("no stacktasks collection was built in this process")
    return _built[0]


def _write(project: Project, kind: AliasKind, file: str, command: str) -> None:
    from ..aliases import just_block, make_block, task_names, write_block

    collection = built_collection()
    tasks = task_names(collection)
    # The stack's own commands take no flags: their recipes pass every word on (tasks/commands.py).
    words_only = {name for name in tasks if getattr(collection[name].body, "stack_command", None)}
    block = (just_block if kind == "just" else make_block)(tasks, command, words_only)
    path = Path(file)
    if not path.is_absolute():
        path = project.root / path
    if project.dry:
        print(f"[dry-run] write {len(tasks)} recipes between the stacktasks markers in {path}")
        return
    print(write_block(path, block, kind))


@stack_task(help={"file": "the justfile to write (default: justfile)", "command": COMMAND_HELP})
def just(project: Project, file: str = "justfile", command: str = "inv") -> None:
    """Write one just recipe per task into the justfile, between markers: your own recipes stay."""
    _write(project, "just", file, command)


@stack_task(help={"file": "the Makefile to write (default: Makefile)", "command": COMMAND_HELP})
def make(project: Project, file: str = "Makefile", command: str = "inv") -> None:
    """Write one make target per task into the Makefile, between markers: your own targets stay."""
    _write(project, "make", file, command)
