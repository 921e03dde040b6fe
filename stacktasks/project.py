"""One project as a task sees it, built once per invocation and passed to the core explicitly.

Frozen settings, the invocation's choices (dry-run, ``--yes``, the words after ``--``), and what
is read on first use only: the env files, the runner, the compose client, the compose model and
the roles resolved from it. A task that needs none of them pays nothing for them. The core never
sees Invoke: ``stacktasks.tasks`` builds this from Invoke's context.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import StackError
from .settings import Settings

if TYPE_CHECKING:
    from .compose.client import Compose
    from .compose.model import ComposeModel
    from .engine.context import Engine
    from .engine.relay import Relay
    from .engine.ssh import SshTunnel
    from .env.files import LoadedEnv
    from .roles import RoleName, Roles
    from .runner import Runner

from .compose.files import COMPOSE_FILE_NAMES


class Project:
    """Settings, env, runner, compose client, roles, dry-run and the confirmation policy.

    Every part read on first use is a declared field, empty until then: ``env``, ``runner``,
    ``engine``, the compose client, ``roles``; what the invocation opened (relays, the ssh
    connection) is held here too and ended by ``close``, which the task boundary calls.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        dry: bool = False,
        echo: bool = False,
        assume_yes: bool = False,
        extra_args: Sequence[str] = (),
        runner: Runner | None = None,
    ) -> None:
        self.settings = settings
        self.dry = dry
        self.echo = echo or settings.echo
        self.assume_yes = assume_yes
        self.extra_args = list(extra_args)
        self.hooks_enabled = True  # off with --no-hooks, and while a hook runs (hooks.py)
        self._given_runner = runner  # a recording runner in tests; otherwise built from the env
        self._env: LoadedEnv | None = None
        self._runner: Runner | None = None
        self._engine: Engine | None = None
        self._compose: Compose | None = None
        self._roles: Roles | None = None
        self._relays: dict[tuple[str, int], Relay] = {}
        self._tunnel: SshTunnel | None = None

    @classmethod
    def from_settings(cls, settings: Settings, *, dry: bool = False, echo: bool = False) -> Project:
        project = cls(settings, dry=dry, echo=echo)
        project.runner  # noqa: B018 - load the env files and check the folder now, as a task does
        return project

    def refresh(self) -> None:
        """Read the env files again (after env.init wrote them): every part built from them is
        dropped, and what was opened with them is closed; the settings stay."""
        self.close()
        self._env = self._runner = self._engine = self._compose = self._roles = None

    # -- read on first use ----------------------------------------------------------------------

    @property
    def env(self) -> LoadedEnv:
        if self._env is None:
            from .env.files import load_env_files

            self._env = load_env_files(self.settings.env_file_paths())
        return self._env

    @property
    def runner(self) -> Runner:
        if self._runner is None:
            self._runner = self._given_runner or self._new_runner()
            # The engine's environment is settled before the first docker child, whichever it is.
            self._runner.before_docker = self._connect_engine
        return self._runner

    def _new_runner(self) -> Runner:
        from .engine.context import child_environment
        from .runner import Runner

        if not self.settings.directory.is_dir():
            raise StackError(
                f"project directory {self.settings.directory} does not exist",
                hint="check stacktasks.project_directory",
            )
        return Runner(
            env=child_environment(self.settings.engine_context(), self.env.child_environment()),
            cwd=self.settings.directory,
            mask=self.env.masker,
            dry=self.dry,
            echo=self.echo,
        )

    def compose(self) -> Compose:
        if self._compose is None:
            from .compose.client import Compose
            from .compose.version import detect_compose

            version = detect_compose(self.settings.compose_command, self.runner)
            self._compose = Compose(self.settings, self.runner, version, engine=lambda: self.engine)
        return self._compose

    @property
    def engine(self) -> Engine:
        """The container engine every docker and compose call goes to (see engine/context.py)."""
        if self._engine is None:
            from .engine.context import current_engine

            settings = self.settings
            source = (
                "the docker_context setting" if settings.docker_context else f"stage_contexts (stage {settings.stage})"
            )
            self._engine = current_engine(settings.engine_context(), self.runner, source)
        return self._engine

    def _connect_engine(self) -> None:
        """An ssh engine gets one ssh connection for the whole task (engine/ssh.py), which every
        docker and compose child then uses: docker alone opens one, handshake and all, per call."""
        engine = self.engine
        if engine.scheme != "ssh":
            return
        from .engine.ssh import SshTunnel

        tunnel = SshTunnel(self.runner, engine.endpoint)
        try:
            docker_host = tunnel.open()
        except StackError as error:
            self.runner.note(f"{error.message}; each docker call connects on its own")
            return
        self._tunnel = tunnel
        self.runner.env["DOCKER_HOST"] = docker_host
        self.runner.env.pop("DOCKER_CONTEXT", None)
        if tunnel.users_connection:
            self.runner.note(f"engine {engine.endpoint}: the connection your ssh config keeps open ({tunnel.control})")
        else:
            self.runner.note(f"engine {engine.endpoint}: one ssh connection for this task")

    def model(self) -> ComposeModel:
        """The compose model (one compose call, read once)."""
        return self.compose().model()

    @property
    def roles(self) -> Roles:
        """Which service plays each role; the compose model is read only where a compose file exists."""
        if self._roles is None:
            from .roles import configured_roles, resolve_roles  # a passthrough task never needs them

            self._roles = (
                resolve_roles(self.settings, self.model())
                if self.has_compose_files()
                else configured_roles(self.settings)
            )
        return self._roles

    def mask(self, text: str) -> str:
        """Secrets hidden, with whatever is known of them so far (error paths must not load more)."""
        return self._env.masker(text) if self._env is not None else text

    # -- questions every task asks --------------------------------------------------------------

    def has_compose_files(self) -> bool:
        """Whether a compose model exists to be read: configured files, COMPOSE_FILE, or a default name."""
        if self.settings.compose_files:
            return True
        if "COMPOSE_FILE" in self.env.values or os.environ.get("COMPOSE_FILE"):
            return True
        return any((self.settings.directory / name).is_file() for name in COMPOSE_FILE_NAMES)

    def role_service(self, role: RoleName) -> str | None:
        return self.roles.get(role).service

    def service(self, role: RoleName, given: str | None = None) -> str:
        """The service playing ``role`` (app, db, redis, front), or a clear error."""
        if given:
            return given
        service = self.role_service(role)
        if not service:
            raise StackError(
                f"no {role} service found in the compose model",
                hint=f"set {role}.service under [tool.stacktasks] in pyproject.toml",
            )
        return service

    def confirmation_name(self) -> str:
        """The one name a protected stage makes you type, for every destructive task: compose's
        project name, else the folder's."""
        if not self.has_compose_files():
            return self.settings.project_name or self.settings.directory.name
        return self.compose().label()

    def confirm(self, action: str, *, protected: bool | None = None) -> None:
        """The confirmation policy: ``--yes``, a terminal, the typed name on a protected stage."""
        from .safety import confirm

        is_protected = self.settings.is_protected if protected is None else protected
        confirm(
            action,
            yes=self.assume_yes,
            protected=is_protected,
            expected=self.confirmation_name() if is_protected else "",
            dry=self.dry,
        )

    def test_compose(self) -> Compose:
        """A compose client for the dedicated test stack (app.test_compose_files)."""
        from .compose.client import Compose

        base = self.compose()
        name = base.project_name or self.model().name or self.settings.directory.name
        return Compose(
            self.settings,
            self.runner,
            base.version,
            engine=lambda: self.engine,
            files=list(self.settings.app.test_compose_files),
            project_name=f"{name}-test",
        )

    def relay(self, service: str, port: int, socket_name: str) -> Path | None:
        """A private socket here joined to ``port`` inside ``service`` through the engine (engine/relay.py),
        opened once per invocation and closed with it (``close``); None while it is not running."""
        from .engine.relay import service_relay

        if (service, port) not in self._relays:
            relay = service_relay(self.runner, self.compose(), service, port, socket_name)
            if relay is None:
                return None
            self._relays[service, port] = relay
        return self._relays[service, port].directory

    def ssh_forward(self, socket_name: str, published: tuple[str, int]) -> Path | None:
        """On an ssh engine, a socket here forwarded over the task's one ssh connection to a port
        the engine's machine publishes (cheaper per connection than a relay); else None."""
        return self._tunnel.forward(socket_name, published) if self._tunnel is not None else None

    def close(self) -> None:
        """End what this invocation opened (relays); the task boundary calls it on every exit."""
        relays, self._relays = self._relays, {}
        for relay in relays.values():
            relay.close()
        tunnel, self._tunnel = self._tunnel, None
        if tunnel is not None:
            tunnel.close()

    @property
    def root(self) -> Path:
        return self.settings.root

    def display_path(self, path: Path) -> str:
        """A path as its stack's files write it: relative to the project directory when inside it."""
        try:
            return "./" + str(path.relative_to(self.settings.directory))
        except ValueError:
            return str(path)


def interactive_terminal() -> bool:
    """True when a person is at both ends: only then is a pty worth allocating."""
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (ValueError, AttributeError):
        return False


__all__ = ["Project", "interactive_terminal"]
