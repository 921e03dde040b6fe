"""The confirmation behind every destructive task."""

from __future__ import annotations

import io

import pytest

from stacktasks.errors import REFUSED, StackError
from stacktasks.safety import confirm


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def never_asked(prompt: str) -> str:
    raise AssertionError(f"asked {prompt!r}")


def test_yes_skips_the_question() -> None:
    confirm("drop everything", yes=True, stdin=io.StringIO(), ask=never_asked)


def test_no_terminal_and_no_yes_refuses_at_once_saying_to_pass_yes() -> None:
    with pytest.raises(StackError) as raised:
        confirm("drop everything", yes=False, stdin=io.StringIO(), ask=never_asked)
    assert raised.value.code == REFUSED
    assert "no terminal" in raised.value.message
    assert "--yes" in (raised.value.hint or "")


def test_answering_y_on_a_terminal_goes_on() -> None:
    confirm("drop everything", yes=False, stdin=Terminal(), ask=lambda _: "y", out=io.StringIO())


def test_any_other_answer_refuses() -> None:
    with pytest.raises(StackError, match="not confirmed"):
        confirm("drop everything", yes=False, stdin=Terminal(), ask=lambda _: "", out=io.StringIO())


def test_end_of_input_refuses() -> None:
    def closed(prompt: str) -> str:
        raise EOFError

    with pytest.raises(StackError, match="not confirmed"):
        confirm("drop everything", yes=False, stdin=Terminal(), ask=closed, out=io.StringIO())


def test_protected_stage_wants_the_project_name_not_y() -> None:
    with pytest.raises(StackError, match="not confirmed"):
        confirm(
            "drop", yes=False, protected=True, expected="shop", stdin=Terminal(), ask=lambda _: "y", out=io.StringIO()
        )
    confirm(
        "drop", yes=False, protected=True, expected="shop", stdin=Terminal(), ask=lambda _: "shop", out=io.StringIO()
    )


def test_dry_run_never_asks(capsys: pytest.CaptureFixture[str]) -> None:
    confirm("drop everything", yes=False, dry=True, stdin=io.StringIO(), ask=never_asked)
    assert "[dry-run] would ask: drop everything" in capsys.readouterr().out
