"""A backup's manifest: typed, versioned, and checked as input on its way in."""

from __future__ import annotations

import pytest

from stacktasks.db.manifest import VERSION, Manifest, Reason
from stacktasks.errors import StackError


def test_a_manifest_reads_back_as_it_was_written() -> None:
    written = Manifest(database="shop", size=9, sha256="ab" * 32, reason=Reason.BEFORE_RESTORE, tables={"t": 3})
    assert Manifest.from_dict(written.to_dict(), "m.json") == written


def test_what_is_written_carries_the_version() -> None:
    assert Manifest(database="shop").to_dict()["stacktasks_manifest"] == VERSION


def test_a_manifest_without_a_version_is_read_as_the_first() -> None:
    assert Manifest.from_dict({"database": "shop", "reason": "before reset"}, "m.json").reason is Reason.BEFORE_RESET


def test_a_newer_version_is_refused_rather_than_misread() -> None:
    with pytest.raises(StackError, match="manifest version 2, newer than this stacktasks reads"):
        Manifest.from_dict({"stacktasks_manifest": VERSION + 1, "database": "shop"}, "m.json")


def test_a_reason_this_version_does_not_know_is_other_never_a_safety_dump() -> None:
    assert Manifest.from_dict({"reason": "before restore "}, "m.json").reason is Reason.OTHER


@pytest.mark.parametrize(
    ("field", "value"), [("size", "9"), ("automatic", "yes"), ("tables", {"t": -1}), ("tables", {"t": True})]
)
def test_a_field_of_the_wrong_kind_is_refused(field: str, value: object) -> None:
    with pytest.raises(StackError, match="malformed manifest"):
        Manifest.from_dict({field: value}, "m.json")
