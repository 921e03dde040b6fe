"""Where a Redis keeps its password, read where it is.

In order: ``redis.password_file`` (a file on this machine); the URL's own; the service's
``--requirepass`` (a literal, ``$NAME`` from its environment, or ``$(cat FILE)`` / ``$(< FILE)``,
the file read as the shell inside would: a compose secret's file here, else inside the running
service); ``REDIS_PASSWORD`` or ``REDIS_PASSWORD_FILE`` in its environment. Every place looked is
kept for the hint a refused login gives.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..env.secrets import file_convention, read_host_file, read_service_file

if TYPE_CHECKING:
    from ..project import Project

VARIABLE = re.compile(r"^\$(?:\{(\w+)\}|(\w+))$")
READ_FILE = re.compile(r"^(?:\$\(\s*(?:cat\s+(?:--\s+)?|<\s*)([^()\s;|&]+)\s*\)|`\s*cat\s+(?:--\s+)?([^`\s;|&]+)\s*`)$")


@dataclass(frozen=True)
class FoundPassword:
    value: str | None = field(repr=False)
    where: str  # where it came from, or every place looked when nothing was found


def configured_password(project: Project) -> FoundPassword | None:
    path = project.settings.redis.password_file
    if not path:
        return None
    return FoundPassword(read_host_file(project, path, "redis.password_file"), f"redis.password_file ({path})")


def service_password(project: Project, service: str) -> FoundPassword:
    """The password a Redis service sets for itself."""
    environment = project.model().environment(service)
    for value in requirepass_values(project, service, environment):
        found = expand(project, service, environment, value.replace("$$", "$"))
        if found is not None:
            return found
    from_environment = file_convention(project, service, environment, "REDIS_PASSWORD")
    if from_environment:
        return FoundPassword(from_environment, f"REDIS_PASSWORD(_FILE) in service {service}'s environment")
    return FoundPassword(
        None,
        f"the URL, --requirepass in service {service}'s command or REDIS_ARGS, "
        f"REDIS_PASSWORD and REDIS_PASSWORD_FILE in its environment",
    )


def requirepass_values(project: Project, service: str, environment: dict[str, str]) -> list[str]:
    definition = project.model().services.get(service, {})
    command = definition.get("command") or []
    words = shlex.split(command) if isinstance(command, str) else [str(word) for word in command]
    words += [environment.get("REDIS_ARGS", "")]
    flat = [part for word in words for part in (shlex.split(word) if " " in word else [word])]  # sh -c "…"
    values = []
    for index, word in enumerate(flat):
        if word == "--requirepass" and index + 1 < len(flat):
            values.append(flat[index + 1])
        elif word.startswith("--requirepass="):
            values.append(word.split("=", 1)[1])
    return [value for value in values if value]


def expand(project: Project, service: str, environment: dict[str, str], value: str) -> FoundPassword | None:
    """``--requirepass``'s argument as the service's shell gives it, where that can be known."""
    where = f"--requirepass in service {service}'s command"
    if variable := VARIABLE.match(value):
        name = variable.group(1) or variable.group(2)
        found = file_convention(project, service, environment, name)
        return FoundPassword(found, f"{where} (${name})") if found else None
    if reads := READ_FILE.match(value):
        path = reads.group(1) or reads.group(2)
        if named := VARIABLE.match(path):
            path = environment.get(named.group(1) or named.group(2), "")
        if not path.startswith("/"):
            return None
        found = read_service_file(project, service, path, where)
        return FoundPassword(found, f"{where} (the file {path})")
    if "$" in value or "`" in value:
        return None  # computed by a shell in a way not read here: redis.password_file says
    return FoundPassword(value, where)


def refused_login_hint(password_given: bool, where: str) -> str:
    said = f"the password came from {where}" if password_given else f"no password was found in {where}"
    return f"{said}; set redis.password_file to a file on this machine that holds the right one, or put it in the URL"


def refused_login(reason: str) -> bool:
    return any(word in reason for word in ("NOAUTH", "WRONGPASS", "invalid password", "Authentication required"))
