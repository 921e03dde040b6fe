"""db.restore: a dump into a scratch database, verified against its manifest, then swapped in.

The replaced database stays as ``<name>__undo`` until the next restore (``undo.py`` swaps it
back). Where the role may not create databases, ``restore_in_place.py`` takes over.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import StackError
from . import backupfiles, dumpfiles
from .admin import (
    admin_database,
    aside_name,
    can_create_databases,
    connect,
    create_database_like,
    database_exists,
    database_owner,
    is_superuser,
    server_major,
    statement,
)
from .backup import backup_directory
from .dumpread import read_dump
from .load import load_dump
from .loadrole import (
    LoadRole,
    create_load_role,
    hand_over,
    load_role_name,
    say_rights_used,
)
from .plan import Applied, RestorePlan, RestoreResult, verify_restored
from .replace import replace_from_aside
from .sanitize import RuleResult, apply_rules
from .session import guarded_admin
from .target import DbTarget, resolve_target
from .tools import PgClient, choose_client, remove_leftovers

if TYPE_CHECKING:
    import psycopg

    from ..project import Project


def latest_backup(project: Project, database: str) -> Path:
    """The newest backup of ``database`` (by the instant it was taken): a backup of another
    database, or a file without a manifest that says which, is never "the latest"."""
    backups = [b for b in backupfiles.list_backups(backup_directory(project)) if b.database == database]
    if not backups:
        raise StackError(f"no backups of {database} in {backup_directory(project)}", hint="inv db.backup makes one")
    return backups[-1].path


def dump_to_restore(project: Project, file: str, latest: bool) -> Path | None:
    """The dump a restore was asked for: a file (as given, else in backups/), or None for
    --latest (the newest backup of the database, chosen once the database is known)."""
    from ..errors import USAGE

    given = [item for item in [file, *project.extra_args] if item]
    if latest and given:
        raise StackError("give a file or --latest, not both", code=USAGE)
    if latest:
        return None
    if len(given) != 1:
        raise StackError("which dump? give one file, or --latest", hint="inv db.backups lists them", code=USAGE)
    if given[0] == "-":
        from .inputs import STDIN

        return STDIN
    path = Path(given[0]).expanduser()
    if not path.exists() and not path.is_absolute():  # a backup's name, with or without its suffix
        in_backups = backup_directory(project) / path
        for candidate in (in_backups, *(in_backups.with_name(path.name + s) for s in dumpfiles.SUFFIX.values())):
            if candidate.is_file():
                return candidate
    return path.resolve()


def default_jobs(project: Project) -> int:
    return project.settings.db.jobs or max(1, min(4, os.cpu_count() or 1))


def restore_database(
    project: Project, path: Path | None, *, jobs: int | None = None, sanitize: bool = False
) -> RestoreResult | None:
    """Replace the database with the dump at ``path`` (None: its latest backup), after the
    project's sanitising rules ran in the copy where ``sanitize``. None under dry-run."""
    from .sanitize import sanitizing_rules

    rules = sanitizing_rules(project) if sanitize else ()
    target = resolve_target(project)
    target.refuse_transaction_pooler("restore")
    path = path or latest_backup(project, target.dbname)
    dump = read_dump(path)
    plan = RestorePlan(dump, jobs or default_jobs(project), target.dbname, rules=rules)
    if project.dry:
        show_dry_plan(project, target, choose_client(project, target, None), plan)
        return None
    started = time.monotonic()
    with guarded_admin(project, target) as admin:
        client = choose_client(project, target, server_major(admin))
        remove_leftovers(project, client)
        warn_newer_dump(project, plan, server_major(admin))
        by_swap = can_create_databases(admin)
        if rules and not by_swap:
            raise StackError(
                f"--sanitize needs a role that may create databases: the rules run in a copy before it "
                f"replaces {target.dbname}, and {target.user} may not create one; nothing was changed",
                hint="restore as a user with CREATEDB, or restore, then run the rules yourself",
            )
        project.confirm(confirmation(target, plan, by_swap))
        if by_swap:
            applied = restore_by_swap(project, admin, client, target, plan)
        else:
            from .restore_in_place import restore_in_place

            applied = restore_in_place(project, admin, client, target, plan)
    return RestoreResult.of(applied, target.dbname, time.monotonic() - started, plan)


def confirmation(target: DbTarget, plan: RestorePlan, by_swap: bool) -> str:
    """What is replaced, by what: the dump's own database, server and time, said plainly."""
    what = f"replace {target.describe()} with {plan.path.name} ({plan.origin.describe()})"
    if plan.origin.database and plan.origin.database != target.dbname:
        what += f"; note: this is a dump of another database, {plan.origin.database}"
    if plan.manifest and plan.manifest.sanitized:
        what += f"; a sanitised dump (rules {plan.manifest.sanitized})"
    if not by_swap:
        what += " (in place: this role may not create databases; a safety dump is taken first)"
    if plan.rules:
        what += f"; then sanitised by {len(plan.rules)} rule(s) before it replaces the database"
    return what


