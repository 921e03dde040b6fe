"""The stack's lifecycle: start it (waiting where it can), rebuild it, and reset it behind a backup."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import StackError

if TYPE_CHECKING:
    from .db.backup import BackupResult
    from .project import Project


def wait_wanted(project: Project, services: Sequence[str]) -> bool:
    """Whether `up` should wait: only when something it starts has a healthcheck."""
    model = project.model()
    targets = model.with_dependencies(services) if services else model.default_services(project.settings.profiles)
    return any(model.has_healthcheck(service) for service in targets)


def bring_up(project: Project, services: Sequence[str], *, build: bool, wait: bool, timeout: int) -> None:
    from .engine.ports import require_free_ports

    compose = project.compose()
    require_free_ports(project, services)  # compose would leave containers half-made, and say less
    model = project.model()
    ensure_images(project, model.with_dependencies(services or model.default_services(project.settings.profiles)))
    wait = wait and wait_wanted(project, services)
    compose.run(*compose.up_args(services, build=build, wait=wait, timeout=timeout or None))
    if wait and not compose.version.supports_wait:
        from .compose.health import wait_healthy

        wait_healthy(compose, services, timeout or 120)


def rebuild(project: Project, services: Sequence[str], *, pull: bool, wait: bool) -> None:
    """build --no-cache, then up; a named service with no build section is pulled instead (and said so)."""
    compose = project.compose()
    model = project.model()
    image_only = [service for service in services if not model.has_build(service)]
    built = [service for service in services if model.has_build(service)]
    if image_only:
        project.runner.note(f"{', '.join(image_only)} has no build section: pulling its image instead")
        compose.pull(image_only)
    if built or not services:
        compose.build(built, no_cache=True, pull=pull)
    bring_up(project, services, build=False, wait=wait, timeout=0)


def run_in_service(
    project: Project,
    service: str,
    command: list[str],
    *,
    env: dict[str, str] | None = None,
    interactive: bool = False,
) -> int:
    """Run ``command`` in ``service``: exec when it is running, else a one-off container."""
    compose = project.compose()
    if service in compose.running_services():  # read under --dry too: the plan is the real one
        argv = compose.exec_argv(service, command, env=env, interactive=interactive)
    else:
        project.runner.note(f"{service} is not running: using a one-off container")
        ensure_image(project, service)
        argv = compose.run_argv(service, command, env=env, interactive=interactive)
    return project.runner.run(argv, check=False)


def ensure_image(project: Project, service: str) -> None:
    """A one-off container needs its image and its dependencies' (see ``ensure_images``)."""
    ensure_images(project, project.model().with_dependencies([service]))


def ensure_images(project: Project, services: Sequence[str]) -> None:
    """Every image ``services`` run from that is not on the engine is pulled first, so that an image
    that cannot be had is named as such, not reported as the failure of the command that needed it
    (failed tests, failed migrations, a bare `up` exit code). Built services are compose's to build."""
    model = project.model()
    images = {service: model.image(service) for service in services if not model.has_build(service)}
    wanted = {service: image for service, image in images.items() if image}
    if not wanted:
        return
    from .engine.docker import image_id_argv

    if project.runner.capture(image_id_argv(*sorted(set(wanted.values()))), check=False).returncode == 0:
        return  # all there: one look
    for service, image in sorted(wanted.items()):
        if project.runner.capture(image_id_argv(image), check=False).returncode == 0:
            continue
        code = project.compose().pull([service], check=False)
        if code:
            raise StackError(
                f"service {service} could not start: its image {image} is not on this engine and could not be pulled",
                hint="check the image name and your registry login (docker login), or build the image",
            )


def containers_record(project: Project, *, all_containers: bool) -> dict[str, list[dict[str, object]]]:
    """What `inv ps --json` prints: the stack's containers with state, health and published ports."""
    import json

    compose = project.compose()
    if compose.version.is_v1:
        from .errors import USAGE

        raise StackError("ps --json needs Compose v2 (docker-compose v1 has no --format json)", code=USAGE)
    text = project.runner.capture(compose.ps_json_argv(all_containers=all_containers)).stdout.strip()
    # Compose before 2.21 printed one array, later ones one object a line.
    rows = json.loads(text) if text.startswith("[") else [json.loads(line) for line in text.splitlines() if line]
    containers = []
    for row in rows:
        ports = [
            {"host_ip": p.get("URL", ""), "published": p.get("PublishedPort", 0), "target": p.get("TargetPort", 0),
             "protocol": p.get("Protocol", "tcp")}
            for p in row.get("Publishers") or [] if p.get("PublishedPort")
        ]  # fmt: skip
        containers.append(
            {
                "service": row.get("Service", ""),
                "name": row.get("Name", ""),
                "state": row.get("State", ""),
                "health": row.get("Health", ""),
                "status": row.get("Status", ""),
                "ports": ports,
            }
        )
    return {"containers": sorted(containers, key=lambda item: (str(item["service"]), str(item["name"])))}


def exec_in_service(project: Project, service: str, cmd: str) -> None:
    """A command in a running service; its exit code is ours."""
    import shlex

    from .errors import USAGE
    from .project import interactive_terminal

    command = shlex.split(cmd) + project.extra_args
    if not command:
        raise StackError("no command given", hint=f"inv exec {service} -- COMMAND [ARGS...]", code=USAGE)
    compose = project.compose()
    code = project.runner.run(compose.exec_argv(service, command, interactive=interactive_terminal()), check=False)
    if code:
        raise StackError(f"command in {service} exited with {code}", code=code)


