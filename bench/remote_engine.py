"""db.backup and db.restore of a 1 GB database through a remote engine, against the same on the
local engine, side by side in one run.

A one-service stack (the demo's PostgreSQL image, its port published on the engine machine's
127.0.0.1, as the demo does) runs on three engines: the local one; the second engine of
scripts/remote-engine over tcp; the same engine over ssh, once with the task's own connection and
once where the user's ssh config keeps one open (ControlMaster auto, ControlPersist: a Match block
put first in /root/.ssh/config for the run, removed after). The database is made once (pgbench -i
in the local service) and carried to the remote one by the first restore. Runs interleave;
medians and the ratios remote/local are printed. Target: each ratio <= 1.10.

    python bench/remote_engine.py [--rounds 3] [--scale 70]

Needs scripts/setup --for-tests and root (scripts/remote-engine starts the second engine).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
INV = str(Path(sys.executable).with_name("inv"))
NAME = "stacktasks-bench-remote"
ENGINES = {
    "local": "unix:///var/run/docker.sock",
    "remote tcp": "tcp://10.203.0.2:2375",
    "remote ssh": "ssh://root@10.203.0.2",
    "remote ssh, kept": "ssh://root@10.203.0.2",
}
KEPT = "STACKTASKS_BENCH_KEPT_SSH"
KEPT_BLOCK = (
    f'Match host 10.203.0.2 exec "test x${KEPT} = x1"\n'
    "  ControlMaster auto\n  ControlPath /tmp/stacktasks-bench-cm-%C\n  ControlPersist 300\n"
)
SSH_CONFIG = Path("/root/.ssh/config")
COMPOSE = """\
services:
  db:
    image: ${POSTGRES_IMAGE:-postgres:16-alpine}
    environment:
      POSTGRES_USER: bench
      POSTGRES_PASSWORD: bench-password
      POSTGRES_DB: bench
    ports:
      - "127.0.0.1:25432:5432"
    volumes:
      - pgdata:/var/lib/postgresql/data
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U bench -d bench"]
      interval: 1s
      timeout: 3s
      retries: 60
volumes:
  pgdata:
"""


def environment(docker_host: str, kept: bool = False) -> dict[str, str]:
    env = {**os.environ, "DOCKER_HOST": docker_host, "INVOKE_STACKTASKS_PROJECT_NAME": NAME}
    env.pop("DOCKER_CONTEXT", None)
    if kept:
        env[KEPT] = "1"
    return env


def inv(project: Path, docker_host: str, *args: str, kept: bool = False) -> float:
    start = time.perf_counter()
    env = environment(docker_host, kept)
    result = subprocess.run([INV, *args], cwd=project, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"inv {' '.join(args)} on {docker_host} failed:\n{result.stdout}{result.stderr}")
    return elapsed


def compose(project: Path, docker_host: str, *args: str) -> None:
    subprocess.run(
        ["docker", "compose", "-p", NAME, *args], cwd=project, env=environment(docker_host), check=True,
        capture_output=True,
    )  # fmt: skip


def start_remote_engine() -> argparse.Namespace:
    """The options (--rounds, --scale), once scripts/remote-engine has started the second engine
    with the demo's images."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=int, default=70, help="pgbench scale (70 is about 1 GB)")
    options = parser.parse_args()
    images = (REPO / "examples/demo/standins.env").read_text().splitlines()
    subprocess.run(
        [str(REPO / "scripts/remote-engine"), "start", *(line.split("=", 1)[1] for line in images)], check=True
    )
    return options


def main() -> None:
    options = start_remote_engine()
    project = Path(tempfile.mkdtemp(prefix="stacktasks-bench-remote-"))
    (project / "compose.yaml").write_text(COMPOSE)
    (project / "tasks.py").write_text("from stacktasks import collection\nns = collection()\n")
    shutil.copy(REPO / "examples/demo/standins.env", project / ".env")
    ssh_config = SSH_CONFIG.read_text() if SSH_CONFIG.exists() else ""
    SSH_CONFIG.write_text(KEPT_BLOCK + ssh_config)
    try:
        for docker_host in ENGINES.values():
            if docker_host.startswith("ssh"):
                continue  # the same engine as tcp
            compose(project, docker_host, "up", "-d", "--wait")
        print(f"pgbench -i -s {options.scale} in the local service", flush=True)
        compose(project, ENGINES["local"], "exec", "-T", "db", "pgbench", "-i", "-q", "-s", str(options.scale),
                "-U", "bench", "bench")  # fmt: skip
        inv(project, ENGINES["local"], "db.backup")
        dump = max((project / "backups").glob("*.dump"))
        print(f"the dump: {dump.stat().st_size / 1e6:.0f} MB", flush=True)
        inv(project, ENGINES["remote tcp"], "db.restore", "--file", str(dump), "--yes")  # carries the data there
        times: dict[tuple[str, str], list[float]] = {}
        for round_number in range(options.rounds):
            for label, docker_host in ENGINES.items():
                kept = label.endswith("kept")
                backup = inv(project, docker_host, "db.backup", kept=kept)
                restore = inv(project, docker_host, "db.restore", "--file", str(dump), "--yes", kept=kept)
                times.setdefault((label, "backup"), []).append(backup)
                times.setdefault((label, "restore"), []).append(restore)
                print(f"round {round_number + 1} {label}: backup {backup:.1f}s, restore {restore:.1f}s", flush=True)
        print(f"\nmedians of {options.rounds} rounds")
        for step in ("backup", "restore"):
            local = statistics.median(times["local", step])
            print(f"  {step} local {local:.1f}s")
            for label in ("remote tcp", "remote ssh", "remote ssh, kept"):
                remote = statistics.median(times[label, step])
                print(f"  {step} {label} {remote:.1f}s  ratio {remote / local:.2f}")
    finally:
        SSH_CONFIG.write_text(SSH_CONFIG.read_text().replace(KEPT_BLOCK, "", 1))
        subprocess.run(
            ["ssh", "-O", "exit", "-l", "root", "10.203.0.2"], env=environment("", True), capture_output=True
        )
        for docker_host in (ENGINES["local"], ENGINES["remote tcp"]):
            subprocess.run(["docker", "compose", "-p", NAME, "down", "-v"], cwd=project, env=environment(docker_host),
                           capture_output=True)  # fmt: skip
        shutil.rmtree(project, ignore_errors=True)


if __name__ == "__main__":
    main()
