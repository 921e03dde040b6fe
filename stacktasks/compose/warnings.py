"""What compose says about a stack's files that it does not say how to fix: variables it
interpolates as blanks, and files it rejects."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from ..settings import Settings

if TYPE_CHECKING:
    from .client import Compose

UNSET = re.compile(r'The \\?"(\w+)\\?" variable is not set')
EXAMPLE_SUFFIXES = (".example", ".sample", ".template", ".dist")


def check_config(compose: Compose, result: subprocess.CompletedProcess[str]) -> list[str]:
    """Refuse a ``config`` that failed, with a hint; say once which variables compose left blank
    (returned)."""
    if result.returncode != 0:
        compose.raise_yaml_problem()
        failure = compose.runner.failure(result.args, result.returncode, result.stderr)
        failure.hint = rejected_file_hint(compose.settings, result.stderr, compose.version.text)
        raise failure
    unset = unset_variables(result.stderr)
    if unset:
        compose.runner.note_once(unset_variables_note(compose.settings, unset))
    return unset


def raise_config_problem(compose: Compose, failed: Exception) -> None:
    """After a compose command failed: where the files themselves are what compose refuses, say
    so with a hint (one ``config`` call, on the failure path only); else return."""
    from ..errors import ChildFailed

    compose.raise_yaml_problem()
    if not isinstance(failed, ChildFailed) or failed.returncode <= 0:
        return  # killed, or not compose's own refusal
    result = compose.runner.capture(compose.argv("config", "--quiet"), check=False)
    if result.returncode != 0:
        check_config(compose, result)


def unset_variables(stderr: str) -> list[str]:
    return sorted(set(UNSET.findall(stderr)))


def unset_variables_note(settings: Settings, unset: list[str]) -> str:
    """The variables compose left blank and, where one file here defines most of them (a
    variables file the stack's README passes with ``--env-file``), the setting that reads it."""
    from ..env.files import parse_env_file

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
        return f"{said}; set them in {settings.env_files[0] if settings.env_files else '.env'}"
    return (
        f'{said}; {best} defines {most} of them: set env_files = ["{best}"] (under [tool.stacktasks]) '
        "and the tasks hand them to compose, as --env-file would"
    )


def rejected_file_hint(settings: Settings, stderr: str, version: str) -> str:
    """What to do when compose refuses the files outright (not a YAML error: a key or value)."""
    if required := re.search(r"required variable (\w+) is missing a value", stderr):
        env_file = settings.env_files[0] if settings.env_files else ".env"
        return f"set {required.group(1)} in {env_file} (inv env.init makes the env files from their examples)"
    if re.search(r"additional propert|not allowed|unsupported|unknown", stderr, re.IGNORECASE):
        return (
            f"this compose ({version}) does not know something the file uses: the stack may need a newer "
            "compose (its README says which), or the line compose names is wrong"
        )
    return "compose names the file and what it rejects; `docker compose config` shows the same"
