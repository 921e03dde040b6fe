"""db.snapshot and db.rollback of a 1 GB database, beside db.backup and db.restore of the same, in
one run (the host PostgreSQL, a project whose DATABASE_URL names it). Target: snapshot and
rollback each <= 2 s.

    python bench/snapshot.py [--rounds 3] [--scale 70]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from postgres import ADMIN_URL, DATABASE, INV, ensure_database


def inv(project: Path, *args: str) -> float:
    start = time.perf_counter()
    result = subprocess.run([INV, *args], cwd=project, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"inv {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=int, default=70)
    options = parser.parse_args()
    size = ensure_database(options.scale)
    project = Path(tempfile.mkdtemp(prefix="stacktasks-bench-snapshot-"))
    (project / "tasks.py").write_text("from stacktasks import collection\nns = collection()\n")
    (project / ".env").write_text(f"DATABASE_URL={ADMIN_URL.rsplit('/', 1)[0]}/{DATABASE}\n")
    times: dict[str, list[float]] = {}
    try:
        for round_number in range(options.rounds):
            steps = {
                "db.snapshot": ("db.snapshot", "--name", f"bench{round_number}"),
                "db.rollback": ("db.rollback", "--yes"),
                "db.backup": ("db.backup",),
                "db.restore": ("db.restore", "--latest", "--yes"),
            }
            for label, args in steps.items():
                times.setdefault(label, []).append(inv(project, *args))
            print(f"round {round_number + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items()), flush=True)
        print(f"\n{DATABASE}: {size / 1e9:.2f} GB; medians of {options.rounds} rounds")
        for label, values in times.items():
            print(f"  {label:<12} {statistics.median(values):6.2f}s")
    finally:
        subprocess.run([INV, "db.snapshots", "--prune", "--keep", "0", "--yes"], cwd=project, capture_output=True)
        shutil.rmtree(project, ignore_errors=True)


if __name__ == "__main__":
    main()
