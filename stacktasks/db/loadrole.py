"""The role a dump is applied as: it owns the scratch database and nothing else.

A dump is input, and what it holds runs during the load: a CHECK constraint's function, a
trigger, a ``DO`` block. No list of forbidden statements can see into a function body, so the
dump is not given the rights to do harm: ``pg_restore`` and ``psql`` log in as a role created for
this one restore (no superuser, no CREATEDB or CREATEROLE, no replication, no membership in any
role, ``pg_*`` included), the owner of the scratch database. What only a superuser may create
(an extension that is not trusted) is created first by the admin connection, by name, from what
the server offers, never from the dump's text. After the load the objects go to the user the
restore connects as (as with ``--no-owner`` before), the database's own settings the dump may
have set are reset, and the role is dropped.

The role's name comes from the database's (a digest: unique per database, whatever its length),
its password is random and reaches the server only as a SCRAM verifier. A role left by a killed
run is found by its name and its comment (only a role creator can write one) and dropped by the
next run, which holds the database's lock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import StackError
from .admin import connect, statement

if TYPE_CHECKING:
    import psycopg

    from ..project import Project
    from .target import DbTarget

PREFIX = "stacktasks_load_"
COMMENT = "stacktasks: applies one restore's dump, then is dropped"
SCRAM_ITERATIONS = 4096
#: Server roles whose membership would let a load reach beyond its database.
SERVER_ROLES = ("pg_execute_server_program", "pg_read_server_files", "pg_write_server_files")


@dataclass(frozen=True)
class LoadRole:
    name: str
    password: str = field(repr=False)


def load_role_name(database: str) -> str:
    return PREFIX + hashlib.sha256(database.encode()).hexdigest()[:24]


def scram_verifier(password: str, salt: bytes | None = None) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for ``password`` (RFC 7677), made here so the
    password itself never reaches the server's statement log."""
    salt = salt or secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, SCRAM_ITERATIONS)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return f"SCRAM-SHA-256${SCRAM_ITERATIONS}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def can_drop_roles(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("select rolsuper or rolcreaterole from pg_roles where rolname = current_user").fetchone()
    return bool(row and row[0])


def create_load_role(admin: psycopg.Connection[Any], database: str, scratch: str, connections: int) -> LoadRole:
    """The role, owner of ``scratch`` and of nothing else; call holding the database's lock."""
    from psycopg import sql

    drop_load_role(admin, database)
    role = LoadRole(load_role_name(database), secrets.token_urlsafe(24))
    with admin.transaction():
        admin.execute(
            statement(
                "create role {} login nosuperuser nocreatedb nocreaterole noreplication nobypassrls",
                role.name,
            )
            + sql.SQL(" connection limit {} password {}").format(
                sql.Literal(connections), sql.Literal(scram_verifier(role.password))
            )
        )
        admin.execute(statement("comment on role {} is ", role.name) + sql.SQL("{}").format(sql.Literal(COMMENT)))
        admin.execute(statement("alter database {} owner to {}", scratch, role.name))
    return role


def hand_over(target: DbTarget, scratch: str, role: LoadRole, owner: str | None) -> None:
    """The loaded objects to the user the restore connects as, the database to ``owner``, the
    database-level settings (which pg_dump without --create never writes) reset, the role dropped."""
    conn = connect(target, scratch)
    try:
        conn.execute(statement("reassign owned by {} to {}", role.name, target.user))
        conn.execute(statement("drop owned by {}", role.name))
        conn.execute(statement("alter database {} owner to {}", scratch, owner or target.user))
        conn.execute(statement("alter database {} reset all", scratch))
        end_role_sessions(conn, role.name)
        conn.execute(statement("drop role {}", role.name))
    finally:
        conn.close()


def end_role_sessions(conn: psycopg.Connection[Any], role: str) -> None:
    conn.execute("select pg_terminate_backend(pid) from pg_stat_activity where usename = %s", [role])


def load_role_left(conn: psycopg.Connection[Any], database: str) -> bool:
    row = conn.execute("select 1 from pg_roles where rolname = %s", [load_role_name(database)]).fetchone()
    return row is not None


def drop_load_role(admin: psycopg.Connection[Any], database: str) -> bool:
    """Drop the load role a killed restore of ``database`` left (ours: its name and comment say
    so, and it is no superuser). Its scratch database is dropped first by ``recover``."""
    import psycopg

    name = load_role_name(database)
    row = admin.execute(
        "select r.rolsuper, shobj_description(r.oid, 'pg_authid') from pg_roles r where r.rolname = %s", [name]
    ).fetchone()
    if row is None:
        return False
    if row[0] or row[1] != COMMENT:
        raise StackError(f"a role named {name} exists that stacktasks did not make; nothing was changed")
    end_role_sessions(admin, name)
    try:
        admin.execute(statement("drop owned by {}", name))
        admin.execute(statement("drop role {}", name))
    except psycopg.errors.DependentObjectsStillExist as error:
        raise StackError(
            f"the load role {name} of an interrupted restore still owns objects in another database: {error}",
            hint=f"drop them, then DROP ROLE {name}",
        ) from None
    return True


def reach_beyond(conn: psycopg.Connection[Any]) -> list[str]:
    """What of the connecting role's rights reaches beyond one database (said where a dump has
    to be applied with them)."""
    row = conn.execute(
        "select rolsuper, rolcreaterole, rolcreatedb from pg_roles where rolname = current_user"
    ).fetchone()
    rights = [name for name, held in zip(("superuser", "CREATEROLE", "CREATEDB"), row or (), strict=False) if held]
    for server_role in SERVER_ROLES:
        held = conn.execute("select pg_has_role(current_user, %s, 'USAGE')", [server_role]).fetchone()
        if held and held[0]:
            rights.append(server_role)
    return rights


def say_rights_used(project: Project, conn: psycopg.Connection[Any], target: DbTarget) -> None:
    """Where no role with fewer rights can be made (the user is no superuser), the dump runs with
    the user's own: say what of them reaches beyond the database."""
    rights = reach_beyond(conn)
    beyond = f", which include {', '.join(rights)}" if rights else ""
    project.runner.note(
        f"{target.user} is not a superuser, so stacktasks cannot create a role with fewer rights: "
        f"the dump is applied with {target.user}'s rights{beyond}"
    )
