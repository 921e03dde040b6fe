"""Checks behind `inv doctor`: tools, engine, compose files, env files, roles and settings."""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .engine.docker import info_argv, version_argv
from .errors import StackError
from .roles import ROLE_NAMES
from .settings import schema

if TYPE_CHECKING:
    from .placement import Placement
    from .project import Project


@dataclass
class Check:
    """One finding. ``id`` is stable (scripts and onboarding select by it, never by the text);
    a ``blocking`` check that fails means nothing after it can work (onboarding stops)."""

    id: str
    name: str
    ok: bool
    detail: str
    hint: str = ""
    blocking: bool = False


def check_docker_cli(project: Project) -> Check:
    path = shutil.which("docker", path=project.runner.env.get("PATH"))
    if not path:
        return Check("docker-cli", "docker CLI", False, "not on PATH", "install Docker (docker.io or Docker Desktop)")
    result = project.runner.capture(version_argv(), check=False)
    return Check("docker-cli", "docker CLI", result.returncode == 0, result.stdout.strip() or path)


def check_compose(project: Project) -> Check:
    try:
        compose = project.compose()
    except StackError as error:
        return Check("compose", "compose", False, error.message, error.hint or "")
    legacy = " (legacy v1: no --wait, no logs --since)" if compose.version.is_v1 else ""
    return Check("compose", "compose", True, f"{' '.join(compose.version.command)} {compose.version.text}{legacy}")


def check_engine(project: Project) -> Check:
    """Ask the engine itself, through the docker CLI (which follows contexts; the SDK does not)."""
    try:
        engine = project.engine
    except StackError as error:
        return Check("engine", "engine", False, error.message, error.hint or "")
    fmt = "{{.ServerVersion}}|{{.Driver}}|{{.ContainersRunning}}|{{.ID}}"
    result = project.runner.capture(info_argv(fmt), check=False, timeout=30)
    parts = result.stdout.strip().split("|")
    if result.returncode != 0 or len(parts) != 4 or not parts[0]:
        reason = project.runner.mask(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "no answer")
        return Check(
            "engine",
            "engine",
            False,
            f"not reachable at {engine.describe()}: {reason}",
            "start the engine (systemctl start docker, or dockerd &), or check DOCKER_HOST / docker_context",
        )
    version, driver, running, _ = parts
    return Check(
        "engine",
        "engine",
        True,
        f"Docker {version} ({driver} storage, {running} containers running) at {engine.describe()}",
    )


def check_compose_files(project: Project) -> Check:
    try:
        compose = project.compose()
    except StackError:
        return Check("compose-files", "compose files", False, "no compose to read them with")
    problem = compose.validate()
    shown = [project.display_path(path).removeprefix("./") for path in compose.compose_file_paths()]
    files = ", ".join(shown) or "none found"
    if problem:
        return Check("compose-files", "compose files", False, f"{files}: {problem}")
    services = ", ".join(project.model().services)
    return Check("compose-files", "compose files", True, f"{files} in {project.settings.directory}: {services}")


def check_env_files(project: Project) -> list[Check]:
    """Each configured env file, and each one the compose files declare (compose fails without it)."""
    from .env.files import parse_env_file
    from .env.setup import env_file_pairs

    loaded = {env_file.path: env_file for env_file in project.env.files}
    checks = []
    for path, example, required in env_file_pairs(project.settings):
        env_file = loaded.get(path)
        if path.is_file():
            keys = len(env_file.keys) if env_file else len(parse_env_file(path))
            checks.append(Check("env-file", "env file", True, f"{path}: {keys} keys"))
        elif required:
            hint = f"inv env.init creates it from {example.name}" if example else f"create {path.name}"
            checks.append(Check("env-file", "env file", False, f"{path}: missing (the stack needs it)", hint))
        else:
            checks.append(Check("env-file", "env file", True, f"{path}: absent (optional)"))
    if not checks:
        checks.append(Check("env-file", "env file", True, "none configured"))
    return checks


def check_roles(project: Project) -> list[Check]:
    try:
        project.roles  # noqa: B018 - reads the compose model, which may be broken
    except StackError as error:
        return [Check("roles", "roles", False, f"not read: {error.message}", error.hint or "")]
    checks = []
    for name in ROLE_NAMES:
        role = project.roles.get(name)
        detail = f"{role.service}  ({role.reason})" if role.service else "none"
        checks.append(Check(f"role-{name}", f"{name} role", True, detail))
    return checks


