"""Names of the databases a restore sets aside."""

from __future__ import annotations

from stacktasks.db.admin import aside_name


def test_aside_names_fit_the_63_byte_identifier_limit() -> None:
    long = "x" * 63
    assert len(aside_name(long, "__restoring").encode()) == 63
    assert aside_name("app", "__undo") == "app__undo"
