"""One project as the tasks see it: settings, loaded env, a runner and the compose client.

Built from an Invoke context; everything costly (the compose version, the compose model) is
read on first use, so a task that needs none of it pays nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .compose import Compose, ComposeModel, detect_compose
from .envfiles import LoadedEnv, load_env_files
from .errors import StackError
from .keys import COLLECTION_KEY
from .runner import Runner
from .settings import Settings, flatten, resolve

COMPOSE_FILE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")

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
        layers.append((section, f"{label} {path}" if path else label, False))
    return layers


def settings_from_context(c: Any, flags: Mapping[str, Any] | None = None) -> Settings:
    """The settings alone (no env files loaded): for tasks that make or inspect the env files."""
    config = c.config
    return resolve(
        project_root(config),
        collection_overrides=config.get(COLLECTION_KEY) or None,
        invoke_layers=invoke_layers(config),
        flags=flags,
    )


@dataclass
class Project:
    settings: Settings
    env: LoadedEnv
    runner: Runner
    _compose: Compose | None = field(default=None, repr=False)
    _roles_read: bool = False

    @classmethod
    def from_context(cls, c: Any, flags: Mapping[str, Any] | None = None) -> Project:
        config = c.config
        settings = settings_from_context(c, flags)
        return cls.from_settings(settings, dry=bool(config.run.dry), echo=bool(config.run.echo))

    @classmethod
    def from_settings(cls, settings: Settings, *, dry: bool = False, echo: bool = False) -> Project:
        env = load_env_files(settings.env_file_paths())
        runner = Runner(
            env=env.child_environment(),
            cwd=settings.directory,
            mask=env.masker,
            dry=dry,
            echo=echo or settings.echo,
        )
        if not settings.directory.is_dir():
            raise StackError(
                f"project directory {settings.directory} does not exist",
                hint="check stacktasks.project_directory",
            )
        return cls(settings=settings, env=env, runner=runner)

    def compose(self) -> Compose:
        if self._compose is None:
            version = detect_compose(self.settings.compose_command, self.runner)
            self._compose = Compose(self.settings, self.runner, version)
        return self._compose

    def model(self) -> ComposeModel:
        """The compose model; on first read it also fills the roles nobody configured."""
        model = self.compose().model()
        if not self._roles_read:
            from .roles import apply_compose_model

            apply_compose_model(self.settings, model)
            self._roles_read = True
        return model

    def service(self, role: str, given: str | None = None) -> str:
        """The service playing ``role`` (app, db, redis, front), or a clear error."""
        if given:
            return given
        service = self.model_role(role)
        if not service:
            raise StackError(
                f"no {role} service found in the compose model",
                hint=f"set {role}.service under [tool.stacktasks] in pyproject.toml",
            )
        return service

    def has_compose_files(self) -> bool:
        """Whether a compose model exists to be read (configured files, or compose's default names)."""
        if self.settings.compose_files:
            return True
        return any((self.settings.directory / name).is_file() for name in COMPOSE_FILE_NAMES)

    def model_role(self, role: str) -> str | None:
        """The service playing ``role`` after the compose model was read, or None."""
        self.model()
        service = self.settings.get(f"{role}.service")
        return str(service) if service else None

    def run_in_service(
        self, service: str, command: list[str], *, env: dict[str, str] | None = None,
        interactive: bool = False,
    ) -> int:
        """Run ``command`` in ``service``: exec when it is running, else a one-off container."""
        compose = self.compose()
        if self.runner.dry or service in compose.running_services():
            argv = compose.exec_args(service, command, env=env, interactive=interactive)
        else:
            self.runner.note(f"{service} is not running: using a one-off container")
            argv = compose.run_args(service, command, env=env, interactive=interactive)
        return compose.run(*argv, check=False)

    def test_compose(self) -> Compose:
        """A compose client for the dedicated test stack (app.test_compose_files)."""
        base = self.compose()
        name = base.project_name or self.model().name or self.settings.directory.name
        return Compose(
            self.settings, self.runner, base.version,
            files=list(self.settings.app.test_compose_files), project_name=f"{name}-test",
        )


def interactive_terminal() -> bool:
    """True when a person is at both ends: only then is a pty worth allocating."""
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (ValueError, AttributeError):
        return False
