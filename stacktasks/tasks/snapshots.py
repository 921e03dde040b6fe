"""The db namespace's snapshots: snapshot, snapshots, rollback (PostgreSQL's file-level copy)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import stack_task

if TYPE_CHECKING:
    from ..project import Project


@stack_task(help={"name": "the snapshot's name (default: the time, 20261124-101500)"})
def snapshot(project: Project, name: str = "") -> None:
    """Copy the database on the server in seconds (a file-level copy); db.rollback puts it back.

    The database's sessions are ended first: PostgreSQL copies a database only without them. A
    role that may not create databases is refused (db.backup makes a dump instead).
    """
    from ..db.dumpfiles import human_size
    from ..db.snapshot import snapshot_database

    result = snapshot_database(project, name)
    if result is None:
        return
    ended = f"; ended {result.ended} sessions on {result.database}" if result.ended else ""
    size = human_size(result.size)
    print(f"snapshot {result.snapshot} of {result.database} ({size}) in {result.seconds:.1f}s{ended}")


@stack_task(
    help={
        "prune": "drop all but the newest --keep snapshots (asks first; --dry shows which)",
        "keep": "how many snapshots --prune keeps (default 3)",
        "yes": "confirm the prune without asking (for scripts)",
    }
)
def snapshots(project: Project, prune: bool = False, keep: int = 3, yes: bool = False) -> None:
    """List the database's snapshots, oldest first, with size and age; --prune drops old ones."""
    from ..db.dumpfiles import human_size
    from ..db.snapshot import list_snapshots, prune_snapshots

    if prune:
        dropped = prune_snapshots(project, keep)
        verb = "would drop" if project.dry else "dropped"
        print(f"{verb} {len(dropped)} snapshot(s)" + (": " + ", ".join(s.name for s in dropped) if dropped else ""))
        return
    found = list_snapshots(project)
    if not found and not project.dry:
        print("no snapshots: inv db.snapshot takes one")
    for item in found:
        print(f"{item.name:<24}  {human_size(item.size):>9}  {item.age():>5} old  {item.created:%Y-%m-%d %H:%M:%S}")


@stack_task(
    help={
        "name": "the snapshot to roll back to (default: the latest)",
        "yes": "confirm without asking (for scripts)",
    }
)
def rollback(project: Project, name: str = "", yes: bool = False) -> None:
    """Replace the database with a snapshot (the latest by default), swapped in like a restore.

    The replaced database is kept as <db>__undo (inv db.undo puts it back); the snapshot stays.
    """
    from ..db.snapshot import rollback_database

    result = rollback_database(project, name)
    if result is None:
        return
    snapshot, undo = result
    print(f"rolled {snapshot.source} back to its snapshot {snapshot.name}")
    print(f"the previous database is kept as {undo}: inv db.undo puts it back")
