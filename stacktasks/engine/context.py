"""Where the container engine is: whatever `docker` itself uses, or the ``docker_context`` setting.

`DOCKER_HOST`, `DOCKER_CONTEXT` and the current `docker context` are read as the docker CLI reads
them (the docker SDK ignores contexts, so the CLI is asked). A remote engine changes how a
service's published port is reached: on a tcp engine through the engine's host, on an ssh engine
not at all (the work then runs inside the service); never through 127.0.0.1 or a bridge address
of this machine, which would be another server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .docker import context_host_argv, context_show_argv

if TYPE_CHECKING:
    from ..runner import Runner


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
    shown = runner.capture(context_show_argv(), check=False)
    name = shown.stdout.strip() or "default"
    return Engine(_context_endpoint(name, runner), name, "the current docker context")


def _context_endpoint(name: str, runner: Runner) -> str:
    result = runner.capture(context_host_argv(name), check=False)
    if result.returncode != 0:
        from ..errors import StackError

        raise StackError(f"no docker context {name!r}", hint="docker context ls lists them")
    return result.stdout.strip()
