"""The engine's own machine, looked at through the engine: its listening ports and free disk.

On a remote engine this machine's sockets and disks are the wrong answer. A throwaway container of
an image the stack already has on the engine (no pull) looks instead: with the host's network it
reads the listening sockets from ``/proc/net/tcp`` and ``tcp6``; with the engine's data root mounted
read-only it runs ``df`` there. An image without ``cat`` or ``df`` (distroless) gives no answer,
and the caller says "not checked".
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from .context import WILDCARD_BINDS
from .docker import image_id_argv, throwaway_argv

if TYPE_CHECKING:
    from ..project import Project

LISTEN = "0A"  # the TCP state /proc/net/tcp gives a listening socket


def probe_image(project: Project) -> str | None:
    """An image of the stack that the engine already holds, data services' first."""
    model = project.model()
    roles = [project.role_service("db"), project.role_service("redis")]
    services = [name for name in roles if name] + sorted(model.services)
    for service in services:
        image = model.services.get(service, {}).get("image")
        if image and project.runner.capture(image_id_argv(image), check=False).returncode == 0:
            return str(image)
    return None


def listening_ports(project: Project, image: str) -> set[tuple[str, int]] | None:
    """(address, port) of every TCP listener on the engine's machine; None when not readable."""
    argv = throwaway_argv(image, "cat", ["/proc/net/tcp", "/proc/net/tcp6"], host_network=True)
    result = project.runner.capture(argv, check=False, timeout=60)
    if result.returncode != 0:
        return None
    return parse_proc_net_tcp(result.stdout)


def parse_proc_net_tcp(text: str) -> set[tuple[str, int]]:
    listeners = set()
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[3] != LISTEN or ":" not in fields[1]:
            continue
        address, _, port = fields[1].partition(":")
        listeners.add((_address(address), int(port, 16)))
    return listeners


def _address(hexadecimal: str) -> str:
    """/proc/net/tcp's address: 32-bit words in the host's (little-endian) byte order."""
    raw = bytes.fromhex(hexadecimal)
    swapped = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    address = ipaddress.ip_address(swapped)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return str(address.ipv4_mapped)
    return str(address)


def holds(listeners: set[tuple[str, int]], host_ip: str, port: int) -> bool:
    """Whether a listener already holds what publishing ``host_ip:port`` needs."""
    return any(
        listened == port and (host_ip in WILDCARD_BINDS or address in WILDCARD_BINDS or address == host_ip)
        for address, listened in listeners
    )


def free_disk(project: Project, image: str, root: str) -> int | None:
    """Free bytes where the engine keeps its data (its own machine's disk); None when not readable."""
    argv = throwaway_argv(image, "df", ["-Pk", "/engine-data"], mounts={root: "/engine-data"})
    result = project.runner.capture(argv, check=False, timeout=60)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or len(lines) < 2:
        return None
    fields = lines[-1].split()
    return int(fields[3]) * 1024 if len(fields) >= 4 and fields[3].isdigit() else None