def check_ports(project: Project) -> Check:
    """Host ports the stack publishes that something else already holds (up would fail on them)."""
    from .engine.ports import listed, taken_ports, taken_ports_hint

    try:
        taken, free = taken_ports(project)
    except StackError as error:
        return Check("host-ports", "host ports", not project.engine.local, f"not checked: {error.message}")
    if taken:
        return Check(
            "host-ports", "host ports", False, f"already taken: {listed(taken)}", taken_ports_hint(project, taken)
        )
    return Check("host-ports", "host ports", True, f"{free} ports free" if free else "nothing to publish, or all ours")


#: Below this, image builds and database volumes start failing in confusing ways.
LOW_DISK = 2_000_000_000


def check_engine_disk(project: Project) -> Check:
    result = project.runner.capture(info_argv("{{.DockerRootDir}}"), check=False)
    root = result.stdout.strip()
    if result.returncode != 0 or not root:
        return Check("engine-disk", "engine disk", False, "not checked: the engine did not answer")
    available = _free_bytes(project, root)
    if available is None:
        why = "no image of the stack with `df` is on the engine yet"
        return Check("engine-disk", "engine disk", True, f"{root} is on the engine's machine: not checked ({why})")
    machine = "" if project.engine.local else " on the engine's machine"
    free = f"{available / 1e9:.1f} GB free in {root}{machine}"
    if available < LOW_DISK:
        return Check("engine-disk", "engine disk", False, free, "docker system prune, or free disk space")
    return Check("engine-disk", "engine disk", True, free)


def _free_bytes(project: Project, root: str) -> int | None:
    if project.engine.local:
        try:
            return shutil.disk_usage(root).free
        except OSError:  # a VM's path (Docker Desktop): looked at through the engine instead
            pass
    if not project.has_compose_files():
        return None
    from .engine.machine import free_disk, probe_image

    image = probe_image(project)
    return free_disk(project, image, root) if image else None


def check_pg_client(project: Project) -> Check:
    """Which pg_dump db.backup would use, against the server's major version."""
    from .db.admin import connect, server_major
    from .db.target import resolve_target
    from .db.tools import host_tool_major

    try:
        target = resolve_target(project)
    except StackError as error:
        with contextlib.suppress(StackError):  # the compose model may be what failed
            if not project.role_service("db") and not project.env.values.get(project.settings.db.url_env):
                return Check("pg-client", "pg client", True, "no database configured")
        return Check("pg-client", "pg client", True, f"not checked: {error.message}", error.hint or "")
    if target.kind == "service":
        return Check(
            "pg-client", "pg client", True, f"runs inside service {target.service}: always the server's version"
        )
    host = host_tool_major(project.runner, "pg_dump")
    try:
        conn = connect(target)
    except StackError as error:
        return Check(
            "pg-client", "pg client", True, f"host pg_dump {host or 'missing'}; server not reachable ({error.message})"
        )
    try:
        server = server_major(conn)
    finally:
        conn.close()
    if host is None or host < server:
        image = project.settings.db.client_image.format(major=server)
        return Check(
            "pg-client",
            "pg client",
            True,
            f"host pg_dump {host or 'missing'}, server {server}: db.backup will use the {image} image",
        )
    return Check("pg-client", "pg client", True, f"host pg_dump {host}, server {server}")


def check_routes(project: Project) -> list[Check]:
    """How this machine reaches each running data service, the way the db and redis tasks do
    (the same service and port): which way was chosen, and why."""
    from .db.target import postgres_port
    from .redis.target import named_redis

    compose, running = project.compose(), project.compose().running_services()
    checks = target_checks(project)
    if any(not check.ok for check in checks):
        return checks
    db = project.role_service("db")
    if db and db in running:
        route = compose.route(db, postgres_port(project.model().environment(db)))
        checks.append(Check("route-db", "route to db", True, route.how))
    try:
        redis = named_redis(project)
    except StackError:
        return checks
    if redis.host in running:
        route = compose.route(redis.host, redis.port, published_only=True)
        checks.append(Check("route-redis", "route to redis", True, route.how))
    return checks


def target_checks(project: Project) -> list[Check]:
    """Which of the env files' URL and the stack's service the db and redis tasks use, by the one
    rule (placement.py), said where there is a URL to choose against; a conflict fails here."""
    from .db.target import choose_database
    from .redis.target import choose_redis

    def db_placement() -> Placement | None:
        _, url_target, placement = choose_database(project)
        return placement if url_target is not None or (placement and placement.use == "url") else None

    has_redis = bool(project.role_service("redis") or project.env.values.get(project.settings.redis.url_env))
    checks = []
    for role, choose in (("db", db_placement), ("redis", lambda: choose_redis(project)[1])):
        if role == "redis" and not has_redis:
            continue  # a stack without Redis: nothing to choose between
        try:
            placement = choose()
        except StackError as error:
            checks.append(Check(f"target-{role}", f"{role} target", False, error.message, error.hint or ""))
            continue
        if placement is not None:
            checks.append(Check(f"target-{role}", f"{role} target", True, placement.why))
    return checks


