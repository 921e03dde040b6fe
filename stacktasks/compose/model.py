"""What ``docker compose config`` says of the stack: services, images, environment, ports, profiles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ComposeModel:
    """What ``docker compose config`` says of the stack, env interpolated."""

    name: str | None
    services: dict[str, dict[str, Any]]
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)  # top-level `secrets:`

    @classmethod
    def from_config(cls, data: dict[str, Any]) -> ComposeModel:
        services = data.get("services") or {}
        secrets = {k: v for k, v in (data.get("secrets") or {}).items() if isinstance(v, dict)}
        return cls(name=data.get("name"), services={k: v or {} for k, v in services.items()}, secrets=secrets)

    def bind_mounts(self) -> list[tuple[str, str, str]]:
        """(service, host source, container target) of every bind mount, in the model's order."""
        return [
            (service, str(volume.get("source") or ""), str(volume.get("target") or ""))
            for service, definition in self.services.items()
            for volume in definition.get("volumes") or []
            if isinstance(volume, dict) and volume.get("type") == "bind"
        ]

    def secret_source(self, service: str, path: str) -> str | None:
        """The file on this machine behind a compose secret the service sees at ``path``
        (``/run/secrets/NAME`` unless the service gives another target); None if there is none."""
        for entry in self.services.get(service, {}).get("secrets") or []:
            source = entry if isinstance(entry, str) else entry.get("source")
            target = None if isinstance(entry, str) else entry.get("target")
            if not isinstance(source, str):
                continue
            seen_at = (
                target if isinstance(target, str) and target.startswith("/") else f"/run/secrets/{target or source}"
            )
            declared = self.secrets.get(source, {})
            if seen_at == path and isinstance(declared.get("file"), str):
                return str(declared["file"])
        return None

    def image(self, service: str) -> str | None:
        image = self.services.get(service, {}).get("image")
        return image if isinstance(image, str) else None

    def has_build(self, service: str) -> bool:
        return bool(self.services.get(service, {}).get("build"))

    def environment(self, service: str) -> dict[str, str]:
        env = self.services.get(service, {}).get("environment") or {}
        if isinstance(env, list):  # v1 may keep the KEY=VALUE list form
            return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
        return {k: "" if v is None else str(v) for k, v in env.items()}

    def profiles(self, service: str) -> list[str]:
        return list(self.services.get(service, {}).get("profiles") or [])

    def has_healthcheck(self, service: str) -> bool:
        check = self.services.get(service, {}).get("healthcheck")
        return isinstance(check, dict) and bool(check) and not check.get("disable", False)

    def aliases(self, service: str) -> set[str]:
        """Other names the service answers to on its networks (``aliases:``, ``container_name``)."""
        definition = self.services.get(service, {})
        names = {str(definition["container_name"])} if definition.get("container_name") else set()
        networks = definition.get("networks") or {}
        if isinstance(networks, dict):
            for network in networks.values():
                if isinstance(network, dict):
                    names.update(str(alias) for alias in network.get("aliases") or [])
        return names

    def published_ports(self, service: str) -> list[tuple[str, int, int]]:
        """(host ip, published port, container port) of each published port."""
        ports = []
        for port in self.services.get(service, {}).get("ports") or []:
            if isinstance(port, dict) and port.get("published"):
                published = str(port["published"]).split("-")[0]
                if published.isdigit():
                    ports.append((port.get("host_ip") or "", int(published), int(port["target"])))
            elif isinstance(port, str):  # v1 short syntax: [ip:]published:target[/proto]
                parts = port.split("/")[0].split(":")
                if len(parts) >= 2 and parts[-2].isdigit():
                    ip = parts[0] if len(parts) == 3 else ""
                    ports.append((ip, int(parts[-2]), int(parts[-1])))
        return ports

    def with_dependencies(self, services: Sequence[str]) -> list[str]:
        """``services`` and everything they depend on, transitively (what `up` starts)."""
        found: list[str] = []
        pending = list(services)
        while pending:
            service = pending.pop()
            if service in found:
                continue
            found.append(service)
            depends = self.services.get(service, {}).get("depends_on") or []
            pending += list(depends)  # a list, or a mapping of name -> condition
        return found

    def default_services(self, active_profiles: Sequence[str]) -> list[str]:
        """Services `up` starts: those with no profile or an active one."""
        active = set(active_profiles)
        return [s for s in self.services if not self.profiles(s) or active & set(self.profiles(s))]
