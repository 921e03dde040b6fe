"""What a task adds over the command it runs: `inv ps`, `inv exec cache -- true` and
`inv logs --tail 1` against the same commands in a hand-written Invoke task, on the same running
two-service stack, run alternately, whole processes, medians and the ratio of medians.
Target: each ratio <= 1.15.

    python bench/overhead.py [--runs 20]
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
from startup import compile_as_installed

INV = str(Path(sys.executable).with_name("inv"))
NAME = "stacktasks-bench-overhead"
COMPOSE = """services:
  cache:
    image: redis:7-alpine
  web:
    image: redis:7-alpine
    depends_on: [cache]
"""
HAND = f"""from invoke import task


@task
def ps(c):
    c.run("docker compose -p {NAME} ps")


@task(name="exec")
def exec_(c, service, cmd=""):
    c.run(f"docker compose -p {NAME} exec -T {{service}} {{cmd}}")


@task
def logs(c, tail=""):
    c.run(f"docker compose -p {NAME} logs --tail {{tail}}")
"""
CASES = {
    "ps": (["ps"], ["ps"]),
    "exec cache -- true": (["exec", "cache", "--", "true"], ["exec", "cache", "--cmd", "true"]),
    "logs --tail 1": (["logs", "--tail", "1"], ["logs", "--tail", "1"]),
}


def timed(cwd: Path, args: list[str]) -> float:
    start = time.perf_counter()
    result = subprocess.run([INV, *args], cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"inv {' '.join(args)} in {cwd} failed:\n{result.stdout}{result.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    compile_as_installed()
    root = Path(tempfile.mkdtemp(prefix="stacktasks-bench-overhead-"))
    ours, hand = root / "stacktasks", root / "hand"
    for folder, tasks in ((ours, "from stacktasks import collection\nns = collection()\n"), (hand, HAND)):
        folder.mkdir()
        (folder / "compose.yaml").write_text(COMPOSE)
        (folder / "tasks.py").write_text(tasks)
    (ours / "pyproject.toml").write_text(f'[tool.stacktasks]\nproject_name = "{NAME}"\n')
    subprocess.run(["docker", "compose", "-p", NAME, "up", "-d", "--wait"], cwd=hand, check=True, capture_output=True)
    try:
        for case, (our_args, hand_args) in CASES.items():
            timed(ours, our_args), timed(hand, hand_args)  # warm: caches, page cache
            mine, theirs = [], []
            for _ in range(runs):
                mine.append(timed(ours, our_args))
                theirs.append(timed(hand, hand_args))
            a, b = statistics.median(mine), statistics.median(theirs)
            pairs = sorted(x / y for x, y in zip(mine, theirs, strict=True))
            print(
                f"inv {case:<20} stacktasks {a * 1000:6.0f} ms  hand-written {b * 1000:6.0f} ms  ratio {a / b:5.2f}"
                f"  (pair by pair {pairs[0]:.2f} to {pairs[-1]:.2f})"
            )
    finally:
        subprocess.run(["docker", "compose", "-p", NAME, "down", "-v"], cwd=hand, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
    print("target: each ratio <= 1.15")


if __name__ == "__main__":
    main()
