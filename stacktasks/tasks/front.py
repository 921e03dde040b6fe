"""The front namespace: build (alias build-astro) and watch."""

from __future__ import annotations

from invoke.context import Context

from . import stack_task


@stack_task(
    aliases=["build-astro"],
    help={"service": "the build-only frontend service (default: the front role)"},
)
def build(c: Context, service: str = "") -> None:
    """Run the build-only frontend container (compose run --rm, its profile switched on), then check
    that front.dist exists, is not empty and was written by this build."""
    from ..frontend import build_frontend
    from ..project import Project

    project = Project.from_context(c)
    result = build_frontend(project, service or None)
    if result is None:
        return
    where = f": {result.files} files in {result.dist}" if result.dist else " (set front.dist to check its output)"
    print(f"built {result.service} in {result.seconds:.1f}s{where}")


@stack_task(
    help={
        "service": "the build-only frontend service (default: the front role)",
        "interval": "seconds between looks at the source files",
    }
)
def watch(c: Context, service: str = "", interval: float = 1.0) -> None:
    """Build the frontend, then rebuild whenever a source file changes (front.watch, else the
    service's build context). Ctrl-C stops."""
    from ..frontend import BuildResult, watch_frontend
    from ..project import Project

    def report(result: BuildResult | None, changes: list[str]) -> None:
        if changes:
            print(f"changed: {', '.join(changes[:3])}" + (" …" if len(changes) > 3 else ""), flush=True)
        if result:
            print(f"built {result.service} in {result.seconds:.1f}s; watching (Ctrl-C stops)", flush=True)

    project = Project.from_context(c)
    try:
        watch_frontend(project, service or None, interval=interval, on_build=report)
    except KeyboardInterrupt:
        print("stopped watching")
