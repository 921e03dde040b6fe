"""Lifecycle tasks at the root of the collection: up, down, ps, logs, restart, exec, shell,
rebuild, reset, test, doctor, onboard, and ls (every compose project on the engine)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from . import shown_path, split_names, stack_task, table
from .hooks import NO_HOOKS_HELP, hooks_check, prepared_hooks

# The core (compose, env files, settings sources) is imported inside each task: `inv --list` is
# typed dozens of times a day and needs none of it.
if TYPE_CHECKING:
    from ..project import Project

SERVICES_HELP = "services, comma- or space-separated (or give them after --)"


@stack_task(
    help={
        "services": SERVICES_HELP + "; default: the whole stack",
        "build": "build images before starting",
        "wait": "wait for healthchecks to pass (default on when the stack has any)",
        "timeout": "seconds to wait for health before failing (default: compose's)",
        "no-hooks": NO_HOOKS_HELP,
    }
)
def up(
    project: Project,
    services: str = "",
    build: bool = False,
    wait: bool = True,
    timeout: int = 0,
    no_hooks: bool = False,
) -> None:
    """Start the stack in the background and wait until it is healthy; then the after_up hooks."""
    from ..lifecycle import bring_up

    hooks = prepared_hooks(project, "after_up", no_hooks)
    bring_up(project, split_names(services, project.extra_args), build=build, wait=wait, timeout=timeout)
    hooks.run(done="the stack itself is up")


@stack_task(
    help={
        "volumes": "also remove the project's volumes (asks first: their data is lost)",
        "yes": "confirm without asking (for scripts)",
    }
)
def down(project: Project, volumes: bool = False, yes: bool = False) -> None:
    """Stop and remove the stack's containers and networks (volumes kept unless --volumes)."""
    compose = project.compose()
    if volumes:
        project.confirm(f"remove the volumes of project {project.confirmation_name()}")
    compose.run(*compose.down_args(volumes=volumes))


@stack_task(help={"all": "include stopped containers", "json": "print the containers as JSON (for scripts)"})
def ps(project: Project, all: bool = False, json: bool = False) -> None:  # noqa: A002 - --all, as in compose
    """List the stack's containers with their state and health."""
    if not json:
        project.compose().ps(all_containers=all)
        return
    import json as json_module

    from ..lifecycle import containers_record

    print(json_module.dumps(containers_record(project, all_containers=all), indent=2))


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
    project: Project,
    services: str = "",
    follow: bool = False,
    timestamps: bool = False,
    tail: str | None = None,
    since: str | None = None,
) -> None:
    """Show the services' logs, streamed as they come."""
    compose = project.compose()
    names = split_names(services, project.extra_args)
    compose.run(*compose.logs_args(names, follow=follow, tail=tail, since=since, timestamps=timestamps))


@stack_task(help={"services": SERVICES_HELP + "; default: all"})
def restart(project: Project, services: str = "") -> None:
    """Restart the services' containers (no rebuild, no new config)."""
    project.compose().restart(split_names(services, project.extra_args))


@stack_task(
    name="exec",
    help={
        "service": "the service to run in",
        "cmd": "the command as one string (or give it after --)",
    },
)
def exec_(project: Project, service: str, cmd: str = "") -> None:
    """Run a command in a running service: inv exec api -- python manage.py check."""
    from ..lifecycle import exec_in_service

    exec_in_service(project, service, cmd)


@stack_task(help={"service": "the service to open a shell in (default: the app service)"})
def shell(project: Project, service: str = "") -> None:
    """Open an interactive shell in a service: bash where it has one, else sh."""
    from ..lifecycle import open_shell

    open_shell(project, service or None)


@stack_task(
    help={
        "services": SERVICES_HELP + "; default: every service with a build",
        "pull": "also pull newer base images",
        "wait": "wait for healthchecks after starting again",
    }
)
def rebuild(project: Project, services: str = "", pull: bool = False, wait: bool = True) -> None:
    """Rebuild images from scratch (build --no-cache), then start the services again."""
    from ..lifecycle import rebuild as rebuild_stack

    rebuild_stack(project, split_names(services, project.extra_args), pull=pull, wait=wait)


@stack_task(
    help={
        "yes": "confirm without asking (for scripts)",
        "rmi": "also remove the images built for this project (--rmi local)",
        "backup": "back up the database service first (default; --no-backup skips it)",
        "bind-data": "also delete the data services' bind-mounted folders (asks for the project's name)",
        "no-hooks": NO_HOOKS_HELP,
    }
)
def reset(
    project: Project,
    yes: bool = False,
    rmi: bool = False,
    backup: bool = True,
    bind_data: bool = False,
    no_hooks: bool = False,
) -> None:
    """Destroy the stack (containers, networks, volumes) after asking and backing up the database.

    The before_reset hooks run once it is confirmed, before anything is destroyed: one that fails
    stops the reset.
    """
    from ..lifecycle import reset_stack

    hooks = prepared_hooks(project, "before_reset", no_hooks)
    result = reset_stack(
        project, rmi=rmi, backup=backup, bind_data=bind_data, before=lambda: hooks.run("nothing was destroyed")
    )
    if result.backup:
        assert result.backup.path is not None  # reset's backups are files
        print(f"backup before reset: {shown_path(result.backup.path)} ({result.backup.tables} tables)")
    if result.kept:
        print(f"kept bind-mounted data (down -v never removes it): {', '.join(result.kept)}; --bind-data deletes it")
    if result.removed:
        print(f"deleted bind-mounted data: {', '.join(result.removed)}")