def check_bind_mounts(project: Project) -> Check | None:
    """On a remote engine a bind mount names a folder on the engine's machine, not this one."""
    if project.engine.local:
        return None
    mounts = sorted({f"{service}: {source}" for service, source, _ in project.model().bind_mounts()})
    if not mounts:
        return None
    return Check(
        "bind-mounts",
        "bind mounts",
        True,
        f"the engine is remote: {', '.join(mounts)} are folders on the engine's machine, not this one's",
        "sync the sources there (or use volumes); edits here do not reach those containers",
    )


def check_ssh_connection(project: Project) -> Check | None:
    """On an ssh engine: whether the user's ssh config keeps a connection open that tasks reuse
    (no handshake per task), and how to set one up where it does not."""
    try:
        engine = project.engine
    except StackError:
        return None
    if engine.scheme != "ssh":
        return None
    from .engine.ssh import CONTROL_PERSIST_ADVICE, kept_connection, ssh_options

    host, options = ssh_options(engine.endpoint)
    kept = kept_connection(project.runner, host, options)
    if kept is not None:
        return Check("ssh", "ssh connection", True, f"your ssh config keeps one open ({kept}): tasks reuse it")
    advice = CONTROL_PERSIST_ADVICE.format(host=host)
    detail = f"each task opens its own (one handshake a task); to keep one open across tasks, set {advice}"
    return Check("ssh", "ssh connection", True, detail + " in ~/.ssh/config")


BLOCKING = frozenset({"docker-cli", "compose", "engine", "compose-files", "engine-disk", "host-ports"})


def run_checks(project: Project) -> list[Check]:
    """Every check, in order; a check that needs another's success runs only after it passed."""
    checks = [check_docker_cli(project), check_compose(project), check_engine(project), check_compose_files(project)]
    passed = {check.id for check in checks if check.ok}
    if "engine" in passed:
        ssh = check_ssh_connection(project)
        checks += [ssh] if ssh else []
        checks.append(check_engine_disk(project))
    if "compose-files" in passed:
        checks.append(check_ports(project))
    if {"engine", "compose-files"} <= passed:
        checks += check_routes(project)
        mounts = check_bind_mounts(project)
        checks += [mounts] if mounts else []
    checks += check_env_files(project)
    checks += check_roles(project)
    checks.append(check_pg_client(project))
    for check in checks:
        check.blocking = check.id in BLOCKING
    return checks


def json_report(project: Project, checks: list[Check], *, with_settings: bool) -> dict[str, Any]:
    """What `inv doctor --json` prints: every check, and every setting with its origin."""
    import dataclasses

    rows = settings_table(project) if with_settings else []
    return {
        "ok": all(check.ok for check in checks),
        "checks": [dataclasses.asdict(check) for check in checks],
        "settings": [{"key": key, "value": value, "source": source} for key, value, source in rows],
    }


def names_the_tasks_use(project: Project) -> dict[str, tuple[str, str]]:
    """db.name and db.user as the tasks will use them where the settings leave them unset: from
    the chosen URL, or from the db service's environment; each with where it came from."""
    from .db.target import choose_database, service_names

    try:
        service, url_target, placement = choose_database(project)
        if url_target is not None and (placement is None or placement.use == "url"):
            where = f"{url_target.url_variable} in the env files"
            return {"db.name": (url_target.dbname, where), "db.user": (url_target.user, where)}
        if service is None:
            return {}
        names = service_names(project, service)
    except StackError:
        return {}
    return {"db.name": (names.dbname, names.dbname_from), "db.user": (names.user, names.user_from)}


def settings_table(project: Project) -> list[tuple[str, str, str]]:
    """(key, value, where it came from) for every setting, secrets masked."""
    rows = []
    try:
        roles = {f"{name}.service": project.roles.get(name) for name in ROLE_NAMES}
    except StackError:
        roles = {}
    used = names_the_tasks_use(project) if roles else {}
    for key, spec in schema().items():
        value = project.settings.get(key)
        source = project.settings.sources.get(key, "")
        if key in roles:  # a detected role is shown with what detection saw
            value, source = roles[key].service, roles[key].reason
        elif key == "project_name" and value is None and roles and project.has_compose_files():
            value, source = project.compose().label(), "compose model: project name"
        elif key in ("db.name", "db.user") and value is None and key in used:
            value, source = used[key]
        if spec.argv:
            shown = " ".join(value) if value else "(auto)" if key == "compose_command" else "(none)"
        else:
            shown = repr(value)
        rows.append((key, project.runner.mask(shown), source))
    return rows
