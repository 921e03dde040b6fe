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


# -- every construct refused, and what only looks like one ------------------------------------

META_COMMANDS = [
    b"\\! id",
    b"\\o /tmp/out",
    b"\\i /etc/passwd",
    b"\\ir other.sql",
    b"\\copy t from program 'id'",
    b"\\setenv PAGER id",
    b"\\gexec",
    b"\\set ON_ERROR_STOP off",
    b"SELECT 1 \\g /tmp/out",
    b"\\restrict second-key-after-statements",
]


@pytest.mark.parametrize("line", META_COMMANDS, ids=[line.decode() for line in META_COMMANDS])
def test_every_psql_meta_command_but_pg_dumps_own_is_refused(line: bytes) -> None:
    with pytest.raises(RefusedDump, match="meta-command"):
        checked(b"SELECT 1;\n" + line + b"\n")


@pytest.mark.parametrize("line", [b"\\c postgres", b"\\connect template1"])
def test_connecting_to_another_database_is_refused(line: bytes) -> None:
    with pytest.raises(RefusedDump, match="connects to another database"):
        checked(line + b"\n")


BEYOND = [
    "CREATE DATABASE other;",
    "DROP DATABASE postgres;",
    "ALTER ROLE app SUPERUSER;",
    "CREATE USER intruder;",
    "DROP GROUP staff;",
    "CREATE TABLESPACE t LOCATION '/tmp';",
    "CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p;",
    "ALTER SYSTEM SET archive_command = 'id';",
    "LOAD 'plugin';",
    "CHECKPOINT;",
    "VACUUM FULL;",
    "COMMIT;",
    "ROLLBACK;",
    "ABORT;",
    "END;",
    "BEGIN;",
    "START TRANSACTION;",
    "PREPARE TRANSACTION 'x';",
    "SET standard_conforming_strings = off;",
    "SET SESSION standard_conforming_strings TO 'false';",
    "COPY t TO PROGRAM 'id';",
    "SELECT set_config('standard_conforming_strings', 'off', false);",
]


@pytest.mark.parametrize("statement", BEYOND)
def test_every_statement_that_reaches_beyond_the_database_or_its_transaction_is_refused(statement: str) -> None:
    with pytest.raises(RefusedDump, match="reaches beyond the restored database"):
        checked(statement.encode() + b"\n")


def test_a_file_without_pg_dumps_header_is_refused() -> None:
    checker = PlainDumpChecker("test.sql")
    with pytest.raises(RefusedDump, match="no '-- PostgreSQL database dump' header"):
        checker.feed(b"SELECT 1;\n" * 20)
        checker.finish()


def test_a_dump_cut_before_its_footer_is_refused() -> None:
    checker = PlainDumpChecker("test.sql")
    checker.feed(HEAD + b"CREATE TABLE t (i int);\n")
    with pytest.raises(RefusedDump, match="no pg_dump footer"):
        checker.finish()


def test_a_dump_cut_inside_a_statement_is_refused() -> None:
    checker = PlainDumpChecker("test.sql")
    checker.feed(HEAD + b"CREATE TABLE t (i int\n")
    with pytest.raises(RefusedDump, match="middle of a statement"):
        checker.finish()


def test_sql_after_the_footer_is_refused() -> None:
    with pytest.raises(RefusedDump, match="SQL after pg_dump's footer"):
        checked(b"SELECT 1;\n" + FOOT + b"DROP TABLE t;\n")


LOOK_ALIKES = [
    b"SELECT '\\! not a command';\n",
    b"SELECT E'\\\\! still a string';\n",
    b'SELECT 1 AS "\\! an identifier";\n',
    b"SELECT $body$\n\\! inside a dollar quote\n$body$;\n",
    b"-- \\! in a comment\nSELECT 1;\n",
    b"/* \\! in a /* nested */ comment */ SELECT 1;\n",
    b"COPY t (v) FROM stdin;\n\\! data, not a command\n\\\\x\n\\.\n",
    b"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n",
]


@pytest.mark.parametrize("body", LOOK_ALIKES, ids=[f"look-alike-{i}" for i in range(len(LOOK_ALIKES))])
def test_what_only_looks_like_a_meta_command_passes_unchanged(body: bytes) -> None:
    out, _ = checked(body)
    assert out == HEAD + body + FOOT
