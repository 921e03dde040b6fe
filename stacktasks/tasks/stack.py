"""Lifecycle tasks at the root of the collection: up, down, ps, logs, restart, exec, shell,
rebuild, reset, test, doctor."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from invoke.context import Context

from ..errors import StackError
from . import remainder_argv, split_names, stack_task

# The project machinery (compose, env files, settings sources) is imported inside each task:
# `inv --list` is typed dozens of times a day and needs none of it.
if TYPE_CHECKING:
    from ..project import Project

SERVICES_HELP = "services, comma- or space-separated (or give them after --)"


def _wait_wanted(project: Project, services: list[str]) -> bool:
    model = project.model()
    targets = model.with_dependencies(services) if services else model.default_services(project.settings.profiles)
    return any(model.has_healthcheck(service) for service in targets)


def bring_up(project: Project, services: list[str], *, build: bool, wait: bool, timeout: int) -> None:
    compose = project.compose()
    wait = wait and _wait_wanted(project, services)
    compose.run(*compose.up_args(services, build=build, wait=wait, timeout=timeout or None))
    if wait and not compose.version.supports_wait:
        compose.wait_healthy(services, timeout or 120)


@stack_task(
    help={
        "services": SERVICES_HELP + "; default: the whole stack",
        "build": "build images before starting",
        "wait": "wait for healthchecks to pass (default on when the stack has any)",
        "timeout": "seconds to wait for health before failing (default: compose's)",
    }
)
def up(c: Context, services: str = "", build: bool = False, wait: bool = True, timeout: int = 0) -> None:
    """Start the stack in the background and wait until it is healthy."""
    from ..project import Project
    project = Project.from_context(c)
    bring_up(project, split_names(services, remainder_argv(c)), build=build, wait=wait, timeout=timeout)


@stack_task(
    help={
        "volumes": "also remove the project's volumes (asks first: their data is lost)",
        "yes": "confirm without asking (for scripts)",
    }
)
def down(c: Context, volumes: bool = False, yes: bool = False) -> None:
    """Stop and remove the stack's containers and networks (volumes kept unless --volumes)."""
    from ..project import Project
    from ..safety import confirm
    project = Project.from_context(c)
    compose = project.compose()
    if volumes:
        label = project_label(project)
        confirm(
            f"remove the volumes of project {label}",
            yes=yes, protected=project.settings.is_protected, expected=label, dry=project.runner.dry,
        )
    compose.run(*compose.down_args(volumes=volumes))


@stack_task(help={"all": "include stopped containers"})
def ps(c: Context, all: bool = False) -> None:  # noqa: A002 - the flag is --all, as in compose
    """List the stack's containers with their state and health."""
    from ..project import Project
    project = Project.from_context(c)
    compose = project.compose()
    compose.run("ps", *(["--all"] if all else []))


@stack_task(
    help={
        "services": SERVICES_HELP + "; default: all",
        "follow": "keep streaming new lines (Ctrl-C stops)",
        "tail": "show only the last N lines of each service",
        "since": "show lines since a time (2026-01-31T10:00:00) or a duration (10m)",
        "timestamps": "prefix each line with its timestamp",
    }
)
def logs(
    c: Context, services: str = "", follow: bool = False, timestamps: bool = False,
    tail: str | None = None, since: str | None = None,
) -> None:
    """Show the services' logs, streamed as they come."""
    from ..project import Project
    project = Project.from_context(c)
    compose = project.compose()
    names = split_names(services, remainder_argv(c))
    args = compose.logs_args(names, follow=follow, tail=tail, since=since, timestamps=timestamps)
    compose.run(*args)


@stack_task(help={"services": SERVICES_HELP + "; default: all"})
def restart(c: Context, services: str = "") -> None:
    """Restart the services' containers (no rebuild, no new config)."""
    from ..project import Project
    project = Project.from_context(c)
    project.compose().run("restart", *split_names(services, remainder_argv(c)))


