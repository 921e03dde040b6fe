"""db.snapshot and db.rollback of a 1 GB database, measured from outside the task, in one run:
a rollback to a snapshot with its ready spare (renamed into place) against one taken with
--no-spare (copied back, as before spares), interleaved each round.

A second connection polls pg_database every 2 ms while each task runs, and gives:
- rollback: the time from the start of the `inv db.rollback` process until the database is back
  under its name (a new database, by oid, that accepts connections), and the window in which the
  name accepted no connections (closed for the swap, or missing);
- snapshot: the time from the start of `inv db.snapshot` until the database accepts connections
  again after the copy (the app waits only this long; the spare is made after).

Targets: rollback back within 0.5 s, its closed window within 0.1 s; the snapshot's time until
sessions are allowed again no more than before spares (1.25 s).

    python bench/snapshot.py [--rounds 5] [--scale 70]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from postgres import ADMIN_URL, DATABASE, INV, ensure_database

POLL = 0.002


@dataclass
class Seen:
    """What the poller saw of the database's name while one task ran (seconds from its start)."""

    first_closed: float | None = None
    reopened: float | None = None  # the same database accepting connections again after closed
    back: float | None = None  # a new database under the name, accepting connections
    samples: int = 0
    stop: threading.Event = field(default_factory=threading.Event)


def watch(seen: Seen, started: float, old_oid: int) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        while not seen.stop.is_set():
            row = conn.execute("select oid, datallowconn from pg_database where datname = %s", [DATABASE]).fetchone()
            now = time.perf_counter() - started
            seen.samples += 1
            open_now = bool(row and row[1])
            if not open_now and seen.first_closed is None:
                seen.first_closed = now
            if open_now and row and int(row[0]) != old_oid and seen.back is None:
                seen.back = now
            if open_now and seen.first_closed is not None and seen.reopened is None:
                seen.reopened = now
            time.sleep(POLL)


def oid() -> int:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        row = conn.execute("select oid from pg_database where datname = %s", [DATABASE]).fetchone()
        assert row, f"{DATABASE} is missing"
        return int(row[0])


def timed(project: Path, *args: str) -> tuple[float, Seen, str]:
    """The whole task's time, what the poller saw, and the task's output."""
    seen = Seen()
    before = oid()
    started = time.perf_counter()
    poller = threading.Thread(target=watch, args=(seen, started, before), daemon=True)
    poller.start()
    result = subprocess.run([INV, *args], cwd=project, capture_output=True, text=True)
    total = time.perf_counter() - started
    time.sleep(0.05)  # a last sample after the task
    seen.stop.set()
    poller.join()
    if result.returncode != 0:
        raise SystemExit(f"inv {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return total, seen, result.stdout + result.stderr


def spare_seconds(output: str) -> float:
    found = re.findall(r"ready spare of snapshot \S+ made in ([0-9.]+)s", output)
    return sum(float(value) for value in found)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def spread(values: list[float]) -> str:
    return f"{min(values):.3f} to {max(values):.3f}" if values else "-"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scale", type=int, default=70)
    options = parser.parse_args()
    size = ensure_database(options.scale)
    project = Path(tempfile.mkdtemp(prefix="stacktasks-bench-snapshot-"))
    (project / "tasks.py").write_text("from stacktasks import collection\nns = collection()\n")
    (project / ".env").write_text(f"DATABASE_URL={ADMIN_URL.rsplit('/', 1)[0]}/{DATABASE}\n")
    figures: dict[str, list[float]] = {}

    def note(label: str, value: float | None) -> None:
        if value is not None:
            figures.setdefault(label, []).append(value)

    try:
        for number in range(options.rounds):
            total, seen, output = timed(project, "db.snapshot", "--name", f"spare{number}")
            note("snapshot: until sessions allowed again", seen.reopened)
            note("snapshot: whole task (spare included)", total)
            note("snapshot: the spare's copy", spare_seconds(output))
            total, seen, _ = timed(project, "db.snapshot", "--name", f"lean{number}", "--no-spare")
            note("snapshot --no-spare: until sessions allowed again", seen.reopened)
            note("snapshot --no-spare: whole task", total)
            for label, name in (("rollback from the spare", f"spare{number}"), ("rollback by copy", f"lean{number}")):
                total, seen, output = timed(project, "db.rollback", "--yes", "--name", name)
                note(f"{label}: back under its name", seen.back)
                if seen.back is not None:
                    note(f"{label}: closed window", seen.back - (seen.first_closed or seen.back))
                note(f"{label}: whole task", total)
                if spare_seconds(output):
                    note(f"{label}: the next spare's copy", spare_seconds(output))
            subprocess.run([INV, "db.snapshots", "--prune", "--keep", "0", "--yes"], cwd=project, capture_output=True)
            print(f"round {number + 1} of {options.rounds} done", flush=True)
        print(f"\n{DATABASE}: {size / 1e9:.2f} GB; medians of {options.rounds} rounds (min to max), polled every 2 ms")
        for label, values in figures.items():
            print(f"  {label:<52} {median(values):7.3f}s  ({spread(values)})")
        spare, copy = (
            median(figures.get(f"{k}: back under its name", []))
            for k in ("rollback from the spare", "rollback by copy")
        )
        window = median(figures.get("rollback from the spare: closed window", []))
        reopened = median(figures.get("snapshot: until sessions allowed again", []))
        print(
            f"\nrollback back under its name: {spare:.3f}s from the spare, {copy:.3f}s by copy "
            f"({copy / spare:.1f}x); target <= 0.5s"
        )
        print(f"rollback's closed window: {window:.3f}s; target <= 0.1s")
        print(f"snapshot until sessions allowed again: {reopened:.3f}s; target <= 1.25s")
    finally:
        subprocess.run([INV, "db.snapshots", "--prune", "--keep", "0", "--yes"], cwd=project, capture_output=True)
        shutil.rmtree(project, ignore_errors=True)


if __name__ == "__main__":
    main()
