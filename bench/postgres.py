"""db.backup and db.restore against the raw tools and the seeds' way, side by side in one run.

On a pgbench database of at least 1 GB on the host PostgreSQL (created if missing):

- backup: `inv db.backup` (wall time, and the peak RSS of the task's own process) against raw
  `pg_dump -Fc -f` (pg_dump's default compression) and `pg_dump -Fc -Z1 -f` (ours by default);
- restore: `inv db.restore --yes` (scratch database, verification of every table's row count,
  the swap, and dropping the previous undo copy all included) against raw `pg_restore -j N`
  into a fresh database and the seeds' `psql db < dump.sql`.

Runs interleave, medians are printed. Targets: backup <= 1.05x raw pg_dump; peak RSS <= 80 MB;
restore <= 0.95x the seeds' psql restore.

    python bench/postgres.py [--rounds 3] [--scale 70]

Needs the server scripts/setup --for-tests starts (STACKTASKS_TEST_PG_URL to use another).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

INV = str(Path(sys.executable).with_name("inv"))
ADMIN_URL = os.environ.get("STACKTASKS_TEST_PG_URL", "postgresql://stacktasks:stacktasks@127.0.0.1:5432/postgres")
DATABASE = "stacktasks_bench"


def libpq_env(dbname: str) -> dict[str, str]:
    parts = urlsplit(ADMIN_URL)
    return {
        **os.environ,
        "PGHOST": parts.hostname or "127.0.0.1",
        "PGPORT": str(parts.port or 5432),
        "PGUSER": parts.username or "postgres",
        "PGPASSWORD": parts.password or "",
        "PGDATABASE": dbname,
    }


def sh(argv: list[str], dbname: str = "postgres", **kwargs: object) -> None:
    subprocess.run(argv, env=libpq_env(dbname), check=True, **kwargs)  # type: ignore[call-overload]


def sql(statement: str, dbname: str = "postgres") -> str:
    result = subprocess.run(
        ["psql", "-XAtqc", statement], env=libpq_env(dbname), check=True, capture_output=True, text=True
    )
    return result.stdout.strip()


def timed(
    argv: list[str],
    dbname: str = "postgres",
    cwd: Path | None = None,
    stdin: Path | None = None,
    watch_rss: bool = False,
) -> tuple[float, int]:
    """Wall seconds, and the peak RSS (kB) of the process itself (not its children) when watched."""
    handle = stdin.open("rb") if stdin else subprocess.DEVNULL
    start = time.perf_counter()
    process = subprocess.Popen(
        argv, env=libpq_env(dbname), cwd=cwd, stdin=handle, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    peak = 0
    stop = threading.Event()

    def watch() -> None:
        nonlocal peak
        path = f"/proc/{process.pid}/status"
        while not stop.is_set():
            try:
                for line in open(path).read().splitlines():  # noqa: SIM115 - read at once
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
            except (OSError, ValueError):
                pass
            time.sleep(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    if watch_rss:
        watcher.start()
    _, stderr = process.communicate()
    elapsed = time.perf_counter() - start
    stop.set()
    if watch_rss:
        watcher.join()
    if stdin:
        handle.close()  # type: ignore[union-attr]
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {stderr.decode()[-2000:]}")
    return elapsed, peak


def ensure_database(scale: int) -> int:
    exists = sql(f"select 1 from pg_database where datname = '{DATABASE}'")
    if not exists:
        print(f"creating {DATABASE}: pgbench -i -s {scale} (about a minute)", flush=True)
        sh(["createdb", DATABASE])
        sh(["pgbench", "-i", "-q", "-s", str(scale), DATABASE], DATABASE, capture_output=True)
    sh(["vacuumdb", "--analyze", "-q", DATABASE], DATABASE)
    return int(sql("select pg_database_size(current_database())", DATABASE))


def fresh(name: str) -> None:
    sql(f'drop database if exists "{name}"')
    sql(f'create database "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=int, default=70, help="pgbench scale (70 is about 1 GB)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--backup-only", action="store_true", help="time the backups only (quicker, for the spread)")
    options = parser.parse_args()
    size = ensure_database(options.scale)
    if size < 1_000_000_000:
        raise SystemExit(f"{DATABASE} is {size / 1e9:.2f} GB; drop it and raise --scale")
    work = Path(tempfile.mkdtemp(prefix="stacktasks-bench-pg-"))
    project = work / "project"
    project.mkdir()
    (project / "tasks.py").write_text("from stacktasks import collection\nns = collection()\n")
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{DATABASE}"
    (project / ".env").write_text(f"DATABASE_URL={url}\n")
    (project / "pyproject.toml").write_text(f"[tool.stacktasks.db]\njobs = {options.jobs}\n")
    # As in a project whose database is hosted: a compose file (read for the placement rule), no db service.
    (project / "compose.yaml").write_text("services:\n  api:\n    image: python:3.12-slim\n")
    raw_dump, plain = work / "raw.dump", work / "plain.sql"
    results: dict[str, list[float]] = {
        k: []
        for k in (
            "pg_dump -Fc",
            "pg_dump -Fc -Z1",
            "inv db.backup",
            "psql < plain.sql",
            f"pg_restore -j {options.jobs}",
            "inv db.restore",
        )
    }
    rss: list[int] = []

    print(f"database {DATABASE}: {size / 1e9:.2f} GB; {options.rounds} rounds, interleaved", flush=True)
    sh(["pg_dump", "-Fc", "-f", str(raw_dump), DATABASE], DATABASE)  # warm the cache
    sh(["pg_dump", "-Fp", "-f", str(plain), DATABASE], DATABASE)
    for round_number in range(options.rounds):
        raw_dump.unlink(missing_ok=True)
        results["pg_dump -Fc"].append(timed(["pg_dump", "-Fc", "-f", str(raw_dump), DATABASE], DATABASE)[0])
        raw_dump.unlink()
        results["pg_dump -Fc -Z1"].append(timed(["pg_dump", "-Fc", "-Z1", "-f", str(raw_dump), DATABASE], DATABASE)[0])
        name = f"round{round_number}"
        seconds, peak = timed([INV, "db.backup", "--name", name], cwd=project, watch_rss=True)
        results["inv db.backup"].append(seconds)
        rss.append(peak)
        ours = project / "backups" / f"{name}.dump"
        if options.backup_only:
            print(f"round {round_number + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in results.items() if v))
            continue

        fresh("bench_psql")
        results["psql < plain.sql"].append(timed(["psql", "-X", "-q", "-d", "bench_psql"], stdin=plain)[0])
        sql('drop database "bench_psql"')
        fresh("bench_restore")
        results[f"pg_restore -j {options.jobs}"].append(
            timed(["pg_restore", "--no-owner", "--no-acl", f"-j{options.jobs}", "-d", "bench_restore", str(raw_dump)])[
                0
            ]
        )
        sql('drop database "bench_restore"')
        results["inv db.restore"].append(timed([INV, "db.restore", "--yes", "--file", str(ours)], cwd=project)[0])
        print(f"round {round_number + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in results.items()), flush=True)

    median = {key: statistics.median(values) for key, values in results.items() if values}
    print("\nmedians:")
    for key, value in median.items():
        print(f"  {key:<22} {value:7.2f} s")
    backup_ratio = median["inv db.backup"] / median["pg_dump -Fc"]
    print(f"\nbackup:  inv db.backup / pg_dump -Fc        = {backup_ratio:.3f}  (target <= 1.05)")
    print(f"         inv db.backup / pg_dump -Fc -Z1    = {median['inv db.backup'] / median['pg_dump -Fc -Z1']:.3f}")
    pairs = [a / b for a, b in zip(results["inv db.backup"], results["pg_dump -Fc"], strict=True)]
    print(f"         round by round: {min(pairs):.3f} to {max(pairs):.3f}")
    print(f"peak RSS of the inv db.backup process       = {max(rss) / 1024:.1f} MB  (target <= 80 MB)")
    if not options.backup_only:
        restore_ratio = median["inv db.restore"] / median["psql < plain.sql"]
        print(f"restore: inv db.restore / psql < plain.sql  = {restore_ratio:.3f}  (target <= 0.95)")
        print(
            f"         inv db.restore / pg_restore -j {options.jobs}  = "
            f"{median['inv db.restore'] / median[f'pg_restore -j {options.jobs}']:.3f}"
        )
    dump_size = (project / "backups" / "round0.dump").stat().st_size
    print(f"dump sizes: ours (-Z1) {dump_size / 1e6:.1f} MB, pg_dump -Fc {raw_dump.stat().st_size / 1e6:.1f} MB")
    out = Path(__file__).with_name("results")
    out.mkdir(exist_ok=True)
    (out / "postgres.json").write_text(
        json.dumps({"database_bytes": size, "runs": results, "medians": median, "peak_rss_kb": rss}, indent=2)
    )
    sql(f'drop database if exists "{DATABASE}__undo"')
    subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    main()
