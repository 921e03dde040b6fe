"""Host ports a stack publishes that something else already holds, and where each is set.

`up` checks before compose starts anything: compose would leave containers in Created and say
"address already in use" without saying which file to change.
"""

from __future__ import annotations

import errno
import re
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .project import Project


@dataclass(frozen=True)
class TakenPort:
    service: str
    port: int
    where: str  # "docker-compose.yml:27" where the port is written, or "" when not found
    variable: str | None  # the variable it comes from (`${DB_PORT:-5432}`), if any

    def advice(self) -> str:
        if self.variable:
            return f"set {self.variable} to a free port in your .env"
        if self.where:
            return f"it is written in {self.where}: change it there, or override it in compose.override.yaml"
        return "stop what holds it, or change the published port"


def port_is_taken(host_ip: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host_ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As a real listener does (docker-proxy included): connections in TIME-WAIT do not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host_ip or "", port))
        except OSError as error:
            return error.errno == errno.EADDRINUSE
    return False


def taken_ports(project: Project, services: Sequence[str] = ()) -> tuple[list[TakenPort], int]:
    """Ports the services about to start (default: what `up` starts) would publish that are taken,
    and how many were free. Services already running hold their own ports: skipped. On a remote
    engine the engine's machine is looked at (engine_host.py); a StackError when it cannot be."""
    compose = project.compose()
    model = project.model()
    running = compose.running_services()
    targets = model.with_dependencies(services) if services else model.default_services(project.settings.profiles)
    wanted = [
        (service, port) for service in targets if service not in running for port in model.published_ports(service)
    ]
    is_taken = port_is_taken if project.engine.local or not wanted else _engine_machine_test(project)
    taken, free = [], 0
    for service, (host_ip, published, _) in wanted:
        if is_taken(host_ip, published):
            where, variable = locate_port(compose.compose_file_paths(), published, project.env.values)
            taken.append(TakenPort(service, published, where, variable))
        else:
            free += 1
    return taken, free


def _engine_machine_test(project: Project) -> Callable[[str, int], bool]:
    from .engine_host import holds, listening_ports, probe_image
    from .errors import StackError

    image = probe_image(project)
    listeners = listening_ports(project, image) if image else None
    if listeners is None:
        raise StackError("the engine's machine could not be looked at (no image of the stack with `cat` is on it yet)")
    return lambda host_ip, port: holds(listeners, host_ip, port)


def locate_port(files: Sequence[Path], port: int, values: Mapping[str, str] | None = None) -> tuple[str, str | None]:
    """Where a published port is written: ``file:line``, and the variable it comes from, if any:
    one whose default is the port, or whose value (``values``: the env files') is."""
    literal = re.compile(rf"(?<![\d$]){port}:\d+")
    variable = re.compile(rf"\$\{{(\w+):?-{port}\}}:\d+")
    any_variable = re.compile(r"\$\{(\w+)(?::?-[^}]*)?\}:\d+")
    for path in files:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        for number, line in enumerate(lines, start=1):
            named = variable.search(line)
            if named:
                return f"{path.name}:{number}", named.group(1)
            for found in any_variable.finditer(line):
                if (values or {}).get(found.group(1), "").strip() == str(port):
                    return f"{path.name}:{number}", found.group(1)
            if literal.search(line):
                return f"{path.name}:{number}", None
    return "", None


def require_free_ports(project: Project, services: Sequence[str] = ()) -> None:
    """Refuse to start with a taken port; under dry-run, say that the real run would stop here."""
    from .errors import StackError

    try:
        taken, _ = taken_ports(project, services)
    except StackError:
        return  # the engine's machine could not be looked at: compose reports a conflict there
    if taken:
        first = taken[0]
        listed = ", ".join(f"{item.port} ({item.service})" for item in taken)
        if project.dry:
            project.runner.note(f"host ports already taken: {listed}: the real run stops here ({first.advice()})")
            return
        raise StackError(f"host ports already taken: {listed}; nothing was started", hint=first.advice())
