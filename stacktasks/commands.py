"""The stack's own commands, from ``[tool.stacktasks.commands.NAME]``: each becomes a task.

An entry runs ``command`` in a service (default: the app, with ``app.prefix``), by ``exec -T``
where the service runs, else in a one-off ``run --rm`` container, as the built-in tasks do; or
it gives ``compose`` words for the compose CLI itself (``top``, ``events``). The words after
``--`` are appended exactly as typed.

They are read when the collection is built, because Invoke parses the command line against the
tasks that exist then: from pyproject.toml and ``collection(commands=...)``. Invoke's own config
files are read after that, so a commands table there is refused (config.py) rather than ignored.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import StackError
from .settings import COMMANDS_TABLE
from .values import SettingError

if TYPE_CHECKING:
    from .project import Project

#: What an entry may hold.
KEYS = ("command", "compose", "service", "help", "tty")
#: A task name as typed on the command line (Invoke shows `_` as `-`).
NAME = re.compile(r"[a-z][a-z0-9_-]*\Z")


@dataclass(frozen=True)
class StackCommand:
    name: str
    command: tuple[str, ...]  # run in ``service``; empty when ``compose`` is given
    compose: tuple[str, ...]  # a compose subcommand and its arguments
    service: str | None  # None: the app service
    help: str
    tty: bool  # wants a terminal (given one when there is one)
    origin: str  # where it is written, for errors

    def describe(self) -> str:
        if self.compose:
            return f"`compose {shlex.join(self.compose)}`"
        return f"`{shlex.join(self.command)}` in {self.service or 'the app service'}"


def read_commands(
    root: Path, overrides: Mapping[str, Any] | None = None, reserved: Collection[str] = ()
) -> list[StackCommand]:
    """Every configured command: pyproject.toml's, then ``collection(commands=...)``'s (which win
    by name). ``reserved`` are the names the collection already has. A SettingError names the
    key and the file of the first entry that cannot be a task."""
    from .settings import read_pyproject

    tables: dict[str, tuple[Any, str]] = {}
    path = root / "pyproject.toml"
    found = read_pyproject(root)  # the task layer reads none where the file cannot hold the table
    if found is not None:
        table, _ = found
        for name, entry in _table(table.get(COMMANDS_TABLE), f"{path} [tool.stacktasks.{COMMANDS_TABLE}]"):
            tables[name] = (entry, f"{path} [tool.stacktasks.{COMMANDS_TABLE}.{name}]")
    for name, entry in _table((overrides or {}).get(COMMANDS_TABLE), "tasks.py collection(commands=...)"):
        tables[name] = (entry, f"tasks.py collection(commands={{{name!r}: ...}})")
    taken = {_typed(name) for name in reserved}
    commands: list[StackCommand] = []
    for name, (entry, origin) in tables.items():
        command = parse_command(name, entry, origin)
        if _typed(name) in taken:
            raise SettingError(
                f"{origin}: command '{name}' has the name of a task stacktasks already has",
                hint=f"rename it (inv --list shows the names in use), e.g. [tool.stacktasks.commands.my-{name}]",
            )
        taken.add(_typed(name))
        commands.append(command)
    return commands


def _typed(name: str) -> str:
    return name.replace("_", "-")


def _table(value: Any, origin: str) -> list[tuple[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, Mapping):
        raise SettingError(
            f"{origin}: 'commands' must be a table of commands, got {value!r}",
            hint='for example [tool.stacktasks.commands.history] command = "alembic history"',
        )
    return list(value.items())


def parse_command(name: str, entry: Any, origin: str) -> StackCommand:
    """One entry as a StackCommand, or a SettingError naming the key and where it is written."""
    if not isinstance(name, str) or not NAME.match(name):
        raise SettingError(
            f"{origin}: {name!r} cannot be a task name",
            hint="a command's name is lower-case letters, digits, - and _, starting with a letter",
        )
    if not isinstance(entry, Mapping):
        raise SettingError(f"{origin}: must be a table (command, service, help, tty), got {entry!r}")
    for key in entry:
        if key not in KEYS:
            import difflib

            close = difflib.get_close_matches(str(key), KEYS, n=1)
            raise SettingError(
                f"{origin}: unknown key '{key}'",
                hint=f"did you mean '{close[0]}'?" if close else f"a command has {', '.join(KEYS)}",
            )
    command, compose = (_words(entry, key, origin) for key in ("command", "compose"))
    if bool(command) == bool(compose):
        raise SettingError(
            f"{origin}: give either 'command' (run in a service) or 'compose' (a compose subcommand), once",
            hint='e.g. command = "celery -A app inspect active", service = "worker"; or compose = "top"',
        )
    service, help_text = (_text(entry, key, origin) for key in ("service", "help"))
    if compose and service:
        raise SettingError(f"{origin}: 'service' is for a 'command'; put the service into the compose words")
    tty = entry.get("tty", False)
    if not isinstance(tty, bool):
        raise SettingError(f"{origin}: 'tty' must be true or false, got {tty!r}")
    return StackCommand(name, command, compose, service, help_text or "", tty, origin)


def _words(entry: Mapping[str, Any], key: str, origin: str) -> tuple[str, ...]:
    value = entry.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        try:
            words = shlex.split(value)
        except ValueError as error:
            raise SettingError(f"{origin}: '{key}' cannot be split into words ({error})") from None
    elif isinstance(value, list) and all(isinstance(word, str) for word in value):
        words = list(value)
    else:
        raise SettingError(f"{origin}: '{key}' must be a string or a list of strings, got {value!r}")
    if not words:
        raise SettingError(f"{origin}: '{key}' is empty")
    return tuple(words)


def _text(entry: Mapping[str, Any], key: str, origin: str) -> str | None:
    value = entry.get(key)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise SettingError(f"{origin}: '{key}' must be a non-empty string, got {value!r}")
    return value


def run_command(project: Project, command: StackCommand) -> None:
    """Run a configured command with the words after ``--``; its exit code is ours."""
    words = project.extra_args
    if command.compose:
        code = project.compose().run(*command.compose, *words, check=False)
    else:
        code = run_in_app_or_service(project, [*command.command, *words], command.service, tty=command.tty)
    if code:
        raise StackError(f"{command.name} ({command.describe()}) exited with {code}", code=code)


def run_in_app_or_service(project: Project, words: list[str], service: str | None, *, tty: bool = False) -> int:
    """``words`` in ``service`` (default: the app service, behind ``app.prefix``)."""
    from .lifecycle import run_in_service
    from .project import interactive_terminal

    target = project.service("app", service)
    prefix = project.settings.app.prefix if target == project.role_service("app") else []
    interactive = tty and interactive_terminal()
    if tty and not interactive:
        project.runner.note("no terminal here: running it without one (its input is this process's)")
    return run_in_service(project, target, [*prefix, *words], interactive=interactive)