def show_dry_plan(project: Project, target: DbTarget, client: PgClient, plan: RestorePlan) -> None:
    """The restore's own steps under dry-run: the same commands, shown and not run (a plain dump is
    checked all the same); the database work as notes."""
    runner = project.runner
    scratch = aside_name(target.dbname, "__restoring")
    runner.note(f"create database {scratch}; restore {plan.path.name} ({plan.format.describe()}) into it")
    load_dump(project, dry_loader(project, target, client, scratch), plan, scratch)
    if plan.manifest:
        runner.note(f"check the row counts of {len(plan.manifest.tables)} tables against the manifest")
    if plan.rules:
        labels = ", ".join(rule.label for rule in plan.rules)
        runner.note(f"run the sanitising rules in {scratch}, in one transaction: {labels}")
    runner.note(
        f"end the sessions on {target.dbname}; rename it to "
        f"{aside_name(target.dbname, '__undo')} and {scratch} to {target.dbname}"
    )


def dry_loader(project: Project, target: DbTarget, client: PgClient, scratch: str) -> PgClient:
    """Who the real run would apply the dump as, read from the server (a look, no change): the
    load role where the user is a superuser, else the user."""
    try:
        conn = connect(target, admin_database(target, project.settings.db.maintenance_db))
    except StackError:
        superuser = True
        project.runner.note(f"cannot connect to {target.describe()} now: the plan assumes a superuser")
    else:
        try:
            superuser = is_superuser(conn)
        finally:
            conn.close()
    if not superuser:
        project.runner.note(f"the dump would be applied with {target.user}'s own rights (not a superuser)")
        return client
    role = load_role_name(target.dbname)
    project.runner.note(f"the dump would be applied as {role}, a role that owns {scratch} and nothing else")
    return client.as_role(LoadRole(role, "made-at-run-time"))  # a password it will have: shown as -e PGPASSWORD


def warn_newer_dump(project: Project, plan: RestorePlan, major: int) -> None:
    dump_major = plan.dump.server_major
    if dump_major and dump_major > major:
        project.runner.note(
            f"warning: the dump comes from PostgreSQL {dump_major}, this server is {major}; "
            "objects newer than the server may fail to restore"
        )


def restore_by_swap(
    project: Project, admin: psycopg.Connection[Any], client: PgClient, target: DbTarget, plan: RestorePlan
) -> Applied:
    """Into ``<db>__restoring``, verified, then swapped in by one transaction (see replace.py)."""
    database = target.dbname
    exists = database_exists(admin, database)

    sanitized: list[RuleResult] = []

    def fill(scratch: str) -> int:
        verified = load_scratch(project, admin, client, target, plan, model=database if exists else None)
        if plan.rules:  # after the check: the counts are the dump's, before any rule changed a row
            project.runner.note(f"run {len(plan.rules)} sanitising rule(s) in {scratch}, in one transaction")
            sanitized.extend(apply_rules(target, scratch, plan.rules))
        return verified

    replaced = replace_from_aside(project, admin, database, fill, "the restored database")
    return Applied(replaced.kept_as, None, replaced.verified_tables, replaced.ended_sessions, tuple(sanitized))


def load_scratch(
    project: Project,
    admin: psycopg.Connection[Any],
    client: PgClient,
    target: DbTarget,
    plan: RestorePlan,
    *,
    model: str | None,
) -> int:
    """A fresh ``<db>__restoring`` like ``model`` (encoding, owner), the dump applied by the load
    role (loadrole.py) and verified."""
    scratch = aside_name(target.dbname, "__restoring")
    role, owner = make_scratch(project, admin, target, scratch, model=model, connections=plan.jobs + 2)
    load_dump(project, client.as_role(role) if role else client, plan, scratch, admin_target=target)
    if role:
        hand_over(target, scratch, role, owner)
    return verify_restored(target, scratch, plan)


def make_scratch(
    project: Project,
    admin: psycopg.Connection[Any],
    target: DbTarget,
    scratch: str,
    *,
    model: str | None,
    connections: int,
) -> tuple[LoadRole | None, str | None]:
    """``scratch`` like ``model`` (encoding), and the load role that owns only it where the user
    is a superuser (else the user's own rights, said); the role, and the owner it goes to after."""
    project.runner.note(f"create database {scratch}")
    create_database_like(admin, scratch, model)
    owner = database_owner(admin, model) if model else None
    if is_superuser(admin):
        role = create_load_role(admin, target.dbname, scratch, connections=connections)
        project.env.masker.add(role.password)
        project.runner.note(
            f"the dump is applied as {role.name}, a role that owns {scratch} and nothing else "
            "(no superuser, no CREATEDB or CREATEROLE, no server roles)"
        )
        return role, owner
    if owner:
        admin.execute(statement("alter database {} owner to {}", scratch, owner))
    say_rights_used(project, admin, target)
    return None, owner
