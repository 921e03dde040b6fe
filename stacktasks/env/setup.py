"""Env files against their examples: create them (env.init), compare them (env.check), show the
resolved values with where each came from (env.show)."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import StackError
from ..settings import Settings
from .files import LoadedEnv, is_secret_key, parse_env_file

#: What an env file's example is called: the env file's name and one of these.
EXAMPLE_SUFFIXES = (".example", ".sample", ".template", ".dist")


def example_for(path: Path) -> Path | None:
    """``.env`` -> ``.env.example`` (also ``.env.sample``, ``.env.template``), when it exists."""
    for suffix in EXAMPLE_SUFFIXES:
        candidate = path.with_name(path.name + suffix)
        if candidate.is_file():
            return candidate
    return None


def env_file_pairs(settings: Settings) -> list[tuple[Path, Path | None, bool]]:
    """(env file, its example, required) for every configured env file (``{stage}`` filled in) and
    every ``env_file:`` the compose files declare (compose fails without them)."""
    declared = declared_env_files(settings)
    paths = [(path, required or path in declared) for path, required in settings.env_file_paths()]
    known = {path for path, _ in paths}
    paths += [(path, True) for path in declared if path not in known]
    return [(path, example_for(path), required) for path, required in paths]


def declared_env_files(settings: Settings, env: Mapping[str, str] | None = None) -> list[Path]:
    """The required ``env_file:`` entries of the compose files, read from their YAML (compose's own
    model inlines them, and cannot be read at all while one is missing)."""
    import yaml

    from ..compose.files import compose_file_paths

    if env is None:
        dotenv = settings.directory / ".env"
        env = {**(parse_env_file(dotenv) if dotenv.is_file() else {}), **os.environ}
    found: list[Path] = []
    for compose_file in compose_file_paths(settings, env):
        try:
            document = yaml.safe_load(compose_file.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue
        services = document.get("services") if isinstance(document, dict) else None
        for service in (services or {}).values():
            entries = service.get("env_file") if isinstance(service, dict) else None
            for entry in [entries] if isinstance(entries, str | dict) else entries or []:
                name = entry.get("path") if isinstance(entry, dict) else entry
                required = entry.get("required", True) if isinstance(entry, dict) else True
                path = (compose_file.parent / str(name)).resolve() if name else None
                if path is not None and required is not False and path not in found:
                    found.append(path)
    return found


@dataclass
class InitResult:
    created: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)
    generated: dict[Path, list[str]] = field(default_factory=dict)
    fill_in: dict[Path, list[tuple[str, str]]] = field(default_factory=dict)
    no_example: list[Path] = field(default_factory=list)


#: Secrets an app makes up for itself (Django's SECRET_KEY, Rails' SECRET_KEY_BASE, Laravel's APP_KEY …).
APP_SECRET = re.compile(
    r"(?:SECRET_KEY(?:_BASE)?|APP_KEY|SECRET|SALT|(?:JWT|SESSION|COOKIE|CSRF|ENCRYPTION|SIGNING|OTP|HASH|MASTER)"
    r"_(?:SECRET|KEY)(?:_BASE)?)",
    re.IGNORECASE,
)
PREFIXED_APP_SECRET = re.compile(rf"(?P<prefix>[A-Z0-9_]+?)_{APP_SECRET.pattern}", re.IGNORECASE)
#: Passwords of the services a stack runs itself.
SERVICE_PASSWORD = re.compile(
    r"^(?:POSTGRES|PG|DB|DATABASE|REDIS|VALKEY|MYSQL|MARIADB|MONGO|RABBITMQ|AMQP|MINIO_ROOT|ELASTIC|MEILI"
    r"|QUESTDB|CLICKHOUSE|KEYCLOAK_ADMIN|ADMIN)(?:_[A-Z0-9]+)*_(?:PASSWORD|PASS|SECRET|KEY)$",
    re.IGNORECASE,
)
#: Names that come from an outside provider even when they look like the above.
PROVIDED = re.compile(
    r"SMTP|MAIL|AWS|S3_|STRIPE|MAPBOX|SENTRY|GOOGLE|GITHUB|GITLAB|TWILIO|SENDGRID|OPENAI|ANTHROPIC|SLACK|OAUTH"
    r"|CLIENT_SECRET|API_KEY|APIKEY|ACCESS_KEY|LICENSE|SUPABASE|FIREBASE|AZURE|GCP|PUSHER|ALGOLIA|RECAPTCHA",
    re.IGNORECASE,
)
#: Prefixes that still name the app itself.
OWN_PREFIXES = frozenset({"APP", "DJANGO", "RAILS", "LARAVEL", "FLASK", "NEXTAUTH", "AUTH", "SITE", "WEB", "API"})


def owned_secret(key: str, compose_text: str = "", own: frozenset[str] = frozenset()) -> bool:
    """Whether stacktasks may make this secret up: a service password of the stack, an app secret
    with no prefix or one naming the stack (``own``: its services and project, upper-cased), or a
    secret a compose file passes to a service (``${KEY}``). A prefix naming anything else is a
    provider's (``DROPBOX_APP_KEY``): no list of providers is complete, so it is never made up."""
    if PROVIDED.search(key):
        return False
    if SERVICE_PASSWORD.match(key):
        return True
    if APP_SECRET.fullmatch(key):
        return True
    if prefixed := PREFIXED_APP_SECRET.fullmatch(key):
        prefix = prefixed.group("prefix").upper()
        return prefix in OWN_PREFIXES or prefix in own or prefix.replace("_", "-") in own
    passed = bool(compose_text) and re.search(rf"\$\{{?{re.escape(key)}\b", compose_text) is not None
    return passed and is_secret_key(key)