def open_shell(project: Project, service: str | None) -> None:
    from .project import interactive_terminal

    target = project.service("app", service)
    # One exec: the choice of shell is made inside the container, where bash may be missing.
    pick_shell = ["sh", "-c", "if command -v bash >/dev/null 2>&1; then exec bash; else exec sh; fi"]
    argv = project.compose().exec_argv(target, pick_shell, interactive=interactive_terminal())
    project.runner.run(argv, check=False)


def run_tests(project: Project, args: str, service: str | None, *, colour: bool) -> None:
    """The test command in the app service (or a dedicated test stack); its exit code is ours."""
    import shlex

    settings = project.settings
    command = [*settings.app.prefix, *settings.app.test, *shlex.split(args), *project.extra_args]
    # Colours survive `exec -T` when we are on a terminal ourselves.
    env = {"PY_COLORS": "1", "FORCE_COLOR": "1"} if colour else {}
    target = service or settings.app.test_service or project.service("app")
    if settings.app.test_compose_files:
        compose = project.test_compose()
        try:
            code = project.runner.run(compose.run_argv(target, command, env=env), check=False)
        finally:
            compose.run(*compose.down_args(volumes=True), check=False)
    else:
        code = run_in_service(project, target, command, env=env)
    if code:
        raise StackError(f"tests failed (exit {code})", code=code)


@dataclass
class ResetResult:
    backup: BackupResult | None
    kept: list[str]
    removed: list[str]


#: Where data services keep their data: a bind mount there holds data, not source code.
DATA_TARGETS = (
    "/var/lib/postgresql",
    "/data",
    "/var/lib/mysql",
    "/var/lib/redis",
    "/bitnami",
    "/var/lib/questdb",
    "/var/lib/clickhouse",
    "/var/lib/rabbitmq",
    "/data/db",
    "/usr/share/elasticsearch/data",
)


def data_bind_mounts(project: Project) -> list[tuple[str, Path]]:
    """(service, host folder) of every bind mount that holds a data service's data: `down -v`
    removes volumes, never these, so they come back on the next `up`."""
    found: list[tuple[str, Path]] = []
    for service, source, target in project.model().bind_mounts():
        holds_data = any(target == t or target.startswith(t + "/") for t in DATA_TARGETS)
        if holds_data and source:
            found.append((service, Path(source)))
    return found


def reset_stack(
    project: Project, *, rmi: bool, backup: bool, bind_data: bool = False, before: Callable[[], None] | None = None
) -> ResetResult:
    """down -v (and --rmi local), after the confirmation, ``before`` (the before_reset hooks)
    and, unless told not to, a backup.

    Bind-mounted data folders are said to be kept; ``bind_data`` removes them too, behind the
    typed confirmation that lists them.
    """
    compose = project.compose()
    mounts = data_bind_mounts(project)
    shown = [f"{project.display_path(path)} ({service})" for service, path in mounts]
    what = "containers, networks and volumes" + (" and its built images" if rmi else "")
    if bind_data and mounts:
        project.confirm(
            f"destroy project {project.confirmation_name()}: {what}, and delete the folders {', '.join(shown)}",
            protected=True,
        )
    else:
        project.confirm(f"destroy project {project.confirmation_name()}: {what}")
    if before is not None:
        before()
    taken = backup_before_reset(project) if backup else None
    compose.run(*compose.down_args(volumes=True, rmi="local" if rmi else None))
    if not (bind_data and mounts):
        if mounts:
            project.runner.note(f"kept bind-mounted data: {', '.join(shown)} (reset --bind-data deletes it)")
        return ResetResult(taken, shown, [])
    for _, path in mounts:
        project.runner.note(f"delete {path}")
        if not project.dry and path.exists():
            shutil.rmtree(path)
    return ResetResult(taken, [], shown)


def backup_before_reset(project: Project) -> BackupResult | None:
    """An automatic backup of the db service; started for it if it is down (its volume holds data)."""
    from .db.backup import dump_database
    from .db.manifest import Reason
    from .safety import has_terminal

    service = project.role_service("db")
    if not service:
        return None
    compose = project.compose()
    if service not in compose.running_services():  # asked under --dry too: the plan follows the state
        if not compose.container_ids([service], stopped_too=True) and not has_volumes(project):
            project.runner.note(f"no {service} container or volume: nothing to back up")
            return None
        project.runner.note(f"{service} is not running: starting it to back it up first")
        bring_up(project, [service], build=False, wait=True, timeout=0)
    try:
        # dump_database waits for a database just started (one without a healthcheck may not accept
        # connections yet).
        return dump_database(project, reason=Reason.BEFORE_RESET, progress=has_terminal(sys.stderr))
    except (StackError, OSError) as error:
        from .errors import failure_of

        failure = failure_of(error)
        way_out = "pass --no-backup to destroy it without a backup"
        raise StackError(
            f"backup before reset failed, so nothing was destroyed: {failure.message}",
            hint=f"{failure.hint}; or {way_out}" if failure.hint else f"fix the database, or {way_out}",
        ) from None


def has_volumes(project: Project) -> bool:
    from .engine.docker import volume_ids_argv

    label = f"com.docker.compose.project={project.confirmation_name()}"
    result = project.runner.capture(volume_ids_argv(label), check=False)
    return bool(result.stdout.strip())
