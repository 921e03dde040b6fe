"""The build-only frontend container: run it on demand, check what it produced, rebuild on change."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import StackError

if TYPE_CHECKING:
    from .project import Project

SKIPPED = {"node_modules", ".git", ".astro", ".cache", "__pycache__"}


@dataclass
class BuildResult:
    service: str
    dist: Path | None
    files: int
    seconds: float
    unchecked: str = ""  # why the output was not checked


def build_argv(project: Project, service: str) -> list[str]:
    """`compose run --rm --build` of the service, its profile switched on (build-only services sit under one)."""
    profiles = project.model().profiles(service)[:1]
    return project.compose().run_argv(service, project.settings.front.build, profiles=profiles, build=True)


def dist_path(project: Project) -> Path | None:
    dist = project.settings.front.dist
    return (project.settings.directory / dist).resolve() if dist else None


def newest_file(root: Path) -> tuple[int, float]:
    """(number of files, newest modification time) under ``root``."""
    count, newest = 0, 0.0
    for directory, names, files in os.walk(root):
        names[:] = [n for n in names if n not in SKIPPED]
        for name in files:
            count += 1
            newest = max(newest, os.stat(os.path.join(directory, name)).st_mtime)
    return count, newest


def check_dist(dist: Path, started: float) -> int:
    """The number of files in ``dist``; an error when it is missing, empty or older than ``started``."""
    if not dist.is_dir():
        raise StackError(f"the build left no {dist}", hint="check front.dist and the build's output folder")
    count, newest = newest_file(dist)
    if count == 0:
        raise StackError(f"the build left {dist} empty")
    if newest < started - 1:  # a second's slack: some filesystems keep whole seconds
        raise StackError(
            f"nothing in {dist} is newer than this build: it wrote its output elsewhere",
            hint="check front.dist and the volume the build writes through",
        )
    return count


def build_frontend(project: Project, service: str | None = None) -> BuildResult | None:
    target = project.service("front", service)
    dist = dist_path(project)
    started = time.time()
    argv = build_argv(project, target)
    code = project.runner.run(argv, check=False)
    if project.dry:
        if dist:
            project.runner.note(f"check that {dist} exists, is not empty and is newer than the build")
        return None
    if code:
        raise StackError(f"the frontend build ({target}) exited with {code}", code=code)
    if dist and not project.engine.local:  # a bind mount names the engine machine's folder, not ours
        why = f"{dist} is on the remote engine's machine: not checked from here"
        return BuildResult(target, None, 0, time.time() - started, unchecked=why)
    files = check_dist(dist, started) if dist else 0
    return BuildResult(target, dist, files, time.time() - started)


def source_paths(project: Project, service: str) -> list[Path]:
    """What a change to triggers a rebuild: front.watch if set, else the service's build context."""
    configured = project.settings.front.watch
    if configured:
        return [(project.settings.directory / path).resolve() for path in configured]
    build = project.model().services.get(service, {}).get("build")
    context = build.get("context") if isinstance(build, dict) else build
    if isinstance(context, str):
        return [(project.settings.directory / context).resolve()]
    raise StackError(f"cannot tell what to watch for {service}", hint="set front.watch to the source folders")


def snapshot(paths: list[Path], ignore: Path | None) -> dict[str, tuple[float, int]]:
    """(mtime, size) of every file under ``paths``, the build's own output left out."""
    state: dict[str, tuple[float, int]] = {}
    for root in paths:
        for directory, names, files in os.walk(root):
            names[:] = [n for n in names if n not in SKIPPED and (ignore is None or Path(directory, n) != ignore)]
            for name in files:
                path = os.path.join(directory, name)
                try:
                    info = os.stat(path)
                except FileNotFoundError:
                    continue
                state[path] = (info.st_mtime, info.st_size)
    return state


def changed_files(before: dict[str, tuple[float, int]], after: dict[str, tuple[float, int]]) -> list[str]:
    return sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))


def uses_compose_watch(project: Project, service: str) -> bool:
    develop = project.model().services.get(service, {}).get("develop") or {}
    return bool(isinstance(develop, dict) and develop.get("watch")) and project.compose().version.supports_watch


def watch_frontend(
    project: Project,
    service: str | None = None,
    *,
    interval: float = 1.0,
    rounds: int | None = None,
    on_build: Callable[[BuildResult | None, list[str]], None] | None = None,
) -> None:
    """Build, then rebuild whenever a source file changes, until Ctrl-C (or ``rounds`` polls).

    Where the compose file declares ``develop.watch`` for the service and compose has `watch`,
    compose's own watch does it instead (it knows the sync and rebuild rules written there)."""
    target = project.service("front", service)
    if uses_compose_watch(project, target):
        compose = project.compose()
        project.runner.note(f"{target} declares develop.watch: compose watch takes over (Ctrl-C stops)")
        argv = compose.watch_argv([target], profiles=project.model().profiles(target)[:1])
        code = project.runner.run(argv, check=False)
        if code and code != 130:
            raise StackError(f"compose watch of {target} exited with {code}", code=code)
        return
    paths = source_paths(project, target)
    ignore = dist_path(project)
    result = build_frontend(project, target)
    if project.dry:
        project.runner.note(
            f"then look at {len(paths)} source folder(s) every {interval:g}s and build again on a change"
        )
        return
    if on_build:
        on_build(result, [])
    state = snapshot(paths, ignore)
    polls = 0
    while rounds is None or polls < rounds:
        time.sleep(interval)
        polls += 1
        current = snapshot(paths, ignore)
        changes = changed_files(state, current)
        if not changes:
            continue
        try:
            result = build_frontend(project, target)
        except StackError as error:  # a broken edit: say so and keep watching
            print(f"front.watch: {error.message}", flush=True)
            result = None
        if on_build:
            on_build(result, changes)
        state = snapshot(paths, ignore)