def stack_names(settings: Settings) -> frozenset[str]:
    """The stack's own names, upper-cased: its compose services and its directory's name."""
    import yaml

    from ..compose.files import compose_file_paths

    names = {settings.directory.name.upper()}
    for path in compose_file_paths(settings, dict(os.environ)):
        with contextlib.suppress(OSError, UnicodeDecodeError, yaml.YAMLError):
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            services = data.get("services") if isinstance(data, dict) else None
            names |= {str(name).upper() for name in services or {}}
    return frozenset(names)


def render_from_example(
    example: Path, compose_text: str = "", own: frozenset[str] = frozenset()
) -> tuple[str, list[str], list[tuple[str, str]]]:
    """The example's text with the empty secrets the stack owns generated; the others to fill in,
    each with the comment the example gives it."""
    lines: list[str] = []
    generated: list[str] = []
    fill_in: list[tuple[str, str]] = []
    comment = ""
    for line in example.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            comment = stripped.lstrip("# ")
        elif stripped and "=" in stripped:
            head, _, value = line.partition("=")
            key = head.strip().removeprefix("export ").strip()
            if is_secret_key(key) and value.strip() in ("", '""', "''"):
                if owned_secret(key, compose_text, own):
                    line = f"{head}={secrets.token_urlsafe(32)}"
                    generated.append(key)
                else:
                    fill_in.append((key, comment))
            comment = ""
        else:
            comment = ""
        lines.append(line)
    return "\n".join(lines) + "\n", generated, fill_in


def compose_text(settings: Settings) -> str:
    """The compose files' text, to see which variables they pass to services."""
    from ..compose.files import compose_file_paths

    texts = []
    for path in compose_file_paths(settings, dict(os.environ)):
        with contextlib.suppress(OSError, UnicodeDecodeError):
            texts.append(path.read_text(encoding="utf-8"))
    return "\n".join(texts)


