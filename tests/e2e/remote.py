"""The second engine the remote-engine tests run the demo on (scripts/remote-engine): its own
dockerd in its own network namespace, reached over tcp and over ssh at an address that is not
loopback."""

from __future__ import annotations

import os
import shutil
import subprocess

from tests.helpers import REPO, engine_missing

ADDRESS = "10.203.0.2"
NAMESPACE = "/run/netns/stacktasks-remote"  # the engine's machine, as a network namespace
TCP_HOST = f"tcp://{ADDRESS}:2375"
SSH_HOST = f"ssh://root@{ADDRESS}"
AUDIT = REPO / "tests/e2e/audit"  # its sitecustomize records where every connection went
#: What the demo builds from and runs, where the public images stand in for themselves.
PUBLIC_IMAGES = ("python:3.12-slim", "node:22-alpine", "postgres:16-alpine", "redis:7-alpine")


def demo_images() -> list[str]:
    standins = REPO / "examples/demo/standins.env"
    lines = standins.read_text().splitlines() if standins.exists() else []
    images = [line.partition("=")[2] for line in lines if "=" in line]
    return images or list(PUBLIC_IMAGES)


def remote_engine_missing() -> str | None:
    """Start the second engine (idempotent) with the demo's images; why it cannot run, or None."""
    reason = engine_missing()
    if reason:
        return reason
    if os.geteuid() != 0:
        return "a second engine in its own network namespace needs root"
    for tool in ("ip", "nsenter", "ssh"):
        if not shutil.which(tool):
            return f"{tool} is not installed (iproute2, util-linux, openssh-client)"
    started = subprocess.run(
        [str(REPO / "scripts/remote-engine"), "start", *demo_images()], capture_output=True, text=True, timeout=600
    )
    if started.returncode != 0:
        return f"scripts/remote-engine start failed: {(started.stdout + started.stderr).strip()[-400:]}"
    return None


def docker_on(docker_host: str, *args: str, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    """`docker ARGS` against one engine, whatever the caller's environment points at."""
    env = {**os.environ, "DOCKER_HOST": docker_host}
    env.pop("DOCKER_CONTEXT", None)
    return subprocess.run(["docker", *args], capture_output=True, text=True, env=env, timeout=timeout)
