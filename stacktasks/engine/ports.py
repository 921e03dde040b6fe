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
    from ..project import Project


@dataclass(frozen=True)
class TakenPort:
    service: str
    port: int
    where: str  # "docker-compose.yml:27" where the port is written, or "" when not found
    variable: str | None  # the variable it comes from (`${DB_PORT:-5432}`), if any
    holder: tuple[str, str, str] | None = None  # (project, service, folder) of another compose stack holding it


def taken_ports_hint(project: Project, taken: Sequence[TakenPort]) -> str:
    """What frees every taken port when followed: a variable set in the env file, or the
    services' ``ports:`` replaced in an override file. A plain list there would be appended to
    the compose file's, not replace it: ``!override`` replaces it, listing every port of the
    service (the free ones as they are). Where another compose stack holds a port, stopping it
    comes first: it is what the user most likely wants."""
    is_free = _free_test(project)
    stop = stop_holders(project, taken) if any(item.holder for item in taken) else ""
    parts = []
    variables = [item for item in taken if item.variable]
    if variables:
        settings = ", ".join(f"{item.variable}={free_port(item.port, is_free)}" for item in variables)
        parts.append(f"set {settings} in {project.settings.main_env_file}")
    written = sorted({item.service for item in taken if not item.variable})
    if written:
        ports = {item.port for item in taken}
        services = ", ".join(
            f"{service}: {{ports: !override [{', '.join(_ports_with(project, service, ports, is_free))}]}}"
            for service in written
        )
        override, how = override_file(project)
        parts.append(f"put this in {override}{how}: services: {{{services}}}")
    moved = "; and ".join(parts)
    if stop and moved:
        return f"{stop}; or move this stack's ports: {moved}"
    return stop or moved or "stop what holds them, or change the published ports"


def listed(taken: Sequence[TakenPort]) -> str:
    """Every taken port, its service and where it is written, and who holds it where that is known."""
    shown = []
    for item in taken:
        held = f", held by service {item.holder[1]} of compose project {item.holder[0]}" if item.holder else ""
        shown.append(f"{item.port} ({item.service}{', ' + item.where if item.where else ''}{held})")
    return ", ".join(shown)


def stop_holders(project: Project, taken: Sequence[TakenPort]) -> str:
    """The commands that stop the other stacks' services holding the ports."""
    import shlex

    services: dict[tuple[str, str], list[str]] = {}
    for item in taken:
        if item.holder:
            services.setdefault((item.holder[0], item.holder[2]), []).append(item.holder[1])
    commands = []
    for (name, folder), names in services.items():
        stop = shlex.join([*project.compose().version.command, "-p", name, "stop", *sorted(set(names))])
        commands.append(f"`{stop}`" + (f" (its folder: {folder})" if folder else ""))
    return "stop the other stack's services: " + ", ".join(commands)


def with_holders(project: Project, taken: list[TakenPort]) -> list[TakenPort]:
    """``taken`` with the other compose project holding each port, where a container of one does."""
    from dataclasses import replace

    from ..errors import StackError
    from .projects import compose_projects, holders

    try:
        projects = compose_projects(project)
    except (StackError, OSError):
        return taken  # the ports are still taken: said without their holders
    this = project.compose().label()
    held = []
    for item in taken:
        found = holders(projects, item.port, but=this)
        held.append(replace(item, holder=(found[0][0].name, found[0][1], found[0][0].folder)) if found else item)
    return held


def _free_test(project: Project) -> Callable[[int], bool]:
    if project.engine.local:
        return lambda port: not port_is_taken("", port)
    return lambda port: True  # the engine's machine: its listeners were read once, a guess is enough


def free_port(port: int, is_free: Callable[[int], bool]) -> int:
    """A free port near ``port``: ``port + 10000`` where that is free, else the next free one above."""
    start = port + 10000 if port + 10000 <= 65535 else 20000
    return next((candidate for candidate in range(start, 65536) if is_free(candidate)), start)


def _ports_with(project: Project, service: str, taken: set[int], is_free: Callable[[int], bool]) -> list[str]:
    """Every port the service publishes, in compose's short syntax, the taken ones moved."""
    shown = []
    for port in project.model().services.get(service, {}).get("ports") or []:
        if not isinstance(port, dict):
            shown.append(f'"{port}"')
            continue
        published = str(port.get("published") or "")
        if published.isdigit() and int(published) in taken:
            published = str(free_port(int(published), is_free))
        host = f"{port['host_ip']}:" if port.get("host_ip") else ""
        protocol = f"/{port['protocol']}" if port.get("protocol", "tcp") != "tcp" else ""
        shown.append(f'"{host}{published}:{port["target"]}{protocol}"' if published else f'"{port["target"]}"')
    return shown


def override_file(project: Project) -> tuple[str, str]:
    """The override file compose reads for this project, and what else it takes to be read."""
    from ..compose.files import override_in

    settings = project.settings
    existing = override_in(settings.directory)
    name = existing or "compose.override.yaml"
    if settings.compose_files:
        return name, ", added to compose_files (which replace compose's own choice)"
    if project.env.values.get("COMPOSE_FILE"):
        return name, ", added to COMPOSE_FILE (which replaces compose's own choice)"
    return (
        name,
        " (merged into it, if it exists; compose reads it unasked)" if existing else " (compose reads it unasked)",
    )


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
    engine the engine's machine is looked at (machine.py); a StackError when it cannot be."""
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
    return (with_holders(project, taken) if taken else taken), free


def _engine_machine_test(project: Project) -> Callable[[str, int], bool]:
    from ..errors import StackError
    from .machine import holds, listening_ports, probe_image

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
    from ..errors import StackError

    try:
        taken, _ = taken_ports(project, services)
    except StackError:
        return  # the engine's machine could not be looked at: compose reports a conflict there
    if taken:
        hint = taken_ports_hint(project, taken)
        if project.dry:
            project.runner.note(f"host ports already taken: {listed(taken)}: the real run stops here ({hint})")
            return
        raise StackError(f"host ports already taken: {listed(taken)}; nothing was started", hint=hint)
