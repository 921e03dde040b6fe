"""A source's raw value as a setting's type: TOML and YAML give typed values, environment
variables only text (a list comma-separated, a boolean spelled 1/0, true/false, yes/no, on/off)."""

from __future__ import annotations

import shlex
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

from .errors import USAGE, StackError


class SettingError(StackError):
    """A setting stacktasks cannot use: a usage error (exit 2), named with where it came from."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint, code=USAGE)


@dataclass(frozen=True)
class KeySpec:
    key: str
    type: Any
    argv: bool


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _describe(hint: Any) -> str:
    if hint is bool:
        return "true or false"
    if hint is int:
        return "a whole number"
    if hint is str:
        return "a string"
    if typing.get_origin(hint) is list:
        return "a list of strings"
    if typing.get_origin(hint) is Literal:
        choices = [str(choice) for choice in typing.get_args(hint)]
        return "one of " + ", ".join(choices[:-1]) + " or " + choices[-1]
    if _is_optional(hint):
        return f"{_describe(_non_none(hint))} or nothing"
    return str(hint)


def _is_optional(hint: Any) -> bool:
    return isinstance(hint, types.UnionType) and type(None) in typing.get_args(hint)


def _non_none(hint: Any) -> Any:
    return next(arg for arg in typing.get_args(hint) if arg is not type(None))


def coerce(spec: KeySpec, raw: Any, origin: str, from_text: bool = False) -> Any:
    """The value of ``raw`` as the key's type, or a StackError naming the key and the origin.

    ``from_text`` marks sources that only hold strings (environment variables): there a list is
    comma-separated and a boolean is spelled 1/0, true/false, yes/no or on/off.
    """
    hint = spec.type
    if _is_optional(hint):
        if raw is None:
            return None
        hint = _non_none(hint)
    wrong = SettingError(
        f"{origin}: setting '{spec.key}' must be {_describe(spec.type)}, got {raw!r}",
    )
    if hint is bool:
        if isinstance(raw, bool):
            return raw
        if from_text and isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE
        raise wrong
    if hint is int:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if from_text and isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
            return int(raw)
        raise wrong
    if hint is str:
        if isinstance(raw, str):
            return raw
        raise wrong
    if typing.get_origin(hint) is Literal:
        if isinstance(raw, str) and raw.strip() in typing.get_args(hint):
            return raw.strip()
        raise wrong
    if typing.get_origin(hint) is list:
        if isinstance(raw, str):
            if spec.argv:
                return shlex.split(raw)
            if from_text:
                return [part.strip() for part in raw.split(",") if part.strip()]
            raise wrong
        if isinstance(raw, (list, tuple)) and all(isinstance(item, str) for item in raw):
            return list(raw)
        raise wrong
    raise wrong  # pragma: no cover - a schema type this function does not know
