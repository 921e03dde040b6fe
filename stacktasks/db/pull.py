"""db.pull: a stage's database brought home, streamed, sanitised and swapped in as a restore is.

The stage is found by its own settings (its env files, compose files and docker context: the
project's settings with ``stage`` set to it). There, a read-only connection exports a snapshot
and counts every table's rows in it, and pg_dump writes plain SQL from that same snapshot. The SQL
goes straight into this stack's psql, through the plain-dump checker, inside one transaction only
stacktasks commits, into ``<db>__restoring``, applied by the load role (loadrole.py). No file on
this machine ever holds the stage's rows. Then the counts are checked against the stage's, the
sanitising rules run (sanitize.py), and the copy is swapped in (replace.py), the replaced database
kept for ``db.undo``. Killed at any instant, the name holds a whole database; the stage is only
read, and nothing is left there.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import USAGE, StackError
from ..safety import has_terminal
from . import dumpfiles
from .admin import (
    aside_name,
    can_create_databases,
    connect,
    database_exists,
    server_major,
)
from .backup import RowCounter, export_snapshot
from .extensions import prepare_extensions
from .feed import PSQL_ARGS, feed_checked, widen_pipe
from .loadrole import hand_over
from .plan import check_counts
from .replace import replace_from_aside
from .restore import make_scratch
from .sanitize import Rule, RuleResult, apply_rules, sanitizing_rules
from .session import guarded_admin
from .target import resolve_target
from .tools import choose_client

if TYPE_CHECKING:
    import psycopg

    from ..project import Project
    from .exclusions import Exclusions
    from .target import DbTarget
    from .tools import PgClient


@dataclass(frozen=True)
class PullResult:
    stage: str
    source: str  # the stage's database, as it was described
    database: str
    kept_as: str | None
    verified_tables: int
    sanitized: tuple[RuleResult, ...]
    seconds: float


@dataclass(frozen=True)
class Source:
    """The stage's side: its project, its database, its client tools, and what it said of itself."""

    stage: str
    project: Project
    target: DbTarget
    conn: psycopg.Connection[Any]  # read-only, in the exported snapshot
    snapshot: str
    extensions: list[str]
    client: PgClient


def stage_project(project: Project, stage: str) -> Project:
    """The project as the stage sees it: the same settings with ``stage`` set, its own env files,
    compose files and engine."""
    from ..project import Project

    if not stage:
        raise StackError("which stage? give --from STAGE", code=USAGE)
    if stage == project.settings.stage:
        raise StackError(f"--from {stage} is this stage itself: nothing to pull", code=USAGE)
    return Project(dataclasses.replace(project.settings, stage=stage), dry=project.dry, echo=project.runner.echo)


def pull_database(
    project: Project, stage: str, *, sanitize: bool = True, exclude: Exclusions | None = None
) -> PullResult | None:
    """Replace the database with the stage's, sanitised; None under dry-run."""
    started = time.monotonic()
    rules = sanitizing_rules(project) if sanitize else ()
    remote = stage_project(project, stage)
    try:
        source = resolve_target(remote)
        source.refuse_transaction_pooler("pull")
        local = resolve_target(project)
        local.refuse_transaction_pooler("pull")
        if (source.host, source.port, source.dbname) == (local.host, local.port, local.dbname):
            raise StackError(f"{stage}'s database is this one ({local.describe()}): nothing to pull", code=USAGE)
        if remote.settings.is_protected:
            project.runner.note(f"{stage} is a protected stage: it is only read (pg_dump in a snapshot)")
        if project.dry:
            show_dry_pull(project, remote, source, local, rules, exclude)
            return None
        if not sanitize:
            project.runner.note(f"--no-sanitize: {stage}'s rows arrive as they are")
        return _pull(project, remote, source, local, rules, exclude, started)
    finally:
        remote.close()


def _pull(
    project: Project,
    remote: Project,
    source_target: DbTarget,
    local: DbTarget,
    rules: tuple[Rule, ...],
    exclude: Exclusions | None,
    started: float,
) -> PullResult:
    conn = connect(source_target, autocommit=False)
    try:
        source = read_source(remote, source_target, conn)
        with guarded_admin(project, local) as admin:
            if same_database(conn, admin, local.dbname):  # however each was reached
                raise StackError(
                    f"{source.stage}'s database is this one ({local.describe()}): nothing to pull", code=USAGE
                )
            if not can_create_databases(admin):
                raise StackError(
                    f"db.pull needs a role that may create databases: {local.user} may not, so the "
                    f"stage's data cannot be checked aside before it replaces {local.dbname}; nothing was changed"
                )
            what = f"replace {local.describe()} with {source.stage}'s {source_target.describe()}"
            project.confirm(what + (f", sanitised by {len(rules)} rule(s)" if rules else ", not sanitised"))
            sanitized: list[RuleResult] = []

            def fill(scratch: str) -> int:
                verified = load_from_stage(project, admin, local, source, scratch, exclude)
                if rules:  # after the check: the counts are the stage's, before any rule changed a row
                    project.runner.note(f"run {len(rules)} sanitising rule(s) in {scratch}, in one transaction")
                    sanitized.extend(apply_rules(local, scratch, rules))
                return verified

            replaced = replace_from_aside(project, admin, local.dbname, fill, f"{source.stage}'s data")
    finally:
        conn.close()
    return PullResult(
        source.stage,
        source_target.describe(),
        local.dbname,
        replaced.kept_as,
        replaced.verified_tables,
        tuple(sanitized),
        time.monotonic() - started,
    )


