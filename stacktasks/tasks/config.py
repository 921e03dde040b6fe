"""From Invoke's context to a ``Project``: the only place that reads Invoke's config levels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..keys import COLLECTION_KEY
from ..project import Project
from ..settings import Settings, flatten, resolve

#: Invoke's config levels that may hold a ``stacktasks`` section, lowest first.
INVOKE_LEVELS = (
    ("_collection", "collection config (tasks.py)"),
    ("_system", "system config"),
    ("_user", "user config"),
    ("_project", "project config"),
    ("_env", "environment"),
    ("_runtime", "runtime config"),
    ("_overrides", "config overrides"),
)


def project_root(config: Any) -> Path:
    """The folder of the tasks.py Invoke loaded, else the working directory."""
    prefix = getattr(config, "_project_prefix", None)
    return Path(prefix).resolve() if prefix else Path.cwd()


def invoke_layers(config: Any) -> list[tuple[Mapping[str, Any], str, bool]]:
    """The ``stacktasks`` section of each Invoke config level, with a label saying where."""
    layers: list[tuple[Mapping[str, Any], str, bool]] = []
    for attribute, label in INVOKE_LEVELS:
        data = getattr(config, attribute, None) or {}
        section = data.get("stacktasks")
        if not section:
            continue
        if attribute == "_env":
            # One origin per variable, so doctor can name the exact one.
            for key, value in flatten(section, label).items():
                if value is not None:
                    name = "INVOKE_STACKTASKS_" + key.upper().replace(".", "_")
                    layers.append(({key: value}, f"environment variable {name}", True))
            continue
        path = getattr(config, f"{attribute}_path", None)
        if "commands" in section:
            from ..values import SettingError

            raise SettingError(
                f"{label} {path or ''}: 'commands' is read before Invoke's config files, which cannot add tasks",
                hint="put [tool.stacktasks.commands.NAME] in pyproject.toml, or collection(commands=...) in tasks.py",
            )
        layers.append((section, f"{label} {path}" if path else label, False))
    return layers


def settings_from_config(config: Any, flags: Mapping[str, Any] | None = None) -> Settings:
    return resolve(
        project_root(config),
        collection_overrides=config.get(COLLECTION_KEY) or None,
        invoke_layers=invoke_layers(config),
        flags=flags,
    )


def project_from_context(c: Any, *, assume_yes: bool = False, extra_args: Sequence[str] = ()) -> Project:
    config = c.config
    return Project(
        settings_from_config(config),
        dry=bool(config.run.dry),
        echo=bool(config.run.echo),
        assume_yes=assume_yes,
        extra_args=extra_args,
    )
