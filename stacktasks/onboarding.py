"""`onboard`: from a fresh clone to a running, migrated stack, safely re-runnable.

Each step says whether it changed anything, judged by what can be observed before and after it
(env files written, image IDs, container IDs, the database schema), so a second run can say
that it did nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .engine.docker import image_id_argv
from .errors import StackError

if TYPE_CHECKING:
    from .project import Project

EMPTY_SCHEMA = hashlib.sha256(json.dumps([[], []]).encode()).hexdigest()


@dataclass
class StepReport:
    name: str
    changed: bool
    detail: str


@dataclass
class OnboardReport:
    steps: list[StepReport] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(step.changed for step in self.steps)


def image_ids(project: Project) -> dict[str, str]:
    """The ID of every image the stack uses (built or pulled), by name; missing ones left out."""
    compose = project.compose()
    model = project.model()
    names = sorted({model.image(service) or f"{compose.project_name}-{service}" for service in model.services})
    ids = {}
    for name in names:  # one by one: inspect fails as a whole when any image is missing
        result = project.runner.capture(image_id_argv(name), check=False)
        if result.returncode == 0:
            ids[name] = result.stdout.strip()
    return ids


def container_ids(project: Project) -> list[str]:
    return sorted(project.compose().container_ids())


def schema_fingerprint(project: Project) -> str | None:
    """A digest of the database's tables, columns and migration records; None without a database."""
    from .db.admin import connect
    from .db.target import resolve_target

    try:
        target = resolve_target(project)
        conn = connect(target)
    except StackError:
        return None
    try:
        rows = conn.execute(
            "select table_schema, table_name, column_name, data_type from information_schema.columns "
            "where table_schema not in ('pg_catalog', 'information_schema') order by 1, 2, 3"
        ).fetchall()
        records: list[object] = []
        for table in ("alembic_version", "django_migrations"):
            exists = conn.execute("select to_regclass(%s)", [f"public.{table}"]).fetchone()
            if exists and exists[0]:
                records += conn.execute(f"select * from public.{table} order by 1").fetchall()  # noqa: S608
    finally:
        conn.close()
    return hashlib.sha256(json.dumps([rows, records], default=str).encode()).hexdigest()


def published_urls(project: Project) -> list[str]:
    """What a person opens or connects to: every published port of a running service."""
    compose = project.compose()
    model = project.model()
    running = compose.running_services()
    roles = project.roles.by_service()
    urls = []
    for service in model.services:
        if service not in running:
            continue
        for _, published, target in model.published_ports(service):
            address = compose.host_address(service, target, published_only=True)
            if address is None:  # a remote engine's port, bound where this machine cannot reach
                urls.append(
                    f"{service}: port {published} is published on the engine's machine, not reachable from here"
                )
                continue
            host, port = address
            role = roles.get(service)
            if role == "db":
                urls.append(f"{service}: postgresql://{host}:{port}")
            elif role == "redis":
                urls.append(f"{service}: redis://{host}:{port}")
            else:
                urls.append(f"{service}: http://{host}:{port}/")
    return urls


def measured(name: str, observe: Callable[[], object], act: Callable[[], str]) -> StepReport:
    before = observe()
    detail = act()
    after = observe()
    return StepReport(name, before != after, detail)


def _stopped(step: str, error: StackError) -> StackError:
    return StackError(f"onboard stopped at {step}: {error.message}", hint=error.hint, code=error.code)


def onboard_project(project: Project, *, build: bool, seed: bool) -> OnboardReport | None:
    """Every step in order; the first failure stops it, saying what to do. None under dry-run."""
    from .env.setup import init_env_files

    if project.settings.is_protected:  # on other stages onboarding asks nothing: it destroys nothing
        project.confirm(f"onboard stage {project.settings.stage}: build and start the stack")
    report = OnboardReport()
    created = init_env_files(project.settings, dry=project.dry).created
    detail = f"created {', '.join(path.name for path in created)}" if created else "present"
    report.steps.append(StepReport("env files", bool(created), detail))
    project.refresh()  # after env.init: the new files are part of it
    _require_blocking_checks(project)
    _build_and_start(project, report, build=build)
    _seed_from_dump(project, report)
    fresh = _migrate(project, report)
    _seed(project, report, run=fresh or seed)
    if project.dry:
        return None
    report.urls = published_urls(project)
    return report


