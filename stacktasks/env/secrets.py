"""A secret a service reads from a file: the compose secret's own file on this machine, else the
file read inside the running service. The value is masked everywhere; only its path is shown."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import StackError

if TYPE_CHECKING:
    from ..project import Project


def file_convention(project: Project, service: str, environment: dict[str, str], name: str) -> str | None:
    """``name`` from the service's environment, or from the file its ``name_FILE`` names (the
    official images' convention)."""
    if environment.get(name):
        return environment[name]
    path = environment.get(f"{name}_FILE")
    if not path:
        return None
    return read_service_file(project, service, path, f"{name}_FILE")


#: Under --dry, what a file in a stopped service holds: unknown, but there, so the plan passes it
#: (``-e PGPASSWORD``) as the real run will. Never sent anywhere: a dry run runs nothing.
UNREAD = "<read at run time>"


def read_service_file(project: Project, service: str, path: str, what: str) -> str:
    """What the file at ``path`` in ``service`` holds, as a shell's ``$(< file)`` reads it;
    ``UNREAD`` under --dry where the service is not running (said)."""
    source = project.model().secret_source(service, path)
    if source:
        try:
            value = Path(source).read_text(encoding="utf-8")
        except OSError as error:
            raise StackError(f"{what}: the compose secret's file {source} cannot be read: {error.strerror}") from None
    else:
        read = project.runner.capture(project.compose().exec_argv(service, ["cat", "--", path]), check=False)
        if read.returncode != 0:
            if project.runner.dry:
                project.runner.note(f"{what}: {path} is read in service {service}, which is not running")
                return UNREAD
            raise StackError(
                f"{what} names {path} in service {service}, which could not be read there",
                hint=f"is the service running? inv up -s {service}",
            )
        value = read.stdout
    return remember(project, value.rstrip("\n"))


def read_host_file(project: Project, path: str, what: str) -> str:
    """A secret in a file on this machine (relative to the project directory)."""
    full = project.settings.directory / path
    try:
        value = full.read_text(encoding="utf-8")
    except OSError as error:
        raise StackError(f"{what}: {full} cannot be read: {error.strerror}", code=2) from None
    return remember(project, value.rstrip("\n"))


def remember(project: Project, value: str) -> str:
    project.env.masker.add(value, always=True)  # a file's content is nobody's to print, a user name included
    return value