@stack_task(
    help={
        "args": "arguments for the test runner as one string (or give them after --)",
        "service": "run the tests in this service instead of the app service",
    }
)
def test(project: Project, args: str = "", service: str = "") -> None:
    """Run the test suite inside the app container: inv test -- -k users -x."""
    from ..lifecycle import run_tests

    run_tests(project, args, service or None, colour=sys.stdout.isatty())


@stack_task(
    help={
        "settings": "also list every setting with where it came from",
        "json": "print the checks (and settings) as JSON, for scripts and CI; the exit code is the same",
    }
)
def doctor(project: Project, settings: bool = True, json: bool = False) -> None:
    """Check tools, engine, compose files, env files and roles; show every setting's origin."""
    from ..doctor import run_checks, settings_table
    from ..errors import StackError

    checks = run_checks(project)
    hooks = hooks_check(project)
    if hooks is not None:
        checks.append(hooks)
    if json:
        import json as json_module

        from ..doctor import json_report

        print(json_module.dumps(json_report(project, checks, with_settings=settings), indent=2))
    width = max(len(check.name) for check in checks)
    for check in [] if json else checks:
        mark = "ok  " if check.ok else "FAIL"
        print(f"{mark} {check.name:<{width}}  {check.detail}")
        if check.hint and not check.ok:
            print(f"     {'':<{width}}  hint: {check.hint}")
    if settings and not json:
        rows = settings_table(project)
        key_width = max(len(key) for key, _, _ in rows)
        value_width = min(40, max(len(value) for _, value, _ in rows))
        print("\nsettings:")
        for key, value, source in rows:
            print(f"  {key:<{key_width}}  {value:<{value_width}}  {source}")
    failed = [check.name for check in checks if not check.ok]
    if failed:
        raise StackError(f"doctor found problems: {', '.join(failed)}")


@stack_task(
    help={
        "yes": "confirm without asking (asked only on a protected stage)",
        "seed": "run app.seed even though the database was not new",
        "build": "build images first (default; --no-build skips)",
        "no-hooks": NO_HOOKS_HELP,
    }
)
def onboard(
    project: Project, yes: bool = False, seed: bool = False, build: bool = True, no_hooks: bool = False
) -> None:
    """Take a fresh clone to a running stack: env files, build, up, migrations, seed, the URLs.

    Then the after_onboard hooks run ([tool.stacktasks.hooks]).
    """
    from ..onboarding import onboard_project

    hooks = prepared_hooks(project, "after_onboard", no_hooks)
    report = onboard_project(project, build=build, seed=seed)
    if report is None:
        hooks.run()
        return
    for step in report.steps:
        print(f"{'changed' if step.changed else 'same':<8} {step.name}: {step.detail}")
    if not report.changed:
        print("nothing changed: this stack was already onboarded")
    print("\nthe stack is up:" if report.urls else "\nthe stack is up (no published ports)")
    for url in report.urls:
        print(f"  {url}")
    hooks.run(done="the stack itself is onboarded")


@stack_task(name="ls", help={"json": "print the projects as JSON (for scripts)"})
def ls(project: Project, json: bool = False) -> None:
    """List every compose project on the engine: state, folder, published ports, stacktasks or not.

    The project of this folder is marked with *; "stacktasks: ?" is a folder not on this machine.
    """
    from ..engine.projects import compose_projects, printable

    found = compose_projects(project)
    this = this_project_name(project)
    if json:
        import json as json_module

        print(json_module.dumps({"projects": [item.record(this) for item in found]}, indent=2))
        return
    if not found:
        print("no compose projects on this engine")
        return
    rows: list[tuple[str, ...]] = [("", "NAME", "STATE", "FOLDER", "STACKTASKS", "PORTS")]
    for item in found:
        uses = {True: "yes", False: "no", None: "?"}[item.stacktasks]
        ports = ", ".join(f"{port.shown()} ({port.service})" for port in item.ports) or "-"
        row = (item.name, item.state(), item.folder or "?", uses, ports)
        rows.append(("*" if item.name == this else "", *(printable(cell) for cell in row)))
    for line in table(rows, [1, None, None, None, None]):
        print(line)


def this_project_name(project: Project) -> str | None:
    """The compose project of this folder, if it has one whose model can be read: `ls` lists the
    engine's projects from anywhere, a broken compose file here included."""
    from ..errors import StackError

    if not project.has_compose_files():
        return None
    try:
        return project.compose().label()
    except StackError:
        return None
