"""Replacing a database with one made aside, for restore and rollback alike: ``<db>__restoring``
is made and filled (a dump loaded, a snapshot copied) and checked, then swapped in by one
transaction (swap.py); the replaced database is kept as ``<db>__undo``. A failure or a signal
before the swap drops what was made aside and leaves the database as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import interrupts_deferred
from .admin import aside_name, database_exists, database_oid, drop_database, is_superuser
from .loadrole import drop_load_role
from .swap import close_database, reopen_database, swap

if TYPE_CHECKING:
    import psycopg

    from ..project import Project


@dataclass(frozen=True)
class Replaced:
    kept_as: str | None  # the replaced database's new name, where there was one
    verified_tables: int
    ended_sessions: int


def replace_from_aside(
    project: Project, admin: psycopg.Connection[Any], database: str, fill: Callable[[str], int], what: str
) -> Replaced:
    """``fill(scratch)`` makes and fills the database aside and returns how many tables it
    checked; then the swap, only while ``database`` is still the database the run began with."""
    scratch, undo = aside_name(database, "__restoring"), aside_name(database, "__undo")
    expected = database_oid(admin, database)
    exists = expected is not None
    try:
        verified = fill(scratch)
    except BaseException:
        roll_back(project, admin, database, scratch, reopen=False)
        raise
    with interrupts_deferred() as deferred:  # from here the swap completes or rolls back; then a signal stops us
        try:
            ended = swap_in(
                project, admin, database, scratch, undo if exists else None, deferred.stop_requested, expected
            )
        except BaseException:
            roll_back(project, admin, database, scratch, reopen=exists)
            raise
        project.runner.note(f"{database} is now {what}")
    return Replaced(undo if exists else None, verified, ended)


def replace_with_spare(
    project: Project, admin: psycopg.Connection[Any], database: str, spare: str, what: str
) -> str | None:
    """``spare`` (a ready copy made before, spare.py) renamed into ``database``'s place in the swap's
    one transaction, which also opens it and gives it the database's owner; the replaced database
    kept as ``<db>__undo``. Nothing is made aside first, so nothing is dropped on failure: the
    spare stays a spare, and the database is opened again."""
    from .admin import database_owner
    from .spare import taken_into_place

    undo = aside_name(database, "__undo")
    expected = database_oid(admin, database)
    exists = expected is not None
    after = taken_into_place(database, database_owner(admin, database) if exists else None)
    with interrupts_deferred() as deferred:
        try:
            swap_in(project, admin, database, spare, undo if exists else None, deferred.stop_requested, expected, after)
        except BaseException:
            with interrupts_deferred():
                if exists and database_exists(admin, database):
                    reopen_database(admin, database)
            raise
        project.runner.note(f"{database} is now {what} (its ready spare, renamed into place)")
    return undo if exists else None


def roll_back(project: Project, admin: psycopg.Connection[Any], database: str, scratch: str, *, reopen: bool) -> None:
    with interrupts_deferred():  # the rollback itself must not be cut short
        project.runner.note(f"stopped before the swap: dropping {scratch}; {database} is untouched")
        if reopen and database_exists(admin, database):
            reopen_database(admin, database)
        drop_database(admin, scratch)
        if is_superuser(admin):
            drop_load_role(admin, database)


def swap_in(
    project: Project,
    admin: psycopg.Connection[Any],
    database: str,
    scratch: str,
    undo: str | None,
    stop_requested: Callable[[], int | None],
    expected: int | None,
    after: Sequence[Any] = (),
) -> int:
    """``database`` closed, then in one transaction ``undo`` -> ``<db>__undo_prev``, ``database`` ->
    ``undo`` and ``scratch`` -> ``database``, only while ``database`` is still the database
    ``expected`` (its oid when the run began); the previous undo copy is dropped only after."""
    if undo is None:
        project.runner.note(f"rename {scratch} to {database}")
        reopen = [database] if after else []
        swap(admin, [(scratch, database)], reopen, stop_requested, {database: None}, after)
        return 0
    spare = aside_name(database, "__undo_prev")
    project.runner.note(
        f"close {database} to new sessions, end its sessions, then in one transaction "
        f"rename it to {undo} and {scratch} to {database}"
    )
    ended = close_database(admin, database)
    renames = [(undo, spare)] if database_exists(admin, undo) else []
    renames += [(database, undo), (scratch, database)]
    reopen = [undo, database] if after else [undo]
    swap(admin, renames, reopen, stop_requested, {database: expected}, after)
    drop_database(admin, spare)
    return ended
