"""Layered .env loading and the masking of secrets in everything printed.

Files load in order, a later file overriding an earlier one; the process environment wins over
every file, as compose itself does for interpolation. The merged values go into the environment
of every compose and subprocess call.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import StackError

#: Key names whose values are secrets wherever they are printed.
SECRET_KEY = re.compile(
    r"PASS(WORD|WD)?|SECRET|TOKEN|PRIVATE|CREDENTIAL|API_?KEY|_KEY$|^KEY$|AUTH|DSN|SALT|COOKIE|(?:^|_)PWD?(?:$|_)",
    re.IGNORECASE,
)
#: The password part of a URL: scheme://user:PASSWORD@host, parsed as clients parse it (urllib,
#: libpq, redis-py): the user ends at the first ':', the password at the LAST '@' before the host,
#: so a password with an unencoded '@' is hidden whole.
URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/\s?#@]*:)(?P<password>[^\s]*?)(?=@[^@\s]*(?:\s|$))", re.I)
#: A password given as a URL's query parameter (libpq's ``?password=``).
QUERY_PASSWORD = re.compile(r"(?P<head>[?&](?:password|pass|passwd|pwd)=)(?P<password>[^&\s#]+)", re.I)
#: KEY=VALUE where KEY looks secret, as in `-e POSTGRES_PASSWORD=...` or `PGPASSWORD=...`.
SECRET_ASSIGNMENT = re.compile(r"(?P<key>\b[A-Za-z_][A-Za-z0-9_]*)=(?P<value>[^\s'\"]+)")
MASK = "***"
#: Shorter secrets are only masked in KEY=VALUE and URL form, not as bare words in any text.
MIN_BARE_SECRET = 6
#: What a ``*_FILE`` holds is masked as a word from this length on (shorter: only in KEY=VALUE).
MIN_FILE_SECRET = 3
#: A long enough secret is masked as a bare word whatever it is made of.
LONG_SECRET = 16


def maskable_as_word(secret: str) -> bool:
    """Whether a secret is masked wherever it appears, not only in URL and KEY=VALUE form.

    Dev defaults such as `postgres` or `shootout` are often also the user, database and folder
    names; masking them as words would hide those too (`-U ***`, `/srv/***/backups`), so a bare
    word is masked only when it looks like a secret: mixed character kinds, or long.
    """
    if len(secret) < MIN_BARE_SECRET:
        return False
    kinds = sum(
        (
            any(c.islower() for c in secret),
            any(c.isupper() for c in secret),
            any(c.isdigit() for c in secret),
            any(not c.isalnum() for c in secret),
        )
    )
    return kinds >= 2 or len(secret) >= LONG_SECRET


def refuse_unencoded_userinfo(url: str, variable: str) -> None:
    """A URL whose user or password holds an unencoded ``/``, ``?``, ``#`` or ``@``: clients split
    it elsewhere than its author meant (the password's tail read as the host), so it is refused
    with the fix; nothing of the password is said."""
    _, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return
    userinfo = rest.rsplit("@", 1)[0]
    reserved = sorted({c for c in "/?#@" if c in userinfo})
    if reserved:
        codes = ", ".join(f"{c} as %{ord(c):02X}" for c in reserved)
        raise StackError(
            f"{variable}: its user or password holds {' '.join(repr(c) for c in reserved)} unencoded, so clients "
            "would read part of it as the host or path",
            hint=f"percent-encode them in the URL ({codes})",
        )


#: The shell's working directories, which the short-password rule (``PWD``) would otherwise take.
NOT_SECRET = frozenset({"PWD", "OLDPWD"})


def is_secret_key(key: str) -> bool:
    return key.upper() not in NOT_SECRET and bool(SECRET_KEY.search(key))


@dataclass
class Masker:
    """Replaces known secret values, URL passwords and secret assignments with ***."""

    secrets: set[str] = field(default_factory=set)
    #: Values masked as words whatever they look like (what a ``*_FILE`` holds).
    words: set[str] = field(default_factory=set)

    def add(self, value: str, *, always: bool = False) -> None:
        if value:
            self.secrets.add(value)
            if always and len(value) >= MIN_FILE_SECRET:
                self.words.add(value)
            for pattern in (URL_PASSWORD, QUERY_PASSWORD):
                for match in pattern.finditer(value):
                    self.secrets.add(match.group("password"))

    def __call__(self, text: str) -> str:
        text = URL_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
        text = QUERY_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
        text = SECRET_ASSIGNMENT.sub(
            lambda m: f"{m.group('key')}={MASK}" if is_secret_key(m.group("key")) else m.group(0),
            text,
        )
        for secret in sorted(self.secrets, key=len, reverse=True):
            if maskable_as_word(secret) or secret in self.words:
                text = re.sub(rf"(?<![\w]){re.escape(secret)}(?![\w])", MASK, text)
        return text


@dataclass
class EnvFile:
    path: Path
    required: bool
    found: bool
    keys: list[str]


@dataclass
class LoadedEnv:
    """The merged values, where each came from, and the masker that knows the secrets."""

    values: dict[str, str]
    sources: dict[str, str]
    files: list[EnvFile]
    masker: Masker

    def child_environment(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment for a child process: the process's own, plus every file value."""
        environment = dict(os.environ if base is None else base)
        for key, value in self.values.items():
            environment.setdefault(key, value)
        return environment


def parse_env_file(path: Path) -> dict[str, str]:
    """The values of one file; a line python-dotenv cannot parse is an error naming it."""
    from dotenv import dotenv_values
    from dotenv.parser import parse_stream

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise StackError(f"{path}: not UTF-8 text ({error.reason})") from None
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            line = binding.original.line
            raise StackError(
                f"{path}:{line}: cannot parse this line as KEY=VALUE",
                hint="quote values with spaces or #, and write one KEY=VALUE per line",
            )
    values = dotenv_values(stream=io.StringIO(text), interpolate=True)
    return {key: value or "" for key, value in values.items()}


def load_env_files(files: Iterable[tuple[Path, bool]], process_env: Mapping[str, str] | None = None) -> LoadedEnv:
    """Load env files in order over each other; the process environment wins."""
    process = dict(os.environ if process_env is None else process_env)
    values: dict[str, str] = {}
    sources: dict[str, str] = {}
    loaded: list[EnvFile] = []
    for path, required in files:
        if not path.is_file():
            if required:
                example = path.with_name(path.name + ".example")
                hint = f"cp {example} {path}" if example.is_file() else f"create {path}"
                raise StackError(f"required env file {path} is missing", hint=hint)
            loaded.append(EnvFile(path, required, found=False, keys=[]))
            continue
        file_values = parse_env_file(path)
        loaded.append(EnvFile(path, required, found=True, keys=list(file_values)))
        for key, value in file_values.items():
            values[key] = value
            sources[key] = str(path)
    for key in values:
        if key in process:
            values[key] = process[key]
            sources[key] = "process environment"
    masker = Masker()
    for key, value in [*values.items(), *process.items()]:
        if is_secret_key(key):
            masker.add(value)
        elif "://" in value:
            for match in URL_PASSWORD.finditer(value):
                masker.add(match.group("password"))
    return LoadedEnv(values=values, sources=sources, files=loaded, masker=masker)
