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

from .envfiles import LoadedEnv, is_secret_key, parse_env_file
from .errors import StackError
from .settings import Settings


def example_for(path: Path) -> Path | None:
    """``.env`` -> ``.env.example`` (also ``.env.sample``, ``.env.template``), when it exists."""
    for suffix in (".example", ".sample", ".template", ".dist"):
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

    from .compose_files import compose_file_paths

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


#: Secrets a stack makes up for itself: an app's own keys, and passwords of the services it runs.
OWNED_SECRET = re.compile(
    r"^(?:[A-Z0-9]+_)*(?:SECRET_KEY(?:_BASE)?|APP_KEY|SECRET|SALT|(?:JWT|SESSION|COOKIE|CSRF|ENCRYPTION|SIGNING"
    r"|OTP|HASH|MASTER)_(?:SECRET|KEY)(?:_BASE)?)$"
    r"|^(?:POSTGRES|PG|DB|DATABASE|REDIS|VALKEY|MYSQL|MARIADB|MONGO|RABBITMQ|AMQP|MINIO_ROOT|ELASTIC|MEILI"
    r"|QUESTDB|CLICKHOUSE|KEYCLOAK_ADMIN|ADMIN)(?:_[A-Z0-9]+)*_(?:PASSWORD|PASS|SECRET|KEY)$",
    re.IGNORECASE,
)
#: Names that come from an outside provider even when they look like the above.
PROVIDED = re.compile(
    r"SMTP|MAIL|AWS|S3_|STRIPE|MAPBOX|SENTRY|GOOGLE|GITHUB|GITLAB|TWILIO|SENDGRID|OPENAI|ANTHROPIC|SLACK|OAUTH"
    r"|CLIENT_SECRET|API_KEY|APIKEY|ACCESS_KEY|LICENSE|SUPABASE|FIREBASE|AZURE|GCP|PUSHER|ALGOLIA|RECAPTCHA",
    re.IGNORECASE,
)


def owned_secret(key: str, compose_text: str = "") -> bool:
    """Whether stacktasks may make this secret up: the stack owns it (see OWNED_SECRET), or a
    compose file of the stack passes it to a service (``${KEY}``); never a provider's key."""
    if PROVIDED.search(key):
        return False
    passed = bool(compose_text) and re.search(rf"\$\{{?{re.escape(key)}\b", compose_text) is not None
    return bool(OWNED_SECRET.match(key)) or (passed and is_secret_key(key))


def render_from_example(example: Path, compose_text: str = "") -> tuple[str, list[str], list[tuple[str, str]]]:
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
                if owned_secret(key, compose_text):
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
    from .compose_files import compose_file_paths

    texts = []
    for path in compose_file_paths(settings, dict(os.environ)):
        with contextlib.suppress(OSError, UnicodeDecodeError):
            texts.append(path.read_text(encoding="utf-8"))
    return "\n".join(texts)


def init_env_files(settings: Settings, *, force: bool = False, dry: bool = False) -> InitResult:
    result = InitResult()
    for path, example, required in env_file_pairs(settings):
        if example is None:
            if required and not path.exists():
                result.no_example.append(path)
            continue
        if path.exists() and not force:
            result.kept.append(path)
            continue
        text, generated, fill_in = render_from_example(example, compose_text(settings))
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
