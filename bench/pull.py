"""db.pull of a 1 GB database from a stage on the second engine, against what a user does without
it: a backup there (`INVOKE_STACKTASKS_STAGE=staging inv db.backup`), then a restore here of that
file; interleaved, medians, in one run. Target: the pull <= 1.15x the two, one after the other.

The stack is remote_engine.py's one-service PostgreSQL; staging is it on the second engine (a
docker context that `stage_contexts` names), this stack is it on the local engine. The database is
made once there (pgbench -i). Sanitising rules are left out (`--no-sanitize`) so both sides do
the same work.

    python bench/pull.py [--rounds 3] [--scale 70]
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from remote_engine import COMPOSE, ENGINES, INV, NAME, REPO, compose, environment, start_remote_engine

CONTEXT = "stacktasks-bench-pull"


def timed(project: Path, *args: str, stage: str = "dev") -> float:
    env = {**environment(ENGINES["local"]), "INVOKE_STACKTASKS_STAGE": stage}
    env.pop("DOCKER_HOST")  # the stage's context decides, as a user's setting would
    start = time.perf_counter()
    result = subprocess.run([INV, *args], cwd=project, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"inv {' '.join(args)} ({stage}) failed:\n{result.stdout}{result.stderr}")
    return elapsed


def main() -> None:
    options = start_remote_engine()
    subprocess.run(["docker", "context", "rm", "-f", CONTEXT], capture_output=True)
    subprocess.run(["docker", "context", "create", CONTEXT, "--docker", f"host={ENGINES['remote tcp']}"], check=True,
                   capture_output=True)  # fmt: skip
    project = Path(tempfile.mkdtemp(prefix="stacktasks-bench-pull-"))
    (project / "compose.yaml").write_text(COMPOSE)
    (project / "tasks.py").write_text("from stacktasks import collection\nns = collection()\n")
    (project / "pyproject.toml").write_text(f'[tool.stacktasks]\nstage_contexts = ["staging={CONTEXT}"]\n')
    shutil.copy(REPO / "examples/demo/standins.env", project / ".env")
    try:
        for docker_host in (ENGINES["local"], ENGINES["remote tcp"]):
            compose(project, docker_host, "up", "-d", "--wait")
        print(f"pgbench -i -s {options.scale} in staging's service", flush=True)
        compose(project, ENGINES["remote tcp"], "exec", "-T", "db", "pgbench", "-i", "-q", "-s", str(options.scale),
                "-U", "bench", "bench")  # fmt: skip
        times: dict[str, list[float]] = {"pull": [], "backup there": [], "restore here": []}
        for number in range(options.rounds):
            times["pull"].append(timed(project, "db.pull", "--from", "staging", "--yes", "--no-sanitize"))
            name = f"round{number}"
            times["backup there"].append(timed(project, "db.backup", "--name", name, stage="staging"))
            dump = project / "backups" / f"{name}.dump"
            times["restore here"].append(timed(project, "db.restore", "--yes", "--file", str(dump)))
            print(f"round {number + 1}: " + ", ".join(f"{k} {v[-1]:.1f}s" for k, v in times.items()), flush=True)
        pull = statistics.median(times["pull"])
        sums = [b + r for b, r in zip(times["backup there"], times["restore here"], strict=True)]
        both = statistics.median(sums)
        pairs = [p / s for p, s in zip(times["pull"], sums, strict=True)]
        print(f"\nmedians of {options.rounds} rounds: pull {pull:.1f}s, backup there + restore here {both:.1f}s")
        print(f"ratio {pull / both:.2f} (round by round {min(pairs):.2f} to {max(pairs):.2f}); target <= 1.15")
    finally:
        for docker_host in (ENGINES["local"], ENGINES["remote tcp"]):
            subprocess.run(["docker", "compose", "-p", NAME, "down", "-v"], cwd=project, env=environment(docker_host),
                           capture_output=True)  # fmt: skip
        subprocess.run(["docker", "context", "rm", "-f", CONTEXT], capture_output=True)
        shutil.rmtree(project, ignore_errors=True)


if __name__ == "__main__":
    main()