@stack_task(
    name="exec",
    help={
        "service": "the service to run in",
        "cmd": "the command as one string (or give it after --)",
    },
)
def exec_(c: Context, service: str, cmd: str = "") -> None:
    """Run a command in a running service: inv exec api -- python manage.py check."""
    import shlex

    from ..project import Project, interactive_terminal

    command = shlex.split(cmd) + remainder_argv(c)
    if not command:
        raise StackError("no command given", hint=f"inv exec {service} -- COMMAND [ARGS...]", code=2)
    project = Project.from_context(c)
    compose = project.compose()
    interactive = interactive_terminal()
    code = compose.run(*compose.exec_args(service, command, interactive=interactive), check=False)
    if code:
        raise StackError(f"command in {service} exited with {code}", code=code)


@stack_task(help={"service": "the service to open a shell in (default: the app service)"})
def shell(c: Context, service: str = "") -> None:
    """Open an interactive shell in a service: bash where it has one, else sh."""
    from ..project import Project, interactive_terminal
    project = Project.from_context(c)
    compose = project.compose()
    target = project.service("app", service or None)
    # One exec: the choice of shell is made inside the container, where bash may be missing.
    pick_shell = ["sh", "-c", 'if command -v bash >/dev/null 2>&1; then exec bash; else exec sh; fi']
    compose.run(*compose.exec_args(target, pick_shell, interactive=interactive_terminal()), check=False)


@stack_task(
    help={
        "services": SERVICES_HELP + "; default: every service with a build",
        "pull": "also pull newer base images",
        "wait": "wait for healthchecks after starting again",
    }
)
def rebuild(c: Context, services: str = "", pull: bool = False, wait: bool = True) -> None:
    """Rebuild images from scratch (build --no-cache), then start the services again."""
    from ..project import Project
    project = Project.from_context(c)
    compose = project.compose()
    names = split_names(services, remainder_argv(c))
    compose.run("build", "--no-cache", *(["--pull"] if pull else []), *names)
    bring_up(project, names, build=False, wait=wait, timeout=0)


@stack_task(
    help={
        "yes": "confirm without asking (for scripts)",
        "rmi": "also remove the images built for this project (--rmi local)",
        "backup": "back up the database service first (default; --no-backup skips it)",
    }
)
def reset(c: Context, yes: bool = False, rmi: bool = False, backup: bool = True) -> None:
    """Destroy the stack: containers, networks and volumes (their data). Asks first, and backs up
    the database service before its volume goes."""
    from ..project import Project
    from ..safety import confirm
    project = Project.from_context(c)
    compose = project.compose()
    label = project_label(project)
    confirm(
        f"destroy project {label}: containers, networks and volumes" + (" and its built images" if rmi else ""),
        yes=yes, protected=project.settings.is_protected, expected=label,
        dry=project.runner.dry,
    )
    if backup:
        _backup_before_reset(project)
    compose.run(*compose.down_args(volumes=True, rmi="local" if rmi else None))


def _backup_before_reset(project: Project) -> None:
    """An automatic backup of the db service; started for it if it is down (its volume holds data)."""
    from ..dumps import dump_database
    from ..safety import has_terminal

    service = project.model_role("db")
    if not service:
        return
    compose = project.compose()
    if not project.runner.dry and service not in compose.running_services():
        if not compose.container_ids([service]) and not _has_volumes(project):
            project.runner.note(f"no {service} container or volume: nothing to back up")
            return
        project.runner.note(f"{service} is not running: starting it to back it up first")
        bring_up(project, [service], build=False, wait=True, timeout=0)
    try:
        from ..postgres import resolve_target, wait_until_ready

        # Just started (or starting): a database without a healthcheck may not accept connections yet.
        target = wait_until_ready(project, resolve_target(project), project.settings.db.wait_timeout)
        result = dump_database(project, reason="before reset", target=target, progress=has_terminal(sys.stderr))
    except StackError as error:
        raise StackError(
            f"backup before reset failed, so nothing was destroyed: {error.message}",
            hint="fix the database, or pass --no-backup to destroy it without a backup",
        ) from None
    if result:
        print(f"backup before reset: {result.path} ({result.tables} tables)")


