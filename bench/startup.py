"""`inv --list` with the stacktasks collection against bare Invoke on an empty tasks.py.

People type `inv` dozens of times a day, so start-up is measured: both commands run
interleaved in one process, the ratio of medians is printed. Target: ratio <= 1.15.

    python bench/startup.py [--runs 40]
"""

from __future__ import annotations

import argparse
import compileall
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

INV = str(Path(sys.executable).with_name("inv"))


def timed(cwd: Path, expect_tasks: bool) -> float:
    start = time.perf_counter()
    result = subprocess.run([INV, "--list"], cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    # Bare Invoke exits 1 on an empty collection ("No tasks found"): that is its start-up too.
    listed = result.returncode == 0 and "up " in result.stdout
    if listed != expect_tasks:
        raise SystemExit(f"unexpected `inv --list` in {cwd}: {result.stdout}{result.stderr}")
    return elapsed


def compile_as_installed() -> None:
    """As installed: pip byte-compiles a package, and Invoke's own modules are compiled here too.
    With PYTHONDONTWRITEBYTECODE set (as on CI machines) an editable checkout would otherwise be
    compiled from source at every start, which is not what a user's `inv` pays."""
    compileall.compile_dir(str(Path(__file__).resolve().parents[1] / "stacktasks"), quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=40)
    runs = parser.parse_args().runs
    compile_as_installed()
    work = Path(tempfile.mkdtemp(prefix="stacktasks-bench-"))
    try:
        bare, ours = work / "bare", work / "stacktasks"
        bare.mkdir()
        ours.mkdir()
        (bare / "tasks.py").write_text("")
        (ours / "tasks.py").write_text("from stacktasks import collection\nns = collection()\n")
        (ours / "compose.yaml").write_text("services:\n  api:\n    image: python:3.12-slim\n")
        timed(bare, False)  # warm the page cache and the bytecode
        timed(ours, True)
        bare_times, our_times = [], []
        for _ in range(runs):
            bare_times.append(timed(bare, False))
            our_times.append(timed(ours, True))
        bare_median, our_median = statistics.median(bare_times), statistics.median(our_times)
        print(f"inv --list, {runs} interleaved runs each (median):")
        print(f"  bare invoke, empty tasks.py : {bare_median * 1000:7.1f} ms")
        print(f"  stacktasks collection       : {our_median * 1000:7.1f} ms")
        print(f"  ratio                       : {our_median / bare_median:7.3f}  (target <= 1.15)")
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
