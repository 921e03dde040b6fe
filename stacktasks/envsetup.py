"""Env files against their examples: create them (env.init), compare them (env.check), show the
resolved values with where each came from (env.show)."""

from __future__ import annotations

import os
import secrets
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
    """(env file, its example, required) for every configured env file, ``{stage}`` filled in."""
    return [(path, example_for(path), required) for path, required in settings.env_file_paths()]


@dataclass
class InitResult:
    created: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)
    generated: dict[Path, list[str]] = field(default_factory=dict)
    no_example: list[Path] = field(default_factory=list)


def render_from_example(example: Path) -> tuple[str, list[str]]:
    """The example's text with every empty secret-looking value filled by a generated secret."""
    lines = []
    generated = []
    for line in example.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and "=" in stripped:
            head, _, value = line.partition("=")
            key = head.strip().removeprefix("export ").strip()
            if is_secret_key(key) and value.strip() in ("", '""', "''"):
                line = f"{head}={secrets.token_urlsafe(32)}"
                generated.append(key)
        lines.append(line)
    return "\n".join(lines) + "\n", generated


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
        text, generated = render_from_example(example)
        if not dry:
            _write_private(path, text)
        result.created.append(path)
        result.generated[path] = generated
    return result


def _write_private(path: Path, text: str) -> None:
    """Written whole or not at all, readable by its owner only (it holds secrets)."""
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


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
