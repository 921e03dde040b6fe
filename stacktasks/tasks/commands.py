"""The stack's own commands ([tool.stacktasks.commands], commands.py) as tasks at the root."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import stack_task

if TYPE_CHECKING:
    from invoke.tasks import Task

    from ..commands import StackCommand
    from ..project import Project


def configured_tasks(root: Path, overrides: Mapping[str, Any], reserved: Collection[str]) -> list[Task[Any]]:
    """A task for each configured command; none read (nor the core imported) where no file or
    override can hold one: `inv --list` stays as cheap as without."""
    try:
        mentioned = b"commands" in (root / "pyproject.toml").read_bytes()
    except OSError:
        mentioned = False
    if not mentioned and "commands" not in overrides:
        return []
    from ..commands import read_commands

    return [command_task(command) for command in read_commands(root, overrides, reserved)]


def command_task(command: StackCommand) -> Task[Any]:
    def body(project: Project) -> None:
        from ..commands import run_command

        run_command(project, command)

    body.__name__ = body.__qualname__ = command.name.replace("-", "_")
    body.__doc__ = f"{command.help or 'Run ' + command.describe() + '.'}\n\n{_usage(command)}"
    body.stack_command = command  # type: ignore[attr-defined] # aliases: its recipe passes words on
    made: Task[Any] = stack_task(name=command.name)(body)
    return made


def _usage(command: StackCommand) -> str:
    where = "runs " + command.describe()
    return (
        f"It {where}; words after -- are passed exactly: inv {command.name} -- ARGS (just {command.name} ARGS)."
        f" Set in {command.origin}."
    )
