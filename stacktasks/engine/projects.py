"""Every compose project on the engine, from its containers' labels: one `docker ps` for all.

Used by `stacktasks ls` and to name the project that holds a port `up` or `doctor` needs.
Compose's own `ls` would say less (no services, no ports) and Compose v1 has none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..project import Project

#: One published binding in `docker ps`'s Ports column: 127.0.0.1:8000->80/tcp, [::]:5432->5432/tcp.
BINDING = re.compile(
    r"(?P<ip>\[[^\]]*\]|[^,\s]*?):(?P<published>\d+(?:-\d+)?)->(?P<target>\d+(?:-\d+)?)/(?P<protocol>\w+)"
)


@dataclass(frozen=True)
class PublishedPort:
    service: str
    host_ip: str
    published: int  # a range docker shows (8000-8001->8000-8001) is one binding per port
    target: int
    protocol: str

    def holds(self, port: int) -> bool:
        return self.published == port

    def shown(self) -> str:
        host = f"[{self.host_ip}]" if ":" in self.host_ip else self.host_ip or "*"
        return f"{host}:{self.published}->{self.target}/{self.protocol}"


@dataclass
class ComposeProject:
    name: str
    folder: str
    config_files: list[str]
    states: dict[str, list[str]] = field(default_factory=dict)  # service -> its containers' states
    ports: list[PublishedPort] = field(default_factory=list)
    stacktasks: bool | None = None  # None: the folder is not on this machine

    def state(self) -> str:
        """As `docker compose ls` says it: running(2), exited(1)."""
        counts: dict[str, int] = {}
        for state in (state for states in self.states.values() for state in states):
            counts[state] = counts.get(state, 0) + 1
        return ", ".join(f"{state}({number})" for state, number in sorted(counts.items()))

    def record(self, this_project: str | None) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": self.state(),
            "folder": self.folder,
            "config_files": self.config_files,
            "services": sorted(self.states),
            "ports": [vars(port) for port in self.ports],
            "stacktasks": self.stacktasks,
            "this_project": self.name == this_project,
        }


def parse_containers(lines: Iterable[str]) -> list[ComposeProject]:
    """Projects from COMPOSE_CONTAINER_FORMAT lines, by name."""
    projects: dict[str, ComposeProject] = {}
    for line in lines:
        parts = line.rstrip("\n").split("\t")
        if len(parts) < 6 or not parts[0]:
            continue
        name, service, state, folder, files, ports = parts[:6]
        found = projects.setdefault(name, ComposeProject(name, folder, [f for f in files.split(",") if f]))
        found.states.setdefault(service, []).append(state)
        for match in BINDING.finditer(ports):
            ip = match["ip"].strip("[]")
            for published, target in port_pairs(match["published"], match["target"]):
                binding = PublishedPort(service, ip, published, target, match["protocol"])
                if binding not in found.ports:
                    found.ports.append(binding)
    return sorted(projects.values(), key=lambda item: item.name)


#: How much of a folder's pyproject.toml or tasks.py is read: the folder comes from a label any
#: container may set, so what is there is read as a regular file only, and only this much of it.
READ_AT_MOST = 1 << 20


def port_pairs(published: str, target: str) -> list[tuple[int, int]]:
    """(published, target) of each port of a binding: 8000-8001->9000-9001 is two."""
    low, _, high = published.partition("-")
    target_low, _, _ = target.partition("-")
    first, last, to = int(low), int(high or low), int(target_low)
    return [(port, to + port - first if "-" in target else to) for port in range(first, min(last, first + 1023) + 1)]


def set_up_with_stacktasks(folder: Path) -> bool:
    """Whether a project's folder uses stacktasks: a [tool.stacktasks] table or a tasks.py of ours."""
    import os
    import stat

    for name, needle in (("pyproject.toml", b"[tool.stacktasks"), ("tasks.py", b"stacktasks")):
        try:
            with open(folder / name, "rb", buffering=0) as file:
                if stat.S_ISREG(os.fstat(file.fileno()).st_mode) and needle in file.read(READ_AT_MOST):
                    return True
        except OSError:
            continue
    return False


def printable(text: str) -> str:
    """A label's text for a terminal: control characters (escape sequences) shown as '?'."""
    return "".join(char if char.isprintable() else "?" for char in text)


def compose_projects(project: Project) -> list[ComposeProject]:
    """Every compose project on the engine the project's settings point at."""
    from .docker import compose_containers_argv

    found = parse_containers(project.runner.capture(compose_containers_argv()).stdout.splitlines())
    local = project.engine.local
    for item in found:
        folder = Path(item.folder) if item.folder else None
        item.stacktasks = set_up_with_stacktasks(folder) if local and folder and folder.is_dir() else None
    return found


def holders(projects: Iterable[ComposeProject], port: int, but: str | None) -> list[tuple[ComposeProject, str]]:
    """(project, service) of every other project's container publishing ``port``."""
    return [
        (item, binding.service)
        for item in projects
        if item.name != but
        for binding in item.ports
        if binding.holds(port)
    ]
