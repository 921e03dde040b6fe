"""Typed settings and where each value came from.

The schema is the dataclasses below: a key is a field, a table is a nested dataclass, and the
type hint is the type a source must give. Sources, lowest to highest:

1. built-in defaults (the field defaults);
2. the compose model: roles no source set are detected from it (``roles.py``, a separate
   ``Roles`` value: settings never change once resolved);
3. ``[tool.stacktasks]`` in the project's pyproject.toml;
4. ``collection(**overrides)`` in the project's tasks.py;
5. Invoke's config: ``stacktasks:`` in invoke.yaml (system, user, project, runtime) and
   ``INVOKE_STACKTASKS_*`` environment variables;
6. task flags.

Every resolved value is recorded in ``Settings.sources`` under its dotted key, so that
``inv doctor`` can say where it came from.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Iterator, Mapping
from dataclasses import Field, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Literal

from .values import KeySpec, SettingError, coerce

#: Field metadata for argv-like keys: a string is accepted and split like a shell would.
ARGV = {"argv": True}

DEFAULT_SOURCE = "default"


def with_stage(name: str, stage: str, setting: str) -> str:
    """``name`` with ``{stage}`` filled in; any other placeholder is a setting error, said plainly."""
    try:
        return name.format(stage=stage)
    except (KeyError, IndexError, ValueError) as error:
        raise SettingError(
            f"{setting}: {name!r} has a placeholder stacktasks does not fill ({error})",
            hint="the one placeholder is {stage}; write a literal brace as {{ or }}",
        ) from None


@dataclass(frozen=True)
class AppSettings:
    service: str | None = None
    prefix: list[str] = field(default_factory=list, metadata=ARGV)
    migrate: str | None = None
    makemigrations: str | None = None
    seed: list[str] = field(default_factory=list, metadata=ARGV)
    test: list[str] = field(default_factory=lambda: ["pytest"], metadata=ARGV)
    test_service: str | None = None
    test_compose_files: list[str] = field(default_factory=list)


#: Where the env files' URL and the stack's service differ, which the tasks use (placement.py).
TargetChoice = Literal["auto", "service", "url"]
#: Where a URL database's client tools run (db/tools.py).
ClientChoice = Literal["auto", "host", "container"]


@dataclass(frozen=True)
class DbSettings:
    service: str | None = None
    url_env: str = "DATABASE_URL"
    direct_url_env: str = "DIRECT_URL"
    name: str | None = None
    user: str | None = None
    backup_dir: str = "backups"
    keep_automatic: int = 5
    compress: int = 1
    jobs: int = 0
    client: ClientChoice = "auto"
    client_image: str = "postgres:{major}"
    wait_timeout: int = 60
    maintenance_db: str = "postgres"
    target: TargetChoice = "auto"
    sanitize: list[str] = field(default_factory=list)  # SQL run in a restored copy (db/sanitize.py)
    sanitize_file: str | None = None  # a project .sql file run after them, in the same transaction
    seed_dump: str | None = None  # what `onboard` puts into a new database: a path, or stage:NAME


@dataclass(frozen=True)
class RedisSettings:
    service: str | None = None
    url_env: str = "REDIS_URL"
    ratelimit_patterns: list[str] = field(default_factory=lambda: ["ratelimit:*"])
    target: TargetChoice = "auto"
    password_file: str | None = None  # a file on this machine holding the password (redis/password.py)


@dataclass(frozen=True)
class FrontSettings:
    service: str | None = None
    build: list[str] = field(default_factory=list, metadata=ARGV)
    dist: str | None = None
    watch: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class HooksSettings:
    """Task names or commands run after (or before) a task's own work (hooks.py)."""

    after_up: list[str] = field(default_factory=list)
    after_restore: list[str] = field(default_factory=list)  # also after db.undo, db.rollback, db.pull
    after_onboard: list[str] = field(default_factory=list)
    before_reset: list[str] = field(default_factory=list)