def same_database(source: psycopg.Connection[Any], admin: psycopg.Connection[Any], database: str) -> bool:
    """Whether the source connection is on ``database`` of the admin connection's server: the
    same server start and the same database oid, whatever route reached either."""
    mine = source.execute("select pg_postmaster_start_time(), oid from pg_database where datname = current_database()")
    theirs = admin.execute("select pg_postmaster_start_time(), oid from pg_database where datname = %s", [database])
    return mine.fetchone() == theirs.fetchone()


def read_source(project: Project, target: DbTarget, conn: psycopg.Connection[Any]) -> Source:
    """The source side, as ``conn`` (not in autocommit) sees it: a snapshot exported and kept open
    for pg_dump and the counts, the extensions the load needs made ready, where its tools run."""
    exported = export_snapshot(conn)
    rows = conn.execute("select extname from pg_extension where extname <> 'plpgsql' order by 1").fetchall()
    client = choose_client(project, target, exported.server_major)
    return Source(project.settings.stage, project, target, conn, exported.name, [r[0] for r in rows], client)


def load_from_stage(
    project: Project,
    admin: psycopg.Connection[Any],
    local: DbTarget,
    source: Source,
    scratch: str,
    exclude: Exclusions | None,
) -> int:
    """``scratch`` made and filled from the stage's pg_dump, streamed; its row counts checked."""
    exists = database_exists(admin, local.dbname)
    role, owner = make_scratch(project, admin, local, scratch, model=local.dbname if exists else None, connections=2)
    ready = frozenset(prepare_extensions(local, scratch, source.extensions))
    client = choose_client(project, local, server_major(admin))
    loader = client.as_role(role) if role else client
    counter = RowCounter(source.conn, exclude)
    watched = source.client.can_watch()
    dump_args = ["-Fp", "--no-owner", "--no-acl", f"--snapshot={source.snapshot}"]
    dump_argv = source.client.argv("pg_dump", dump_args + (exclude.pg_dump_args() if exclude else []), watched=watched)
    meter = dumpfiles.Progress(f"pull from {source.stage}", enabled=has_terminal(sys.stderr))
    try:
        producer = source.project.runner.start(
            dump_argv,
            extra_env=source.client.env(watched=watched),
            stdout=subprocess.PIPE,
            stdin=subprocess.PIPE if watched else subprocess.DEVNULL,
            what=f"pg_dump on {source.stage}",
        )
        counter.start()
        with producer:
            psql = project.runner.start(
                loader.argv("psql", PSQL_ARGS, dbname=scratch, stdin=True),
                extra_env=loader.env(scratch),
                stdin=subprocess.PIPE,
                what="psql",
            )
            with psql:
                widen_pipe(producer.stdout)
                widen_pipe(psql.stdin)
                feed_checked(
                    psql.stdin,
                    producer.stdout,
                    f"{source.stage}'s dump",
                    producer=producer,
                    meter=meter,
                    skip_comments_on=ready,
                )
                psql.wait()
            if watched:
                producer.stdin.close()
        counts = counter.result()
    except BaseException:
        counter.abandon()
        raise
    finally:
        meter.finish()
    if role:
        hand_over(local, scratch, role, owner)
    return check_counts(local, scratch, counts, f"counts on {source.stage}")


def show_dry_pull(
    project: Project,
    remote: Project,
    source: DbTarget,
    local: DbTarget,
    rules: tuple[Rule, ...],
    exclude: Exclusions | None,
) -> None:
    """Both sides' commands, shown and not run; the database work as notes."""
    stage = remote.settings.stage
    scratch = aside_name(local.dbname, "__restoring")
    remote.runner.note(f"on {stage}: a read-only snapshot of {source.describe()}, its row counts taken in it")
    client = choose_client(remote, source, None)
    dump_args = ["-Fp", "--no-owner", "--no-acl", "--snapshot=EXPORTED-AT-RUN-TIME"]
    remote.runner.show(client.argv("pg_dump", dump_args + (exclude.pg_dump_args() if exclude else [])))
    project.runner.note(f"create database {scratch}; the dump streamed into it through the plain-dump checker:")
    project.runner.show(choose_client(project, local, None).argv("psql", PSQL_ARGS, dbname=scratch, stdin=True))
    project.runner.note(f"check the row counts against {stage}'s")
    if rules:
        labels = ", ".join(rule.label for rule in rules)
        project.runner.note(f"run the sanitising rules in {scratch}, in one transaction: {labels}")
    project.runner.note(
        f"end the sessions on {local.dbname}; rename it to {aside_name(local.dbname, '__undo')} "
        f"and {scratch} to {local.dbname}"
    )