def _has_volumes(project: Project) -> bool:
    name = project_label(project)
    result = project.runner.capture(
        ["docker", "volume", "ls", "-q", "--filter", f"label=com.docker.compose.project={name}"], check=False,
    )
    return bool(result.stdout.strip())


@stack_task(
    help={
        "args": "arguments for the test runner as one string (or give them after --)",
        "service": "run the tests in this service instead of the app service",
    }
)
def test(c: Context, args: str = "", service: str = "") -> None:
    """Run the test suite inside the app container: inv test -- -k users -x."""
    import shlex

    from ..project import Project

    project = Project.from_context(c)
    settings = project.settings
    extra = shlex.split(args) + remainder_argv(c)
    command = [*settings.app.prefix, *settings.app.test, *extra]
    # Colours survive `exec -T` when we are on a terminal ourselves.
    colour = {"PY_COLORS": "1", "FORCE_COLOR": "1"} if sys.stdout.isatty() else {}
    target = service or settings.app.test_service or project.service("app")
    if settings.app.test_compose_files:
        compose = project.test_compose()
        try:
            code = compose.run(*compose.run_args(target, command, env=colour), check=False)
        finally:
            compose.run(*compose.down_args(volumes=True), check=False)
    else:
        code = project.run_in_service(target, command, env=colour)
    if code:
        raise StackError(f"tests failed (exit {code})", code=code)


@stack_task(help={"settings": "also list every setting with where it came from"})
def doctor(c: Context, settings: bool = True) -> None:
    """Check tools, engine, compose files, env files and roles; show every setting's origin."""
    from ..doctor import run_checks, settings_table
    from ..project import Project

    project = Project.from_context(c)
    checks = run_checks(project)
    width = max(len(check.name) for check in checks)
    for check in checks:
        mark = "ok  " if check.ok else "FAIL"
        print(f"{mark} {check.name:<{width}}  {check.detail}")
        if check.hint and not check.ok:
            print(f"     {'':<{width}}  hint: {check.hint}")
    if settings:
        rows = settings_table(project)
        key_width = max(len(key) for key, _, _ in rows)
        value_width = min(40, max(len(value) for _, value, _ in rows))
        print("\nsettings:")
        for key, value, source in rows:
            print(f"  {key:<{key_width}}  {value:<{value_width}}  {source}")
    failed = [check.name for check in checks if not check.ok]
    if failed:
        raise StackError(f"doctor found problems: {', '.join(failed)}")


def project_label(project: Project) -> str:
    """The name typed to confirm on a protected stage: compose's project name, else the folder's."""
    if not project.has_compose_files():
        return project.settings.project_name or project.settings.directory.name
    compose = project.compose()
    return compose.project_name or project.model().name or project.settings.directory.name



@stack_task(
    help={
        "yes": "confirm without asking (asked only on a protected stage)",
        "seed": "run app.seed even though the database was not new",
        "build": "build images first (default; --no-build skips)",
    }
)
def onboard(c: Context, yes: bool = False, seed: bool = False, build: bool = True) -> None:
    """From a fresh clone to a running stack: checks, env files, build, up (healthy), migrations,
    the seed step (app.seed) on a new database, then the URLs. Safe to run again."""
    from ..onboarding import onboard_project
    from ..project import settings_from_context
    from ..safety import confirm

    settings = settings_from_context(c)
    dry = bool(c.config.run.dry)
    if settings.is_protected:
        confirm(f"onboard stage {settings.stage}: build and start the stack", yes=yes, protected=True,
                expected=settings.project_name or settings.directory.name, dry=dry)
    report = onboard_project(c, settings, build=build, seed=seed)
    if report is None:
        return
    for step in report.steps:
        print(f"{'changed' if step.changed else 'same':<8} {step.name}: {step.detail}")
    if not report.changed:
        print("nothing changed: this stack was already onboarded")
    print("\nthe stack is up:" if report.urls else "\nthe stack is up (no published ports)")
    for url in report.urls:
        print(f"  {url}")
