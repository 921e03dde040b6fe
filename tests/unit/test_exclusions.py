"""How a backup's --exclude-table / --exclude-table-data patterns become the regular expressions
psql's rules make of them (the server applies them, as pg_dump's own query does)."""

from __future__ import annotations

import pytest

from stacktasks.db.exclusions import Exclusions, psql_regex


@pytest.mark.parametrize(
    ("part", "regex"),
    [
        ("session*", "session.*"),
        ("log_?", "log_."),
        ("Audit", "audit"),
        ('"Audit"', "Audit"),
        ("audit_(a|b)", "audit_(a|b)"),  # regular-expression characters work outside quotes
        ("audit_[ab]", "audit_[ab]"),
        ('"a|b"', "a\\|b"),  # and are literal inside them
        ('"x*"', "x\\*"),
        ('"say ""hi"""', 'say "hi"'),
        ("cost$", "cost\\$"),
    ],
)
def test_a_pattern_part_becomes_the_regular_expression_psql_makes_of_it(part: str, regex: str) -> None:
    assert psql_regex(part) == regex


def test_the_patterns_go_to_pg_dump_as_they_are() -> None:
    assert Exclusions.of(["a.b"], ["c*"]).pg_dump_args() == ["--exclude-table=a.b", "--exclude-table-data=c*"]