def _require_blocking_checks(project: Project) -> None:
    from .doctor import run_checks

    failed = [check for check in run_checks(project) if check.blocking and not check.ok]
    if failed:
        raise _stopped("the checks", StackError(f"{failed[0].name}: {failed[0].detail}", hint=failed[0].hint or None))


def _build_and_start(project: Project, report: OnboardReport, *, build: bool) -> None:
    from .lifecycle import bring_up

    compose = project.compose()

    def build_images() -> str:
        compose.build()
        return "images built"

    def start() -> str:
        bring_up(project, [], build=False, wait=True, timeout=0)
        return "healthy"

    try:
        if build:
            report.steps.append(measured("build", lambda: image_ids(project), build_images))
        report.steps.append(measured("up", lambda: container_ids(project), start))
    except StackError as error:
        raise _stopped("build/up", error) from None


def _seed_from_dump(project: Project, report: OnboardReport) -> None:
    """``db.seed_dump`` restored (a path) or pulled (``stage:NAME``), sanitised where rules are
    set, into a database that is new; a database with any table of its own is left as it is."""
    source = project.settings.db.seed_dump
    if not source:
        return
    from .db.target import resolve_target, wait_until_ready

    try:
        wait_until_ready(project, resolve_target(project), project.settings.db.wait_timeout)
        if schema_fingerprint(project) not in (None, EMPTY_SCHEMA):
            report.steps.append(StepReport("seed dump", False, f"skipped: the database was not new ({source})"))
            return
        rules = bool(project.settings.db.sanitize or project.settings.db.sanitize_file)
        result: object | None
        if source.startswith("stage:"):
            from .db.pull import pull_database

            result = pull_database(project, source.removeprefix("stage:"), sanitize=rules)
        else:
            from .db.restore import restore_database

            result = restore_database(project, project.settings.directory / source, sanitize=rules)
    except StackError as error:
        raise _stopped(f"the seed dump ({source})", error) from None
    if result is not None:
        report.steps.append(StepReport("seed dump", True, f"restored {source}" + (", sanitised" if rules else "")))


def _migrate(project: Project, report: OnboardReport) -> bool:
    """Apply migrations when the app has a migration tool; True when the database was new."""
    from .db.target import resolve_target, wait_until_ready
    from .lifecycle import run_in_service
    from .migrations import detect_tool, migrate_command

    try:
        detect_tool(project.settings)
        app = project.service("app")
    except StackError:
        return False
    try:
        wait_until_ready(project, resolve_target(project), project.settings.db.wait_timeout)
        before = schema_fingerprint(project)
        code = run_in_service(project, app, migrate_command(project.settings, []))
        if code:
            raise StackError(f"migrations exited with {code}", hint="inv db.migrate shows why", code=code)
        after = schema_fingerprint(project)
    except StackError as error:
        raise _stopped("migrations", error) from None
    report.steps.append(StepReport("migrations", before != after, "applied" if before != after else "up to date"))
    return before in (None, EMPTY_SCHEMA)


def _seed(project: Project, report: OnboardReport, *, run: bool) -> None:
    from .lifecycle import run_in_service

    command = project.settings.app.seed
    if not command:
        return
    if not run:
        report.steps.append(StepReport("seed", False, "skipped: the database was not new (--seed runs it)"))
        return
    code = run_in_service(project, project.service("app"), [*project.settings.app.prefix, *command])
    if code:
        raise _stopped("the seed step", StackError(f"app.seed exited with {code}", code=code))
    report.steps.append(StepReport("seed", True, "ran on the new database"))
