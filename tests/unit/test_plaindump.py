"""The plain-dump checker: what it lets through is what psql would run, read in bounded memory."""

from __future__ import annotations

import pytest

from stacktasks.db.plaindump import PlainDumpChecker, RefusedDump

HEAD = b"--\n-- PostgreSQL database dump\n--\n\nSET row_security = off;\n"
FOOT = b"\n--\n-- PostgreSQL database dump complete\n--\n\n"
MiB = 1 << 20


def checked(body: bytes, chunk: int = 64 * 1024) -> tuple[bytes, int]:
    """What the checker passes on, fed in chunks, and the most it ever held back."""
    checker = PlainDumpChecker("test.sql")
    dump = HEAD + body + FOOT
    out, held = [], 0
    for start in range(0, len(dump), chunk):
        out.append(checker.feed(dump[start : start + chunk]))
        held = max(held, len(checker.pending))
    out.append(checker.finish())
    return b"".join(out), held


def test_a_copy_row_of_many_megabytes_passes_whole_and_is_never_held_in_memory() -> None:
    row = b"1\t" + b"ab" * (16 * MiB) + b"\n"
    body = b"COPY public.t (i, note) FROM stdin;\n" + row + b"\\.\n"
    out, held = checked(body)
    assert out == HEAD + body + FOOT
    assert held < 64 * 1024 + 16


@pytest.mark.parametrize(
    "literal",
    [
        b"'" + b"x" * (3 * MiB) + b"'",  # no space anywhere
        b"E'" + b"\\\\x41\\'" * MiB + b"'",  # escapes across every chunk
        b"$body$" + b"'$" * (2 * MiB) + b"$body$",  # a dollar quote full of quotes and dollars
        b"'" + b"''" * (2 * MiB) + b"'",  # doubled quotes across every chunk
    ],
    ids=["plain", "escaped", "dollar", "doubled"],
)
def test_a_long_literal_passes_whole_in_bounded_memory(literal: bytes) -> None:
    body = b"INSERT INTO public.t VALUES (" + literal + b");\n"
    for chunk in (4096, 65 * 1024 + 7):
        out, held = checked(body, chunk)
        assert out == HEAD + body + FOOT
        assert held <= 1 * MiB + chunk


@pytest.mark.parametrize(
    "long_line",
    [
        b"-- " + b"x" * (3 * MiB) + b" ' \n",  # a quote inside a long comment opens nothing
        b"/* " + b"x" * (3 * MiB) + b" ' */\n",
        b"SELECT '" + b"y" * (3 * MiB) + b"';\n",
    ],
    ids=["line comment", "block comment", "string"],
)
def test_a_meta_command_after_a_long_line_is_still_refused(long_line: bytes) -> None:
    with pytest.raises(RefusedDump, match=r"meta-command \\!"):
        checked(long_line + b"\\! touch /tmp/pwned\n")


def test_a_meta_command_at_the_end_of_a_long_line_is_refused() -> None:
    with pytest.raises(RefusedDump, match="meta-command"):
        checked(b"SELECT 1; " + b" " * (3 * MiB) + b"\\! touch /tmp/pwned\n")
