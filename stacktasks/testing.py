"""A strict test double for code built on stacktasks, in the manner of Invoke's ``MockContext``.

``RecordingRunner`` stands in for the runner every child process goes through. It runs nothing:
each command must match an answer it was given (the answer's words all appear in the argv; the
first such answer wins), or it raises ``UnexpectedCommand`` naming the command. Commands are
recorded in order, those that read (``capture``) apart from those that change (``run``, ``start``)
by the method they came through.

``project_for_test`` is a project on such a runner whose compose model is given as data, and
``call_task`` runs a ``@stack_task`` body on it: the README's "Testing your own tasks" shows both.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .errors import ChildFailed
from .runner import Runner, format_argv

if TYPE_CHECKING:
    from .project import Project


def project_for_test(
    root: Path,
    runner: RecordingRunner,
    model: dict[str, Any],
    *,
    yes: bool = False,
    dry: bool = False,
    flags: dict[str, Any] | None = None,
) -> Project:
    """A project in ``root`` whose compose model is ``model`` (what `docker compose config`
    prints), on ``runner``, with the answers every project needs (the compose version, the
    current docker context) already given."""
    import json

    from .project import Project
    from .settings import resolve

    if not any((root / name).is_file() for name in ("compose.yaml", "compose.yml", "docker-compose.yml")):
        (root / "compose.yaml").write_text("services: {}\n")  # the model itself comes from the runner
    runner.dry = dry
    runner.answer("compose", "version", "--short", stdout="2.30.0")
    runner.answer("docker", "context", "show", stdout="default\n")
    runner.answer("docker", "context", "inspect", stdout="unix:///var/run/docker.sock\n")
    runner.answer("config", "--format", "json", stdout=json.dumps(model))
    return Project(resolve(root, flags=flags), runner=runner, assume_yes=yes, dry=dry)


def call_task(task: Any, project: Project, *args: Any, **kwargs: Any) -> Any:
    """The body of a ``@stack_task`` run on ``project``, as the task would run it (no Invoke
    context, no error boundary: a failure is raised as it is)."""
    return task.body.__wrapped__(project, *args, **kwargs)


class UnexpectedCommand(AssertionError):
    """A command the test did not tell the runner about."""


@dataclass(frozen=True)
class Answer:
    words: tuple[str, ...]
    stdout: str = ""
    code: int = 0

    def matches(self, argv: Sequence[str]) -> bool:
        return all(word in argv for word in self.words)


@dataclass
class RecordingRunner(Runner):
    answers: list[Answer] = field(default_factory=list)
    commands: list[list[str]] = field(default_factory=list)  # every command, in order
    ran: list[list[str]] = field(default_factory=list)  # run() and start(): what changes
    read: list[list[str]] = field(default_factory=list)  # capture(): what only reads
    notes: list[str] = field(default_factory=list)
    echo: bool = False

    def answer(self, *words: str, stdout: str = "", code: int = 0) -> RecordingRunner:
        """A command whose argv holds every one of ``words`` prints ``stdout`` and exits ``code``."""
        self.answers.append(Answer(words, stdout, code))
        return self

    def fail(self, *words: str) -> RecordingRunner:
        """A command whose argv holds every one of ``words`` exits 1."""
        return self.answer(*words, code=1)

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
        code = self._answer(argv).code
        self.ran.append(list(argv))
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
        answer = self._answer(argv)
        self.read.append(list(argv))
        if check and answer.code:
            raise self.failure(argv, answer.code)
        return subprocess.CompletedProcess(list(argv), answer.code, answer.stdout, "")

    def capture_ahead(
        self, argv: Sequence[str], *, extra_env: Mapping[str, str] | None = None, timeout: float | None = None
    ) -> Any:
        """Answered at once, as ``capture`` is (the real runner starts it now, collects it later)."""
        result = self.capture(argv, check=False, extra_env=extra_env, timeout=timeout)
        return lambda: result

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
        raise UnexpectedCommand(
            f"a streaming child was started, which this double cannot stand in for: {format_argv(argv)}"
        )

    def _answer(self, argv: Sequence[str]) -> Answer:
        self.prepare(argv)  # as the real runner does before its first docker child
        self.commands.append(list(argv))
        for answer in self.answers:
            if answer.matches(argv):
                return answer
        told = "; ".join(" ".join(answer.words) for answer in self.answers) or "nothing"
        raise UnexpectedCommand(f"unexpected command: {format_argv(argv)} (told about: {told})")
