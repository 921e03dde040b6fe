"""The db namespace's snapshots: snapshot, snapshots, rollback (PostgreSQL's file-level copy)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import stack_task
from .hooks import NO_HOOKS_HELP, RESTORED, prepared_hooks

if TYPE_CHECKING:
    from ..db.snapshot import Snapshot
    from ..db.spare import MadeSpare
    from ..project import Project


@stack_task(
    help={
        "name": "the snapshot's name (default: the time, 20261124-101500)",
        "no-spare": "keep no ready spare (half the disk; db.rollback then copies the snapshot, seconds per GB)",
    }
)
def snapshot(project: Project, name: str = "", no_spare: bool = False) -> None:
    """Copy the database on the server in seconds (a file-level copy); db.rollback puts it back.

    The database's sessions are ended first: PostgreSQL copies a database only without them. Then a
    ready spare of the snapshot is copied beside it (the database already open again), which
    db.rollback renames into place at once: a snapshot costs twice its size on disk unless
    --no-spare. A role that may not create databases is refused (db.backup makes a dump instead).
    """
    from ..db.dumpfiles import human_size
    from ..db.snapshot import snapshot_database

    result = snapshot_database(project, name, spare=not no_spare)
    if result is None:
        return
    ended = f"; ended {result.ended} sessions on {result.database}" if result.ended else ""
    size = human_size(result.size)
    print(
        f"snapshot {result.snapshot} of {result.database} ({size}) in {result.seconds:.1f}s"
        f" ({result.database} open again after {result.reopened_after:.1f}s){ended}"
    )
    say_spares(result.spares)


def say_spares(spares: list[MadeSpare]) -> None:
    for made in spares:
        if made.failure:
            print(f"no ready spare of snapshot {made.snapshot}: {made.failure}; a rollback to it copies it instead")
        else:
            print(f"ready spare of snapshot {made.snapshot} made in {made.seconds:.1f}s")


@stack_task(
    help={
        "prune": "drop all but the newest --keep snapshots (asks first; --dry shows which)",
        "keep": "how many snapshots --prune keeps (default 3)",
        "yes": "confirm the prune without asking (for scripts)",
        "json": "print the snapshots as JSON (for scripts)",
    }
)
def snapshots(project: Project, prune: bool = False, keep: int = 3, yes: bool = False, json: bool = False) -> None:
    """List the database's snapshots, oldest first, with size and age; --prune drops old ones.

    Each snapshot's ready spare is shown with its size ('spare missing': the next db.snapshot or
    db.rollback makes it; 'no spare': taken with --no-spare).
    """
    from ..db.dumpfiles import human_size
    from ..db.snapshot import list_snapshots, prune_snapshots

    if prune:
        dropped = prune_snapshots(project, keep)
        verb = "would drop" if project.dry else "dropped"
        print(f"{verb} {len(dropped)} snapshot(s)" + (": " + ", ".join(s.name for s in dropped) if dropped else ""))
        return
    found = list_snapshots(project)
    if json:
        import json as json_module

        print(json_module.dumps({"snapshots": [snapshot_record(item) for item in found]}, indent=2))
        return
    if not found and not project.dry:
        print("no snapshots: inv db.snapshot takes one")
    for item in found:
        if item.spare and item.spare.ready:
            spare = f"+ spare {human_size(item.spare.size)}"
        else:
            spare = "no spare" if not item.wants_spare else "spare missing"
        print(
            f"{item.name:<24}  {human_size(item.size):>9}  {spare:<17}  {item.age():>5} old"
            f"  {item.created:%Y-%m-%d %H:%M:%S}"
        )


def snapshot_record(item: Snapshot) -> dict[str, object]:
    spare = item.spare
    return {
        "name": item.name,
        "database": item.database,
        "source": item.source,
        "created": item.created.isoformat(),
        "size": item.size,
        "spare": {"database": spare.database, "size": spare.size, "ready": spare.ready} if spare else None,
        "wants_spare": item.wants_spare,
    }


@stack_task(
    help={
        "name": "the snapshot to roll back to (default: the latest)",
        "yes": "confirm without asking (for scripts)",
        "no-hooks": NO_HOOKS_HELP,
    }
)
def rollback(project: Project, name: str = "", yes: bool = False, no_hooks: bool = False) -> None:
    """Replace the database with a snapshot (the latest by default), swapped in like a restore.

    The snapshot's ready spare is renamed into the database's place (no copy while the app waits),
    then the next spare is copied while the database already works; a snapshot without a spare is
    copied first, as before. The replaced database is kept as <db>__undo (inv db.undo puts it
    back); the snapshot stays.
    """
    from ..db.snapshot import rollback_database

    hooks = prepared_hooks(project, "after_restore", no_hooks)
    result = rollback_database(project, name)
    if result is None:
        hooks.run()
        return
    how = "its ready spare" if result.from_spare else "a copy"
    print(
        f"rolled {result.snapshot.source} back to its snapshot {result.snapshot.name} ({how}; "
        f"back after {result.back_after:.1f}s)"
    )
    say_spares(result.spares)
    print(f"the previous database is kept as {result.undo}: inv db.undo puts it back")
    hooks.run(done=RESTORED.format(what="rollback", database=result.snapshot.source))
