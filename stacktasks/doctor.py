"""Checks behind `inv doctor`: tools, engine, compose files, env files, roles and settings."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from .errors import StackError
from .project import Project
from .settings import schema


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    hint: str = ""


def check_docker_cli(project: Project) -> Check:
    path = shutil.which("docker", path=project.runner.env.get("PATH"))
    if not path:
        return Check("docker CLI", False, "not on PATH", "install Docker (docker.io or Docker Desktop)")
    result = project.runner.capture(["docker", "--version"], check=False)
    return Check("docker CLI", result.returncode == 0, result.stdout.strip() or path)


def check_compose(project: Project) -> Check:
    try:
        compose = project.compose()
    except StackError as error:
        return Check("compose", False, error.message, error.hint or "")
    legacy = " (legacy v1: no --wait, no logs --since)" if compose.version.is_v1 else ""
    return Check("compose", True, f"{' '.join(compose.version.command)} {compose.version.text}{legacy}")


def check_engine(project: Project) -> Check:
    """Ask the engine itself through the docker SDK, as DOCKER_HOST / the context point."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError:  # pragma: no cover - a runtime dependency
        return Check("engine", False, "the docker SDK is not installed", "pip install docker")
    try:
        client = docker.from_env(timeout=5, environment=project.runner.env)
        client.ping()
        version = client.version()
        info = client.info()
    except DockerException as error:
        return Check(
            "engine", False, f"not reachable: {project.runner.mask(str(error))}",
            "start the engine (systemctl start docker, or dockerd &) or check DOCKER_HOST",
        )
    return Check(
        "engine", True,
        f"Docker {version.get('Version', '?')} ({info.get('Driver', '?')} storage, "
        f"{info.get('ContainersRunning', 0)} containers running)",
    )


def check_compose_files(project: Project) -> Check:
    try:
        compose = project.compose()
    except StackError:
        return Check("compose files", False, "no compose to read them with")
    problem = compose.validate()
    files = ", ".join(compose.files) or "compose's default (compose.yaml / docker-compose.yml)"
    if problem:
        return Check("compose files", False, f"{files}: {problem}")
    services = ", ".join(project.model().services)
    return Check("compose files", True, f"{files} in {project.settings.directory}: {services}")


def check_env_files(project: Project) -> list[Check]:
    checks = []
    for env_file in project.env.files:
        if env_file.found:
            detail = f"{env_file.path}: {len(env_file.keys)} keys"
            checks.append(Check("env file", True, detail))
        else:
            checks.append(Check("env file", True, f"{env_file.path}: absent (optional)"))
    if not checks:
        checks.append(Check("env file", True, "none configured"))
    return checks


def check_roles(project: Project) -> list[Check]:
    checks = []
    for role in ("app", "db", "redis", "front"):
        key = f"{role}.service"
        service = project.settings.get(key)
        source = project.settings.sources.get(key, "")
        if service:
            checks.append(Check(f"{role} role", True, f"{service}  ({source})"))
        else:
            checks.append(Check(f"{role} role", True, "none"))
    return checks


def run_checks(project: Project) -> list[Check]:
    checks = [check_docker_cli(project), check_compose(project), check_engine(project)]
    checks.append(check_compose_files(project))
    checks += check_env_files(project)
    checks += check_roles(project)
    return checks


def settings_table(project: Project) -> list[tuple[str, str, str]]:
    """(key, value, where it came from) for every setting, secrets masked."""
    rows = []
    for key, spec in schema().items():
        value = project.settings.get(key)
        if spec.argv:
            shown = " ".join(value) if value else "(auto)" if key == "compose_command" else "(none)"
        else:
            shown = repr(value)
        rows.append((key, project.runner.mask(shown), project.settings.sources.get(key, "")))
    return rows