def init_env_files(settings: Settings, *, force: bool = False, dry: bool = False) -> InitResult:
    result = InitResult()
    stack: tuple[str, frozenset[str]] | None = None  # what the compose files pass and name, read once
    for path, example, required in env_file_pairs(settings):
        if example is None:
            if required and not path.exists():
                result.no_example.append(path)
            continue
        if path.exists() and not force:
            result.kept.append(path)
            continue
        if stack is None:
            stack = compose_text(settings), stack_names(settings)
        text, generated, fill_in = render_from_example(example, *stack)
        if not dry:
            _write_private(path, text)
        result.created.append(path)
        result.generated[path] = generated
        result.fill_in[path] = fill_in
    return result


def _write_private(path: Path, text: str) -> None:
    """Written whole or not at all, readable by its owner only (it holds secrets): into a new file
    of a name no one could have planted (O_EXCL, never through a link), then renamed over ``path``
    (which replaces a link there, not what it points at)."""
    import secrets

    partial = path.with_name(f"{path.name}.partial-{secrets.token_hex(6)}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


@dataclass
class FileComparison:
    path: Path
    example: Path | None
    exists: bool
    missing: list[str]
    extra: list[str]
    empty: list[str]

    @property
    def ok(self) -> bool:
        return self.exists and not self.missing


def compare_env_files(settings: Settings) -> list[FileComparison]:
    """Per env file that has an example: keys it lacks, keys the example lacks, keys left empty."""
    comparisons = []
    for path, example, required in env_file_pairs(settings):
        if example is None:
            if required and not path.exists():
                comparisons.append(FileComparison(path, None, False, [], [], []))
            continue
        expected = parse_env_file(example)
        if not path.exists():
            comparisons.append(FileComparison(path, example, False, sorted(expected), [], []))
            continue
        actual = parse_env_file(path)
        comparisons.append(
            FileComparison(
                path,
                example,
                True,
                missing=[key for key in expected if key not in actual],
                extra=[key for key in actual if key not in expected],
                empty=[key for key in expected if key in actual and not actual[key] and expected[key]],
            )
        )
    return comparisons


def why_no_values(settings: Settings, env: LoadedEnv) -> str:
    """Why no value is loaded: the env files read (none there), and those the compose files hand
    to their services, which the tasks do not read unless ``env_files`` names them."""
    read = ", ".join(
        f"{shown(settings, env_file.path)} ({'empty' if env_file.found else 'absent'})" for env_file in env.files
    )
    said = f"no values: the tasks read {read or 'no env file (env_files is empty)'}"
    given = [path for path in declared_env_files(settings, env.values) if path.is_file()]
    if given:
        names = ", ".join(f'"{shown(settings, path)}"' for path in given)
        said += (
            f"; the compose files give their services {names}, which compose reads for them; "
            f"for the tasks to read them too, set env_files = [{names}]"
        )
    return said


def shown(settings: Settings, path: Path) -> str:
    try:
        return str(path.resolve().relative_to(settings.directory.resolve()))
    except ValueError:
        return str(path)


def resolved_values(env: LoadedEnv) -> list[tuple[str, str, str]]:
    """(key, value shown safely, where it came from) for every key the env files define."""
    rows = []
    for key in sorted(env.values):
        value = env.values[key]
        shown = "***" if is_secret_key(key) and value else env.masker(value)
        rows.append((key, shown, env.sources.get(key, "")))
    return rows


def require_examples(settings: Settings) -> None:
    if not any(example for _, example, _ in env_file_pairs(settings)):
        raise StackError(
            "no env file has an example to start from",
            hint="commit a .env.example next to each env file (env_files in [tool.stacktasks])",
        )


def raise_missing_env_files(settings: Settings, env: Mapping[str, str]) -> None:
    """An ``env_file:`` that is not there stops compose itself: say how to make it."""
    for path in declared_env_files(settings, env):
        if not path.exists():
            example = example_for(path)
            hint = f"inv env.init creates it from {example.name}" if example else f"create {path}"
            raise StackError(f"{path} is missing: the compose file's env_file needs it", hint=hint)
