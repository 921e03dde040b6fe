"""Runs argv lists as child processes: streamed, masked when shown, never through a shell.

Invoke's ``run()`` reads every byte of a child's output into memory and decodes it; here the
child inherits our terminal (or pipes we hand it), so output streams as it comes and binary
streams stay binary. This is the runner interface a remote host or ``kubectl exec`` would also
implement.
"""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from .errors import StackError


def format_argv(argv: Sequence[str]) -> str:
    return shlex.join(argv)


@dataclass
class Runner:
    """Runs commands in ``cwd`` with ``env``; ``mask`` hides secrets in what it prints."""

    env: dict[str, str]
    cwd: Path
    mask: Callable[[str], str] = field(default=lambda text: text)
    dry: bool = False
    echo: bool = True
    out: IO[str] = field(default_factory=lambda: sys.stdout)
    err: IO[str] = field(default_factory=lambda: sys.stderr)

    def show(self, argv: Sequence[str]) -> None:
        """Print a command as it would be typed, secrets masked."""
        line = self.mask(format_argv(argv))
        if self.dry:
            print(f"[dry-run] {line}", file=self.out, flush=True)
        elif self.echo:
            print(f"$ {line}", file=self.err, flush=True)

    def note(self, text: str) -> None:
        """A Python-side step of the plan (a file write, a wait), shown like a command."""
        if self.dry:
            print(f"[dry-run] {self.mask(text)}", file=self.out, flush=True)
        elif self.echo:
            print(f"# {self.mask(text)}", file=self.err, flush=True)

    def run(
        self, argv: Sequence[str], *, check: bool = True, changes: bool = True,
        extra_env: Mapping[str, str] | None = None,
    ) -> int:
        """Run with our stdio inherited; return the exit code, or raise when ``check``.

        ``changes=False`` marks a read-only command that still runs under dry-run, because the
        plan depends on what it says.
        """
        self.show(argv)
        if self.dry and changes:
            return 0
        code = self._wait(self._spawn(argv, extra_env))
        if check and code != 0:
            raise self.failure(argv, code)
        return code

    def capture(
        self, argv: Sequence[str], *, check: bool = True, extra_env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a read-only command and return its output (small outputs only: it is buffered)."""
        try:
            result = subprocess.run(
                list(argv), cwd=self.cwd, env={**self.env, **(extra_env or {})}, capture_output=True,
                text=True, stdin=subprocess.DEVNULL,
            )
        except FileNotFoundError:
            raise self.not_found(argv) from None
        if check and result.returncode != 0:
            raise self.failure(argv, result.returncode, result.stderr)
        return result

    def stream(
        self, argv: Sequence[str], *, extra_env: Mapping[str, str] | None = None,
        stdin: int | IO[bytes] | None = None, stdout: int | IO[bytes] | None = None,
        stderr: int | IO[bytes] | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start a command whose binary streams the caller wires up (pipes, files); shown first.

        ``extra_env`` is where secrets go (PGPASSWORD): the child sees them, argv and logs never do.
        """
        self.show(argv)
        try:
            return subprocess.Popen(
                list(argv), cwd=self.cwd, env={**self.env, **(extra_env or {})},
                stdin=stdin, stdout=stdout, stderr=stderr,
            )
        except FileNotFoundError:
            raise self.not_found(argv) from None

    def _spawn(self, argv: Sequence[str], extra_env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
        try:
            return subprocess.Popen(list(argv), cwd=self.cwd, env={**self.env, **(extra_env or {})})
        except FileNotFoundError:
            raise self.not_found(argv) from None

    @staticmethod
    def _wait(process: subprocess.Popen[bytes]) -> int:
        # Ctrl-C reaches the child too (same process group): let it finish on its own terms,
        # then report its code instead of a Python traceback.
        while True:
            try:
                return process.wait()
            except KeyboardInterrupt:
                continue

    def not_found(self, argv: Sequence[str]) -> StackError:
        hint = "install it"
        if argv[0] in ("docker", "docker-compose"):
            hint += ", or set stacktasks.compose_command to the compose you have"
        return StackError(f"command not found: {argv[0]}", hint=hint, code=127)

    def failure(self, argv: Sequence[str], code: int, stderr: str = "") -> StackError:
        reason = ""
        lines = [line for line in stderr.strip().splitlines() if line.strip()]
        if lines:
            reason = f": {self.mask(lines[-1].strip())}"
        if code < 0:
            name = signal.Signals(-code).name
            return StackError(f"`{self.mask(format_argv(argv))}` was killed by {name}", code=128 - code)
        return StackError(f"`{self.mask(format_argv(argv))}` exited with {code}{reason}", code=code)
