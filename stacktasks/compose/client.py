"""The one place that builds and runs ``docker compose`` argv.

Works with Compose v2 (``docker compose``) and the legacy v1 ``docker-compose``: the few flags
v1 lacks (``up --wait``, ``config --format json``, ``logs --since``) are replaced or refused here,
not in the tasks.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ..engine.docker import container_exec_argv, inspect_argv
from ..errors import ChildFailed, StackError
from ..runner import Runner
from ..settings import Settings
from .files import compose_file_paths, raise_file_problems, raise_missing_files, stage_files
from .model import ComposeModel
from .version import ComposeVersion, compose_plugin_binary

if TYPE_CHECKING:
    from ..engine.context import Engine


@dataclass(frozen=True)
class Route:
    """How this machine reaches a service's port: an address, or None (through the engine)."""

    address: tuple[str, int] | None
    how: str  # for --dry and doctor: which way, and why
    published: tuple[str, int] | None = None  # the bind on the engine's machine (an ssh tunnel reaches it)


@dataclass
class Compose:
    """Compose argv for one project: its command, files, name, profiles and directory."""

    settings: Settings
    runner: Runner
    version: ComposeVersion
    files: list[str] = field(default_factory=list)
    project_name: str | None = None
    engine: Callable[[], Engine] | None = None  # where the engine is: how its published ports are reached
    _model: ComposeModel | None = None
    _model_read: Callable[[], subprocess.CompletedProcess[str]] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.files:
            self.files = stage_files(self.settings)
        if self.project_name is None:
            self.project_name = self.settings.project_name

    def base(self) -> list[str]:
        argv = list(self.version.command)
        for path in self.files:
            argv += ["-f", path]
        if self.project_name:
            argv += ["-p", self.project_name]
        for profile in self.settings.profiles:
            argv += ["--profile", profile]
        return argv

    def argv(self, *args: str) -> list[str]:
        return [*self.base(), *args]

    def run(self, *args: str, check: bool = True) -> int:
        try:
            return self.runner.run(self.argv(*args), check=check)
        except StackError as error:
            self._raise_config_problem(error)
            raise

    # -- the verbs tasks run as they are --------------------------------------------------------

    def ps(self, *, all_containers: bool = False) -> int:
        return self.run("ps", *(["--all"] if all_containers else []))

    def ps_json_argv(self, *, all_containers: bool = False) -> list[str]:
        return self.argv("ps", "--format", "json", *(["--all"] if all_containers else []))

    def restart(self, services: Sequence[str]) -> int:
        return self.run("restart", *services)

    def pull(self, services: Sequence[str], *, check: bool = True) -> int:
        return self.run("pull", *services, check=check)

    def build(self, services: Sequence[str] = (), *, no_cache: bool = False, pull: bool = False) -> int:
        return self.run("build", *(["--no-cache"] if no_cache else []), *(["--pull"] if pull else []), *services)

    def compose_file_paths(self) -> list[Path]:
        """The compose files this project reads: configured, else COMPOSE_FILE, else the default name."""
        return compose_file_paths(self.settings, self.runner.env)

    def raise_yaml_problem(self) -> None:
        from ..env.setup import raise_missing_env_files

        files = self.compose_file_paths()
        raise_missing_files(self.settings, files)
        raise_missing_env_files(self.settings, self.runner.env)
        raise_file_problems(self.settings, self.runner.env, files)

    # -- reading the stack ------------------------------------------------------------------

    def read_model_ahead(self) -> None:
        """Start reading the model now, to be collected by ``model``: its compose call then runs
        while the task does other work (psycopg loading) instead of before it."""
        if self._model is None and self._model_read is None:
            self._model_read = self.runner.capture_ahead(self._config_argv())

    def model(self) -> ComposeModel:
        """The resolved compose model, read once (it costs a compose call)."""
        if self._model is None:
            pending, self._model_read = self._model_read, None
            result = pending() if pending is not None else self.runner.capture(self._config_argv(), check=False)
            self._check_config(result)
            if self.version.is_v1:
                import yaml

                data = cast(dict[str, Any], yaml.safe_load(result.stdout) or {})
            else:
                data = json.loads(result.stdout)
            self._model = ComposeModel.from_config(data)
        return self._model

    def _config_argv(self) -> list[str]:
        if self.version.is_v1:
            return self.argv("config")
        # Every profile: build-only services (the frontend) are roles too.
        argv = [*self.base(), "--profile", "*", "config", "--format", "json"]
        plugin = compose_plugin_binary(self.version.command, self.runner.env)
        # `config` reads files only: the plugin itself answers it as `docker compose` would,
        # without the docker CLI's own start and its plugin-metadata call (~65 ms a task).
        return [plugin, *argv[2:]] if plugin else argv

    def _check_config(self, result: subprocess.CompletedProcess[str]) -> None:
        """Refuse a ``config`` that failed, with a hint; say once which variables compose left blank."""
        from .warnings import rejected_file_hint, unset_variables, unset_variables_note

        if result.returncode != 0:
            self.raise_yaml_problem()
            argv = list(result.args)
            if argv and argv[0] == compose_plugin_binary(self.version.command, self.runner.env):
                argv = [*self.version.command, *argv[1:]]  # what the user would type (see _config_argv)
            failure = self.runner.failure(argv, result.returncode, result.stderr)
            failure.hint = rejected_file_hint(self.settings, result.stderr, self.version.text)
            raise failure
        unset = unset_variables(result.stderr)
        if unset:
            self.runner.note_once(unset_variables_note(self.settings, unset))

    def _raise_config_problem(self, failed: StackError) -> None:
        """After a command failed: where the files are what compose refuses, say so with a hint
        (one ``config`` call, on the failure path only); else return."""
        self.raise_yaml_problem()
        if isinstance(failed, ChildFailed) and failed.returncode > 0:  # not killed: compose's own refusal
            self._check_config(self.runner.capture(self.argv("config", "--quiet"), check=False))

    def validate(self) -> str | None:
        """None when the compose files are valid, else compose's complaint (with file and line)."""
        result = self.runner.capture(self.argv("config", "--quiet"), check=False)
        if result.returncode == 0:
            return None
        try:
            self.raise_yaml_problem()
        except StackError as error:
            return error.message
        return self.runner.mask(result.stderr.strip() or f"exit {result.returncode}")

    def running_services(self) -> set[str]:
        result = self.runner.capture(self.ps_argv(running=True))
        return {line.strip() for line in result.stdout.splitlines() if line.strip()}

    def container_ids(self, services: Sequence[str] = (), *, stopped_too: bool = False) -> list[str]:
        """The services' containers: running ones, or every one with ``stopped_too``."""
        result = self.runner.capture(self.ps_argv(services, quiet=True, stopped_too=stopped_too))
        return [line.strip() for line in result.stdout.splitlines() if line.strip()]

    def label(self) -> str:
        """The project's name as compose knows it: what a protected stage makes you type."""
        return self.project_name or self.model().name or self.settings.directory.name

    def host_address(
        self,
        service: str,
        container_port: int,
        *,
        published_only: bool = False,
    ) -> tuple[str, int] | None:
        """Where this machine reaches ``service``'s ``container_port``; None when it cannot."""
        return self.route(service, container_port, published_only=published_only).address

    def route(self, service: str, container_port: int, *, published_only: bool = False) -> Route:
        """How this machine reaches ``service``'s ``container_port``, and why that way.

        The published port (``compose port``) as the engine's place allows (engine/context.py: loopback for
        a local engine, the engine's host for a tcp one, nothing for ssh); else, unless
        ``published_only``, the container's own address, which only a local Linux engine offers;
        else no address: the caller works through the engine (a relay, or inside the service).
        """
        from ..engine.context import Engine

        engine = self.engine() if self.engine else Engine("unix:///var/run/docker.sock", None, "default")
        result = self.runner.capture(self.port_argv(service, container_port), check=False)
        text = result.stdout.strip().splitlines()[0] if result.returncode == 0 and result.stdout.strip() else ""
        host, _, port = text.rpartition(":")
        where = f"{service}:{container_port}"
        if port.isdigit() and int(port) > 0:
            address = engine.reach(host.strip("[]"), int(port))
            if address is not None:
                return Route(address, f"{where} at {address[0]}:{address[1]}, the port the engine publishes")
            why = f"published on {host or 'the engine'}:{port} of the engine's machine, which this machine cannot reach"
            return Route(None, f"{where} through the engine: {why}", published=(host.strip("[]"), int(port)))
        if published_only or not engine.local:
            why = "no published port" + ("" if engine.local else " (and the engine is remote)")
            return Route(None, f"{where} through the engine: {why}")
        ids = self.container_ids([service])
        if not ids:
            return Route(None, f"{where}: not running")
        fmt = "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}"
        inspected = self.runner.capture(inspect_argv(fmt, ids[:1]), check=False)
        addresses = inspected.stdout.split()
        if not addresses:
            return Route(None, f"{where} through the engine: the container has no address")
        how = f"{where} at the container's address {addresses[0]} (no published port)"
        return Route((addresses[0], container_port), how)

    def container_exec_argv(self, container: str, command: Sequence[str]) -> list[str]:
        """``docker exec -i`` in one container by id: no compose model read per call (the relay
        starts one per connection)."""
        return container_exec_argv(container, command)

    # -- argv of each operation -------------------------------------------------------------

    def up_args(
        self,
        services: Sequence[str],
        *,
        build: bool = False,
        wait: bool = False,
        timeout: int | None = None,
    ) -> list[str]:
        args = ["up", "-d"]
        if build:
            args.append("--build")
        if wait and self.version.supports_wait:
            args.append("--wait")
            if timeout:
                args += ["--wait-timeout", str(timeout)]
        return [*args, *services]

    def logs_args(
        self,
        services: Sequence[str],
        *,
        follow: bool = False,
        tail: str | None = None,
        since: str | None = None,
        timestamps: bool = False,
    ) -> list[str]:
        args = ["logs"]
        if follow:
            args.append("-f")
        if tail is not None:
            args.append(f"--tail={tail}")
        if since is not None:
            if self.version.is_v1:
                raise StackError("docker-compose v1 has no `logs --since`", hint="use Compose v2")
            args.append(f"--since={since}")
        if timestamps:
            args.append("-t")
        return [*args, *services]

    def exec_args(
        self,
        service: str,
        command: Sequence[str],
        *,
        interactive: bool = False,
        env: Mapping[str, str] | None = None,
        pass_env: Sequence[str] = (),
        user: str | None = None,
    ) -> list[str]:
        """``exec`` (``-T`` unless ``interactive``); ``pass_env`` names variables whose values compose
        reads from our environment (secrets), never from argv. Compose v1 cannot do that: refused."""
        args = ["exec"]
        if not interactive:
            args.append("-T")
        if user:
            args += ["--user", user]
        return [*args, *self._env_flags(env, pass_env), service, *command]

    def exec_argv(self, service: str, command: Sequence[str], **options: Any) -> list[str]:
        """The whole ``docker compose … exec`` argv (see ``exec_args``)."""
        return self.argv(*self.exec_args(service, command, **options))

    def run_args(
        self,
        service: str,
        command: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        interactive: bool = False,
        pass_env: Sequence[str] = (),
        build: bool = False,
    ) -> list[str]:
        args = ["run", "--rm"]
        if not interactive:
            args.append("-T")
        if build and not self.version.is_v1:
            args.append("--build")  # a changed Dockerfile is picked up; cached otherwise
        return [*args, *self._env_flags(env, pass_env), service, *command]

    def watch_argv(self, services: Sequence[str], *, profiles: Sequence[str] = ()) -> list[str]:
        """``compose watch``: build, start, then sync or rebuild as the files' ``develop.watch`` says."""
        return [*self._base_with(profiles), "watch", *services]

    def _base_with(self, profiles: Sequence[str]) -> list[str]:
        """``base()`` with extra ``profiles`` switched on (those the settings do not already)."""
        base = self.base()
        for profile in profiles:
            if profile not in self.settings.profiles:
                base += ["--profile", profile]
        return base

    def run_argv(
        self, service: str, command: Sequence[str], *, profiles: Sequence[str] = (), **options: Any
    ) -> list[str]:
        """The whole ``docker compose … run --rm`` argv, with extra ``profiles`` switched on."""
        return [*self._base_with(profiles), *self.run_args(service, command, **options)]

    def port_argv(self, service: str, container_port: int) -> list[str]:
        return self.argv("port", service, str(container_port))

    def ps_argv(
        self, services: Sequence[str] = (), *, quiet: bool = False, running: bool = False, stopped_too: bool = False
    ) -> list[str]:
        args = ["ps"]
        if quiet:
            args.append("-q")
        if stopped_too and not self.version.is_v1:  # v1 lists stopped containers unasked
            args.append("-a")
        if running:
            args += ["--services", *(["--filter", "status=running"] if self.version.is_v1 else ["--status", "running"])]
        return self.argv(*args, *services)

    def _env_flags(self, env: Mapping[str, str] | None, pass_env: Sequence[str]) -> list[str]:
        flags: list[str] = []
        for key, value in (env or {}).items():
            flags += ["-e", f"{key}={value}"]
        if pass_env and self.version.is_v1:
            raise StackError(
                "docker-compose v1 cannot pass a secret to a container without putting it in argv",
                hint="use Compose v2 (docker compose)",
            )
        for key in pass_env:
            flags += ["-e", key]
        return flags

    def down_args(self, *, volumes: bool = False, rmi: str | None = None) -> list[str]:
        args = ["down", "--remove-orphans", *(["-v"] if volumes else [])]
        if rmi:
            args += ["--rmi", rmi]
        return args
