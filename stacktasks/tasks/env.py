"""The env namespace: init, check, show."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from . import shown_path, stack_task

if TYPE_CHECKING:
    from ..env.setup import FileComparison
    from ..project import Project


@stack_task(help={"force": "overwrite env files that exist (they are replaced by a fresh copy of the example)"})
def init(project: Project, force: bool = False) -> None:
    """Create each env file from its example, generating the secrets it leaves empty.

    Empty secret values (*_SECRET, *_KEY, *_PASSWORD…) get generated secrets. Existing files are
    never overwritten without --force.
    """
    from ..env.setup import init_env_files, require_examples
    from ..errors import StackError

    # Settings only: the env files are what is being made, so they are not loaded first.
    require_examples(project.settings)
    dry = project.dry
    result = init_env_files(project.settings, force=force, dry=dry)
    prefix = "[dry-run] would create" if dry else "created"
    for path in result.created:
        generated = result.generated.get(path) or []
        note = f" (generated: {', '.join(generated)})" if generated else ""
        print(f"{prefix} {shown_path(path)}{note}")
        for key, comment in result.fill_in.get(path) or []:
            print(f"  fill in {key}: " + (comment or "a value from outside this stack (not generated)"))
    for path in result.kept:
        print(f"kept {shown_path(path)}: it exists (--force replaces it)")
    for path in result.no_example:
        print(f"missing {shown_path(path)}: no example to create it from")
    if result.no_example:
        raise StackError("required env files have no example", hint="create them by hand")


@stack_task(help={"json": "print the comparison as JSON (for scripts); the exit code is the same"})
def check(project: Project, json: bool = False) -> None:
    """Compare each env file with its example: keys missing (an error), extra or left empty."""
    from ..env.setup import compare_env_files
    from ..errors import StackError

    comparisons = compare_env_files(project.settings)
    if json:
        import json as json_module

        files = [
            {
                **vars(item),
                "path": str(item.path),
                "example": str(item.example) if item.example else None,
                "ok": item.ok,
            }
            for item in comparisons
        ]
        print(json_module.dumps({"ok": all(item.ok for item in comparisons), "files": files}, indent=2))
    elif not comparisons:
        print("no env file has an example to compare with")
    else:
        _print_comparisons(comparisons)
    failed = [shown_path(item.path) for item in comparisons if not item.ok]
    if failed:
        raise StackError(f"env files lack keys: {', '.join(failed)}", hint="add them, or run inv env.init --force")


def _print_comparisons(comparisons: list[FileComparison]) -> None:
    for item in comparisons:
        name = shown_path(item.path)
        if not item.exists:
            fix = f" (inv env.init creates it from {shown_path(item.example)})" if item.example else ""
            print(f"FAIL {name}: missing{fix}")
            continue
        status = "FAIL" if item.missing else "ok  "
        print(f"{status} {name} against {shown_path(item.example) if item.example else '?'}")
        for key in item.missing:
            print(f"     missing: {key}")
        for key in item.extra:
            print(f"     extra:   {key} (not in the example)")
        for key in item.empty:
            print(f"     empty:   {key} (the example has a value)")


@stack_task()
def show(project: Project) -> None:
    """Print every value the env files define, where it came from, secrets masked."""
    from ..env.setup import resolved_values, why_no_values

    rows = resolved_values(project.env)
    if not rows:
        print(why_no_values(project.settings, project.env))
        return
    width = max(len(key) for key, _, _ in rows)
    value_width = min(48, max(len(value) for _, value, _ in rows))
    for key, value, source in rows:
        print(f"{key:<{width}}  {value:<{value_width}}  {shown_path(Path(source)) if '/' in source else source}")
