"""Which compose files a project reads, and what is wrong with them when compose cannot say."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from ..errors import USAGE, StackError
from ..settings import Settings, with_stage

COMPOSE_FILE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
#: What compose reads beside the compose file unasked (the first of them there, whatever the main file's name).
OVERRIDE_NAMES = (
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
)


def compose_file_paths(settings: Settings, env: Mapping[str, str]) -> list[Path]:
    """The compose files compose itself will read: ``compose_files``, else COMPOSE_FILE (from the
    environment or the env files, as compose reads it), else the first default name present."""
    directory = settings.directory
    configured = stage_files(settings)
    if configured:
        return with_includes([directory / name for name in configured])
    if env.get("COMPOSE_FILE"):
        separator = env.get("COMPOSE_PATH_SEPARATOR") or ":"
        return with_includes([directory / name for name in env["COMPOSE_FILE"].split(separator) if name])
    found = [directory / name for name in COMPOSE_FILE_NAMES if (directory / name).is_file()][:1]
    override = override_in(directory)
    if found and override:  # compose reads the first override file beside it unasked
        found.append(directory / override)
    return with_includes(found)


def override_in(directory: Path) -> str | None:
    """The override file compose reads in ``directory`` unasked (the first of its names there)."""
    return next((name for name in OVERRIDE_NAMES if (directory / name).is_file()), None)


def with_includes(files: list[Path]) -> list[Path]:
    """The files and, after each, those its top-level ``include:`` names (compose reads them too)."""
    whole: list[Path] = []
    for path in files:
        whole.append(path)
        whole += [included for included in included_files(path) if included not in whole]
    return whole


def included_files(path: Path) -> list[Path]:
    if not path.is_file() or b"include" not in path.read_bytes():
        return []
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, OSError, UnicodeDecodeError):
        return []
    entries = data.get("include") if isinstance(data, dict) else None
    names: list[str] = []
    for entry in entries if isinstance(entries, list) else []:
        given = entry.get("path") if isinstance(entry, dict) else entry
        names += [given] if isinstance(given, str) else [name for name in given or [] if isinstance(name, str)]
    return [path.parent / name for name in names if "://" not in name]


def stage_files(settings: Settings) -> list[str]:
    """compose_files with ``{stage}`` filled in; a per-stage overlay that does not exist is left out."""
    files = []
    for name in settings.compose_files:
        path = with_stage(name, settings.stage, "compose_files")
        if path != name and not (settings.directory / path).is_file():
            continue
        files.append(path)
    return files


def raise_missing_files(settings: Settings, files: Sequence[Path]) -> None:
    """No compose file where compose looks: say which compose-like files are there instead."""
    if files:
        return
    directory = settings.directory
    like = sorted(p.name for p in directory.glob("*compose*.y*ml")) if directory.is_dir() else []
    found = f"; compose-like files here: {', '.join(like)}" if like else ""
    hint = (
        f'set compose_files = ["{like[0]}"] under [tool.stacktasks], or COMPOSE_FILE={like[0]} in .env'
        if like
        else "create compose.yaml, or point stacktasks.project_directory at the stack"
    )
    raise StackError(f"no compose file in {directory} (compose.yaml, docker-compose.yml …){found}", hint=hint)


def raise_file_problems(settings: Settings, env: Mapping[str, str], files: Sequence[Path]) -> None:
    """Compose reports a YAML mistake with no file name and often the wrong line: name both. A
    missing compose file is said first (a missing env file, by env/setup.py, before this)."""
    import yaml

    raise_missing_files(settings, files)
    for path in files:
        try:
            yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            where = f"{path.name}:{mark.line + 1}:{mark.column + 1}" if mark else path.name
            problem = error.problem or error.context or "not valid YAML"
            raise StackError(f"{where}: {problem}", hint=f"fix {path}", code=USAGE) from None
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
