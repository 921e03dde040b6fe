"""Which tables a backup's --exclude-table / --exclude-table-data patterns leave out, as pg_dump does."""

from __future__ import annotations

from stacktasks.db.exclusions import Exclusions


def test_a_name_without_a_schema_matches_in_every_schema() -> None:
    rules = Exclusions.of(table_data=["audit_log"])
    assert rules.kind("public", "audit_log") == "data" and rules.kind("billing", "audit_log") == "data"
    assert rules.kind("public", "audit_logs") is None


def test_wildcards_and_a_schema_part() -> None:
    rules = Exclusions.of(table_data=["public.session*", "log_?"])
    assert rules.kind("public", "sessions") == "data"
    assert rules.kind("billing", "sessions") is None
    assert rules.kind("x", "log_1") == "data" and rules.kind("x", "log_12") is None


def test_unquoted_names_fold_to_lower_case_and_quoted_ones_do_not() -> None:
    assert Exclusions.of(tables=["Audit"]).kind("public", "audit") == "table"
    assert Exclusions.of(tables=['"Audit"']).kind("public", "audit") is None
    assert Exclusions.of(tables=['"Audit"']).kind("public", "Audit") == "table"


def test_a_left_out_table_wins_over_left_out_data() -> None:
    rules = Exclusions.of(tables=["tmp_*"], table_data=["*"])
    assert rules.kind("public", "tmp_import") == "table" and rules.kind("public", "users") == "data"


def test_the_patterns_go_to_pg_dump_as_they_are() -> None:
    assert Exclusions.of(["a.b"], ["c*"]).pg_dump_args() == ["--exclude-table=a.b", "--exclude-table-data=c*"]
