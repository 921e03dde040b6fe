"""A runner that records what the core would run, for unit tests of its decisions (what runs, in
which order, what is refused) without an engine; in the spirit of Invoke's MockContext.

Commands that read (``capture``) are answered from ``answers``: the first (words, stdout, code)
whose words all appear in the argv wins; anything else answers empty with exit 0. Commands that
change something (``run``, ``start``) are recorded and succeed, unless ``failing`` names them.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from stacktasks.errors import ChildFailed
from stacktasks.runner import Runner, format_argv


@dataclass
class RecordingRunner(Runner):
    answers: list[tuple[tuple[str, ...], str, int]] = field(default_factory=list)
    failing: list[tuple[str, ...]] = field(default_factory=list)
    commands: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    echo: bool = False

    def answer(self, *words: str, stdout: str = "", code: int = 0) -> RecordingRunner:
        self.answers.append((words, stdout, code))
        return self

    def fail(self, *words: str) -> RecordingRunner:
        self.failing.append(words)
        return self

    def note(self, text: str) -> None:
        self.notes.append(text)
        super().note(text)

    def run(
        self,
        argv: Sequence[str],
        *,
        check: bool = True,
        changes: bool = True,
        extra_env: Mapping[str, str] | None = None,
        what: str = "",
    ) -> int:
        self.show(argv)
        if self.dry and changes:
            return 0
        self.commands.append(list(argv))
        code = 1 if self._fails(argv) else 0
        if check and code:
            raise ChildFailed(format_argv(argv), code, what=what)
        return code

    def capture(
        self,
        argv: Sequence[str],
        *,
        check: bool = True,
        extra_env: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> subprocess.CompletedProcess[str]:
        self.commands.append(list(argv))
        for words, stdout, code in self.answers:
            if all(word in argv for word in words):
                if check and code:
                    raise self.failure(argv, code)
                return subprocess.CompletedProcess(list(argv), code, stdout, "")
        return subprocess.CompletedProcess(list(argv), 0, "", "")

    def start(
        self,
        argv: Sequence[str],
        *,
        extra_env: Mapping[str, str] | None = None,
        stdin: Any = subprocess.DEVNULL,
        stdout: int | IO[bytes] | None = None,
        what: str = "",
        quiet: bool = False,
        changes: bool = True,
        on_stderr_line: Any = None,
    ) -> Any:
        if self.dry and changes:  # shown, not run: what the real runner does under dry-run
            return super().start(argv, extra_env=extra_env, stdin=stdin, stdout=stdout, what=what, quiet=quiet)
        raise AssertionError(f"a unit test started a streaming child: {format_argv(argv)}")

    def _fails(self, argv: Sequence[str]) -> bool:
        return any(all(word in argv for word in words) for words in self.failing)

    def changed(self) -> list[list[str]]:
        """The commands that were run (not merely read): compose up/down/build/exec/run …"""
        read_only = ("version", "config", "ps", "port", "inspect", "ls", "info", "context")
        return [argv for argv in self.commands if not any(word in argv for word in read_only)]
