"""One rule, for the database and for Redis alike: a URL in the env files, or the stack's service?

A sample env file often holds a URL for running the app from source (``REDIS_URL=redis://
127.0.0.1:6379``), while the stack's own service publishes no port there: that URL aims at some
other server on this machine. So the two are one target only when the URL reaches the service:
it names the service (or one of its aliases), or it names this machine on a port the service
publishes for the one it listens on. Then the service is used, and the server is proven to be it
by identity before anything changes (start time, ``run_id``). Where the URL names something else
while the stack has that role, nothing is guessed: the task stops and says both, and the user
chooses with ``db.target`` / ``redis.target`` (``service`` or ``url``). Where only one of the two
exists, it is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .engine.context import WILDCARD_BINDS
from .errors import USAGE, StackError

if TYPE_CHECKING:
    from .project import Project
    from .settings import TargetChoice

#: Host names that mean this machine (where the engine is local, the service's published ports).
THIS_MACHINE = frozenset({"localhost", "127.0.0.1", "::1", "[::1]", "host.docker.internal", *WILDCARD_BINDS})


@dataclass(frozen=True)
class Placement:
    use: Literal["service", "url"]
    why: str  # said in doctor and --dry


@dataclass(frozen=True)
class UrlAim:
    """What a URL from the env files aims at."""

    variable: str
    host: str
    port: int


def place(
    project: Project, role: str, *, service: str | None, url: UrlAim | None, service_port: int, choice: TargetChoice
) -> Placement:
    """The service or the URL, by the rule above; a conflict is an error that names both."""
    if choice == "url" or (choice == "auto" and service is None):
        if url is None:
            raise StackError(f"{role}.target is url, but no URL is set in the env files", code=USAGE)
        return Placement("url", f"{url.variable} ({role}.target = {choice})")
    if service is None:
        raise StackError(f"{role}.target is service, but the compose model has no {role} service", code=USAGE)
    if choice == "service" or url is None:
        return Placement("service", f"service {service}" + (f" ({role}.target = service)" if url else ""))
    reached = reaches(project, service, url, service_port)
    if reached:
        return Placement("service", reached)
    raise StackError(
        f"{url.variable} names {url.host}:{url.port}, which is not the stack's {role} service {service} "
        f"({published_words(project, service, service_port)}): stacktasks will not guess which one is meant",
        hint=f'set {role}.target = "service" to use the service, or {role}.target = "url" to use '
        f"{url.host}:{url.port} (in [tool.stacktasks] of pyproject.toml, or INVOKE_STACKTASKS_"
        f"{role.upper()}_TARGET)",
        code=USAGE,
    )


def reaches(project: Project, service: str, url: UrlAim, service_port: int) -> str | None:
    """How ``url`` reaches ``service``, in words, or None when it does not."""
    model = project.model()
    names = {service, *model.aliases(service)}
    if url.host in names:
        return f"service {service} ({url.variable} names it)"
    if url.host in THIS_MACHINE and project.engine.local:
        for _, published, target in model.published_ports(service):
            if target == service_port and published == url.port:
                return f"service {service} ({url.variable} reaches it on the port it publishes, {url.port})"
    return None


def published_words(project: Project, service: str, service_port: int) -> str:
    ports = [published for _, published, target in project.model().published_ports(service) if target == service_port]
    if not ports:
        return f"it publishes no port for {service_port}"
    return f"it publishes {service_port} on {', '.join(str(port) for port in ports)}"