#: The table of the stack's own commands: read when the collection is built (commands.py).
COMMANDS_TABLE = "commands"


@dataclass(frozen=True)
class Settings:
    docker_context: str | None = None
    stage_contexts: list[str] = field(default_factory=list)  # "STAGE=CONTEXT": a stage's own engine
    compose_command: list[str] = field(default_factory=list, metadata=ARGV)
    compose_files: list[str] = field(default_factory=list)
    project_name: str | None = None
    project_directory: str = "."
    profiles: list[str] = field(default_factory=list)
    env_files: list[str] = field(default_factory=lambda: [".env"])
    required_env_files: list[str] = field(default_factory=list)
    stage: str = "dev"
    protected_stages: list[str] = field(default_factory=lambda: ["prod", "production", "staging"])
    echo: bool = True
    app: AppSettings = field(default_factory=AppSettings)
    db: DbSettings = field(default_factory=DbSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    front: FrontSettings = field(default_factory=FrontSettings)
    hooks: HooksSettings = field(default_factory=HooksSettings)
    # Not settable: where the project lives and where each value came from.
    root: Path = field(default_factory=Path.cwd, metadata={"internal": True})
    sources: dict[str, str] = field(default_factory=dict, metadata={"internal": True})

    @property
    def directory(self) -> Path:
        """The compose project directory, absolute."""
        return (self.root / self.project_directory).resolve()

    @property
    def main_env_file(self) -> str:
        """The env file a hint tells the user to edit: the first one the tasks read."""
        return self.env_files[0] if self.env_files else ".env"

    @property
    def is_protected(self) -> bool:
        return self.stage in self.protected_stages

    def engine_context(self) -> str | None:
        """The docker context to use: ``docker_context``, else the one ``stage_contexts`` gives
        this stage (``staging=staging-vm``), else None: whatever docker itself uses."""
        if self.docker_context:
            return self.docker_context
        for pair in self.stage_contexts:
            stage, separator, context = pair.partition("=")
            if not separator or not stage.strip() or not context.strip():
                raise SettingError(
                    f"setting 'stage_contexts' holds {pair!r}: each entry is STAGE=CONTEXT",
                    hint="for example stage_contexts: [staging=staging-vm]",
                )
            if stage.strip() == self.stage:
                return context.strip()
        return None

    def get(self, key: str) -> Any:
        target: Any = self
        for part in key.split("."):
            target = getattr(target, part)
        return target

    def env_file_paths(self) -> list[tuple[Path, bool]]:
        """Env files in load order, ``{stage}`` filled in, each with whether it is required."""
        paths = [(name, False) for name in self.env_files]
        paths += [(name, True) for name in self.required_env_files]
        return [(self.root / with_stage(name, self.stage, "env_files"), required) for name, required in paths]


def _walk(cls: type, prefix: str = "") -> Iterator[tuple[str, type, Field[Any]]]:
    """(dotted key, owning dataclass, field) of every settable leaf.

    A table is recognised by its default factory being a dataclass, so the walk evaluates no
    type hints, so building the schema stays cheap.
    """
    for f in fields(cls):
        if f.metadata.get("internal"):
            continue
        factory = f.default_factory
        if isinstance(factory, type) and is_dataclass(factory):
            yield from _walk(factory, f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}", cls, f


@functools.cache
def schema() -> dict[str, KeySpec]:
    """Every settable key with its type; built on first use (type hints cost start-up time)."""
    hints: dict[type, dict[str, Any]] = {}
    specs = {}
    for key, owner, f in _walk(Settings):
        if owner not in hints:
            hints[owner] = typing.get_type_hints(owner)
        specs[key] = KeySpec(key, hints[owner][f.name], bool(f.metadata.get("argv")))
    return specs


@functools.cache
def tables() -> frozenset[str]:
    return frozenset(key.split(".")[0] for key in schema() if "." in key)


def setting_keys() -> tuple[str, ...]:
    """Every settable dotted key, in schema order (keys.SETTING_KEYS must equal this)."""
    return tuple(key for key, _, _ in _walk(Settings))


def flatten(data: Mapping[str, Any], origin: str, prefix: str = "") -> dict[str, Any]:
    """Dotted keys of a nested source, unknown keys refused with a suggestion."""
    flat: dict[str, Any] = {}
    known, table_names = schema(), tables()
    for name, value in data.items():
        key = f"{prefix}{name}"
        if key == COMMANDS_TABLE and isinstance(value, Mapping):
            continue  # each entry becomes a task when the collection is built: commands.py checks them
        if key in table_names:
            if not isinstance(value, Mapping):
                raise SettingError(f"{origin}: '{key}' must be a table of settings, got {value!r}")
            flat.update(flatten(value, origin, f"{key}."))
        elif key in known:
            flat[key] = value
        else:
            import difflib

            close = difflib.get_close_matches(key, [*known, *table_names], n=1)
            hint = f"did you mean '{close[0]}'?" if close else "see the configuration reference"
            raise SettingError(f"{origin}: unknown setting '{key}'", hint=hint)
    return flat


def _assign(settings: Settings, key: str, value: Any, source: str) -> None:
    """Settings are frozen once resolved; only the sources below, while resolving, write to them."""
    *path, leaf = key.split(".")
    target: Any = settings
    for part in path:
        target = getattr(target, part)
    object.__setattr__(target, leaf, value)
    settings.sources[key] = source


def apply_source(settings: Settings, data: Mapping[str, Any], origin: str, from_text: bool = False) -> None:
    """Lay one source over the settings; None leaves a key to the sources below it."""
    for key, raw in flatten(data, origin).items():
        if raw is None:
            continue
        _assign(settings, key, coerce(schema()[key], raw, origin, from_text), origin)


def read_pyproject(root: Path) -> tuple[dict[str, Any], str] | None:
    """``[tool.stacktasks]`` of the project's pyproject.toml, with its origin label."""
    path = root / "pyproject.toml"
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    if b"stacktasks" not in data:  # no table of ours can be in it: the TOML parser is not loaded
        return None
    import tomllib

    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SettingError(f"{path}: not valid TOML ({error})") from None
    table = document.get("tool", {}).get("stacktasks")
    if table is None:
        return None
    return table, f"{path} [tool.stacktasks]"


def default_settings(root: Path) -> Settings:
    settings = Settings(root=root)
    for key in schema():
        settings.sources[key] = DEFAULT_SOURCE
    return settings


def resolve(
    root: Path,
    collection_overrides: Mapping[str, Any] | None = None,
    invoke_layers: list[tuple[Mapping[str, Any], str, bool]] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> Settings:
    """Settings from every source but the compose model (roles: ``roles.resolve_roles``).

    ``invoke_layers`` are (data, origin, from_text) triples from Invoke's config levels, lowest
    first; ``flags`` are dotted keys given on a task's command line.
    """
    settings = default_settings(root)
    pyproject = read_pyproject(root)
    if pyproject is not None:
        apply_source(settings, *pyproject)
    if collection_overrides:
        apply_source(settings, collection_overrides, "tasks.py collection()")
    for data, origin, from_text in invoke_layers or []:
        apply_source(settings, data, origin, from_text)
    for key, value in (flags or {}).items():
        if value is not None:
            _assign(settings, key, coerce(schema()[key], value, f"flag --{key}"), "task flag")
    return settings


def is_default(settings: Settings, key: str) -> bool:
    return settings.sources.get(key) == DEFAULT_SOURCE


def check_overrides(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``collection(**overrides)`` at import, so a typo fails on `inv --list` already."""
    if overrides:
        apply_source(Settings(root=Path.cwd()), overrides, "tasks.py collection()")
    return dict(overrides)
