"""What compose says about a stack's files that it does not say how to fix: variables it
interpolates as blanks, and files it rejects."""

from __future__ import annotations

import re
from pathlib import Path

from ..settings import Settings

UNSET = re.compile(r'The \\?"(\w+)\\?" variable is not set')


def unset_variables(stderr: str) -> list[str]:
    return sorted(set(UNSET.findall(stderr)))


def unset_variables_note(settings: Settings, unset: list[str]) -> str:
    """The variables compose left blank and, where one file here defines most of them (a
    variables file the stack's README passes with ``--env-file``), the setting that reads it."""
    from ..env.files import parse_env_file
    from ..env.setup import EXAMPLE_SUFFIXES

    shown = ", ".join(unset[:6]) + (f" and {len(unset) - 6} more" if len(unset) > 6 else "")
    said = f"compose warns that {len(unset)} variable(s) are not set, so it uses blanks: {shown}"
    read = {Path(name).name for name in settings.env_files}
    best, most = None, 0
    for path in sorted(settings.directory.glob("*env*")):
        if not path.is_file() or path.name in read or path.name.endswith(EXAMPLE_SUFFIXES):
            continue
        try:
            defined = set(parse_env_file(path))
        except (OSError, UnicodeDecodeError, ValueError):
            continue
        if len(defined & set(unset)) > most:
            best, most = path.name, len(defined & set(unset))
    if best is None:
        return f"{said}; set them in {settings.main_env_file}"
    return (
        f'{said}; {best} defines {most} of them: set env_files = ["{best}"] (under [tool.stacktasks]) '
        "and the tasks hand them to compose, as --env-file would"
    )


def rejected_file_hint(settings: Settings, stderr: str, version: str) -> str:
    """What to do when compose refuses the files outright (not a YAML error: a key or value)."""
    if required := re.search(r"required variable (\w+) is missing a value", stderr):
        variable = required.group(1)
        return f"set {variable} in {settings.main_env_file} (inv env.init makes the env files from their examples)"
    if re.search(r"additional propert|not allowed|unsupported|unknown", stderr, re.IGNORECASE):
        return (
            f"this compose ({version}) does not know something the file uses: the stack may need a newer "
            "compose (its README says which), or the line compose names is wrong"
        )
    return "compose names the file and what it rejects; `docker compose config` shows the same"
