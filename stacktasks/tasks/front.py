"""The front namespace: build (alias build-astro) and watch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import stack_task

if TYPE_CHECKING:
    from ..project import Project


@stack_task(
    aliases=["build-astro"],
    help={"service": "the build-only frontend service (default: the front role)"},
)
def build(project: Project, service: str = "") -> None:
    """Run the build-only frontend container, then check what it wrote to front.dist.

    compose run --rm with its profile switched on; front.dist must exist, hold files, and be newer
    than the build.
    """
    from ..frontend import build_frontend

    result = build_frontend(project, service or None)
    if result is None:
        return
    where = f": {result.files} files in {result.dist}" if result.dist else " (set front.dist to check its output)"
    if result.unchecked:
        where = f" ({result.unchecked})"
    print(f"built {result.service} in {result.seconds:.1f}s{where}")


@stack_task(
    help={
        "service": "the build-only frontend service (default: the front role)",
        "interval": "seconds between looks at the source files",
    }
)
def watch(project: Project, service: str = "", interval: float = 1.0) -> None:
    """Build the frontend, then rebuild whenever a source file changes; Ctrl-C stops.

    The sources are front.watch, else the service's build context.
    """
    from ..frontend import BuildResult, watch_frontend

    def report(result: BuildResult | None, changes: list[str]) -> None:
        if changes:
            print(f"changed: {', '.join(changes[:3])}" + (" …" if len(changes) > 3 else ""), flush=True)
        if result:
            print(f"built {result.service} in {result.seconds:.1f}s; watching (Ctrl-C stops)", flush=True)

    try:
        watch_frontend(project, service or None, interval=interval, on_build=report)
    except KeyboardInterrupt:
        print("stopped watching")
