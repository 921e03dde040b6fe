"""Every plain ``docker`` argv (not compose's: compose/client.py spells those), built here only.

The runner runs them; nothing else in the package writes ``["docker", …]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

DOCKER = "docker"


def docker_config_dir(env: Mapping[str, str]) -> Path | None:
    """Where the docker CLI keeps its config, contexts and plugins, as it finds it."""
    if env.get("DOCKER_CONFIG"):
        return Path(env["DOCKER_CONFIG"])
    return Path(env["HOME"]) / ".docker" if env.get("HOME") else None


def version_argv() -> list[str]:
    return [DOCKER, "--version"]


def info_argv(template: str) -> list[str]:
    return [DOCKER, "info", "--format", template]


def image_id_argv(*images: str) -> list[str]:
    """The images' IDs, one a line; exit 1 when any is not on the engine."""
    return [DOCKER, "image", "inspect", "--format", "{{.Id}}", *images]


def inspect_argv(template: str, ids: Sequence[str]) -> list[str]:
    return [DOCKER, "inspect", "--format", template, *ids]


def container_exec_argv(container: str, command: Sequence[str]) -> list[str]:
    """``docker exec -i`` in one container by id (no compose model read per call)."""
    return [DOCKER, "exec", "-i", container, *command]


def volume_ids_argv(label: str) -> list[str]:
    return [DOCKER, "volume", "ls", "-q", "--filter", f"label={label}"]


def context_show_argv() -> list[str]:
    return [DOCKER, "context", "show"]


def context_host_argv(name: str) -> list[str]:
    return [DOCKER, "context", "inspect", "--format", "{{.Endpoints.docker.Host}}", name]


def dial_stdio_argv() -> list[str]:
    """What the engine's machine runs to join an ssh session to its docker socket."""
    return [DOCKER, "system", "dial-stdio"]


def throwaway_argv(
    image: str,
    entrypoint: str,
    args: Sequence[str],
    *,
    host_network: bool = False,
    stdin: bool = False,
    terminal: bool = False,
    env_names: Sequence[str] = (),
    mounts: Mapping[str, str] | None = None,
) -> list[str]:
    """A container that goes when its command ends: ``entrypoint`` (the tool itself, since images
    differ in what their entrypoint does with other commands) on ``image``. Environment by name
    only: docker reads the values from our environment, never from argv. Mounts are read-only."""
    argv = [DOCKER, "run", "--rm"]
    if host_network:
        argv += ["--network", "host"]
    if stdin:
        argv.append("-i")
    if terminal:
        argv.append("-t")
    for name in env_names:
        argv += ["-e", name]
    for host_path, inside in (mounts or {}).items():
        argv += ["-v", f"{host_path}:{inside}:ro"]
    return [*argv, "--entrypoint", entrypoint, image, *args]


#: One compose container a line: project, service, state, folder, compose files, published ports.
COMPOSE_CONTAINER_FORMAT = "\t".join(
    [
        '{{.Label "com.docker.compose.project"}}',
        '{{.Label "com.docker.compose.service"}}',
        "{{.State}}",
        '{{.Label "com.docker.compose.project.working_dir"}}',
        '{{.Label "com.docker.compose.project.config_files"}}',
        "{{.Ports}}",
    ]
)


def compose_containers_argv() -> list[str]:
    """Every container of every compose project on the engine, stopped ones too."""
    return [DOCKER, "ps", "--all", "--no-trunc", "--filter", "label=com.docker.compose.project",
            "--format", COMPOSE_CONTAINER_FORMAT]  # fmt: skip
