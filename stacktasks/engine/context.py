"""Where the container engine is: whatever `docker` itself uses, or the ``docker_context`` setting.

`DOCKER_HOST`, `DOCKER_CONTEXT` and the current `docker context` are read as the docker CLI reads
them (the docker SDK ignores contexts): from the CLI's own files where they are as expected, else by
asking the CLI. A remote engine changes how a
service's published port is reached: on a tcp engine through the engine's host, on an ssh engine
not at all (the work then runs inside the service); never through 127.0.0.1 or a bridge address
of this machine, which would be another server.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .docker import context_host_argv, context_show_argv, docker_config_dir

if TYPE_CHECKING:
    from ..runner import Runner


#: What the ``default`` context means where DOCKER_HOST is unset (docker's own default on Linux).
DEFAULT_ENDPOINT = "unix:///var/run/docker.sock"
#: The addresses a port bound to every address is published on (what `compose port` may print).
WILDCARD_BINDS = ("", "0.0.0.0", "::")  # noqa: S104 - naming them, not binding


@dataclass(frozen=True)
class Engine:
    endpoint: str  # unix:///var/run/docker.sock, tcp://vm:2375, ssh://me@vm
    context: str | None
    source: str  # which setting or variable chose it

    @property
    def local(self) -> bool:
        return self.endpoint.startswith(("unix://", "npipe://")) or not self.endpoint

    @property
    def scheme(self) -> str:
        return urlsplit(self.endpoint).scheme or "unix"

    @property
    def host(self) -> str | None:
        """The engine's host name, where its published ports are (tcp); None for a local engine."""
        return None if self.local else urlsplit(self.endpoint).hostname

    def describe(self) -> str:
        where = "local" if self.local else f"remote ({self.scheme})"
        context = f"context {self.context}, " if self.context else ""
        return f"{context}{self.endpoint} [{where}; from {self.source}]"

    def reach(self, published_host: str, port: int) -> tuple[str, int] | None:
        """Where this machine reaches a port the engine published on ``published_host``; None where
        it cannot (an ssh engine, or a port bound to the remote machine's own loopback)."""
        wildcard = published_host in WILDCARD_BINDS
        if self.local:
            return ("127.0.0.1" if wildcard else published_host), port
        if self.scheme == "tcp" and self.host and wildcard:
            return self.host, port
        return None


def child_environment(setting: str | None, env: Mapping[str, str]) -> dict[str, str]:
    """The environment every docker and compose child gets: the ``docker_context`` setting wins
    over an inherited DOCKER_HOST (which would otherwise win over any context)."""
    environment = dict(env)
    if setting:
        environment.pop("DOCKER_HOST", None)
        environment["DOCKER_CONTEXT"] = setting
    return environment


def current_engine(setting: str | None, runner: Runner, source: str = "the docker_context setting") -> Engine:
    env = runner.env
    if setting:
        return Engine(_context_endpoint(setting, runner), setting, source)
    if env.get("DOCKER_HOST"):
        return Engine(env["DOCKER_HOST"], None, "DOCKER_HOST")
    if env.get("DOCKER_CONTEXT"):
        name = env["DOCKER_CONTEXT"]
        return Engine(_context_endpoint(name, runner), name, "DOCKER_CONTEXT")
    current = _current_context_from_files(env)
    if current is None:
        current = runner.capture(context_show_argv(), check=False).stdout.strip() or "default"
    return Engine(_context_endpoint(current, runner), current, "the current docker context")


def _context_endpoint(name: str, runner: Runner) -> str:
    endpoint = _endpoint_from_files(name, runner.env)
    if endpoint is not None:
        return endpoint
    result = runner.capture(context_host_argv(name), check=False)
    if result.returncode != 0:
        from ..errors import StackError

        raise StackError(f"no docker context {name!r}", hint="docker context ls lists them")
    return result.stdout.strip()


# The docker CLI keeps its contexts in files (config.json's currentContext, one meta.json per
# context under contexts/meta/<sha256 of the name>/): read here, they cost no process. Anything
# unexpected there (a missing or unreadable file, another shape) and the CLI is asked instead.


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _current_context_from_files(env: Mapping[str, str]) -> str | None:
    directory = docker_config_dir(env)
    if directory is None:
        return None
    if not (directory / "config.json").exists():
        return "default"
    config = _read_json(directory / "config.json")
    name = config.get("currentContext", "default") if config is not None else None
    return name or "default" if isinstance(name, str) else None


def _endpoint_from_files(name: str, env: Mapping[str, str]) -> str | None:
    if name == "default":
        return DEFAULT_ENDPOINT
    directory = docker_config_dir(env)
    if directory is None:
        return None
    import hashlib

    meta = _read_json(directory / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest() / "meta.json")
    endpoints = meta.get("Endpoints") if meta is not None and meta.get("Name") == name else None
    docker = endpoints.get("docker") if isinstance(endpoints, dict) else None
    host = docker.get("Host") if isinstance(docker, dict) else None
    return host if isinstance(host, str) and host else None
