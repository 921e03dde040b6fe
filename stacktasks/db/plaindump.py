"""A plain SQL dump is data: checked line by line before psql sees a byte of it.

psql runs backslash meta-commands wherever they appear outside quotes (``\\! cmd`` runs a shell,
``\\c db`` leaves the scratch database). A dump made by pg_dump has none but its own
``\\restrict KEY`` at the top and ``\\unrestrict KEY`` after its footer; anything else is refused. So are
statements that reach beyond the one database (roles, other databases, the server's config,
``COPY … PROGRAM``) or end the transaction the restore runs in, a file that does not start with
pg_dump's header, and one that stops before pg_dump's footer (a cut dump).

The scanner follows psql's own lexing: quoted strings (``'…'``, ``E'…'``, ``"…"``, ``$tag$…$tag$``),
comments (``--``, nested ``/* */``) and the data lines of ``COPY … FROM stdin``, where a backslash
is data. Data lines are skipped with a byte search, so a large dump costs little.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import StackError

HEADER = b"-- PostgreSQL database dump"
FOOTER = b"-- PostgreSQL database dump complete"
HEADER_WINDOW = 16

#: Statements that reach beyond the database being restored, or end the restore's transaction.
FORBIDDEN = re.compile(
    r"^(?:(?:CREATE|ALTER|DROP)\s+(?:DATABASE|ROLE|USER|GROUP|TABLESPACE|SUBSCRIPTION)\b"
    r"|ALTER\s+SYSTEM\b|LOAD\b|CHECKPOINT\b|VACUUM\s+FULL\b"
    r"|COMMIT\b|ROLLBACK\b|ABORT\b|END\b|BEGIN\b|START\s+TRANSACTION\b|PREPARE\s+TRANSACTION\b"
    r"|SET\s+(?:SESSION\s+)?STANDARD_CONFORMING_STRINGS\s*(?:=|TO)\s*'?(?:OFF|FALSE)\b"
    r"|COPY\b.*\bPROGRAM\b"
    r"|.*\bSET_CONFIG\s*\(\s*'STANDARD_CONFORMING_STRINGS')",
    re.IGNORECASE | re.DOTALL,
)
COMMENT_ON_EXTENSION = re.compile(r'^COMMENT ON EXTENSION ("(?:[^"]|"")+"|[^\s"]+) IS ', re.IGNORECASE)
OWNER_TO = re.compile(r"^ALTER\s+[A-Z ]+\s+\S.*\s+OWNER\s+TO\s+(?:\"(?:[^\"]|\"\")+\"|[^\s\"';]+)$", re.DOTALL)
COPY_FROM_STDIN = re.compile(r"^COPY\b.*\bFROM\s+STDIN\b", re.IGNORECASE | re.DOTALL)
#: Where something that is not plain SQL text may start, in the normal state.
SPECIAL = re.compile(rb"--|/\*|(?<![\w$])[Ee]'|'|\"|(?<![\w$])\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$|\\|;")
STATEMENT_HEAD = 400
#: A line longer than this is read in pieces (constant memory, linear time).
LONG_LINE = 1 << 20
CUT_MARGIN = 128  # bytes kept back at a cut: more than any token is long


class RefusedDump(StackError):
    """A plain dump that is not pg_dump's data: refused before anything changes."""


@dataclass
class PlainDumpChecker:
    """Feed the dump's bytes in any chunks; get back the bytes that were checked and may go on."""

    name: str
    line: int = 0
    pending: bytes = b""
    in_copy: bool = False
    quote: bytes | None = None  # the closing delimiter of an open string, identifier or dollar quote
    comment_depth: int = 0
    statement: str = ""
    statements: int = 0
    seen_header: bool = False
    seen_footer: bool = False
    restrict_key: str | None = None
    unrestricted: bool = False
    meta_commands: list[str] = field(default_factory=list)
    #: Extensions that were made ready before the load (extensions.py): a line that is one whole
    #: ``COMMENT ON EXTENSION`` of one of them is left out (only their owner may comment).
    skip_comments_on: frozenset[str] = frozenset()
    skipped: list[str] = field(default_factory=list)
    last_statement: str = ""
    copy_line_start: bool = True  # the next COPY data byte starts a line
    mid_line: bool = False  # the next SQL bytes go on a line whose first piece was scanned
    line_comment: bool = False  # inside a "--" comment of a long line, read in pieces
    _skip_line: bool = False

    def feed(self, chunk: bytes) -> bytes:
        """Checked bytes that may go on. What is held back is a few bytes, whatever the length of a
        line (COPY data is passed on up to a possible terminator; a long SQL line in pieces cut
        where no token can straddle), so the check is linear in the dump and constant in memory."""
        buffer = self.pending + chunk
        position = 0
        left_out: list[tuple[int, int]] = []
        while position < len(buffer):
            if self.in_copy:
                end = self._copy_end(buffer, position)
                if end < 0:
                    safe = max(position, len(buffer) - 3)  # "\\.\r" may be cut at the chunk's end
                    self.line += buffer.count(b"\n", position, safe)
                    if safe > position:
                        self.copy_line_start = buffer[safe - 1 : safe] == b"\n"
                    position = safe
                    break
                self.line += buffer.count(b"\n", position, end)
                position = end
                self.in_copy = False
                continue
            newline = buffer.find(b"\n", position)
            if newline < 0:
                if len(buffer) - position > LONG_LINE:
                    # A piece of a long line: scanned up to a point before the end, where every
                    # token that starts before it ends within what is here.
                    reached = self._scan_line(buffer, position, len(buffer) - CUT_MARGIN, len(buffer))
                    if reached <= position:
                        self._refuse("it has a line of over 1 MiB that cannot be read in pieces: not pg_dump output")
                    self.mid_line = True
                    position = reached
                break
            self.line += 1
            self._scan_line(buffer, position, newline + 1, newline + 1)
            self.mid_line = False
            if self._skip_line:
                left_out.append((position, newline + 1))
                self._skip_line = False
            position = newline + 1
        self.pending = buffer[position:]
        if not left_out:
            return buffer[:position]
        kept, start = [], 0
        for begin, end in left_out:
            kept.append(buffer[start:begin])
            start = end
        kept.append(buffer[start:position])
        return b"".join(kept)

    def finish(self) -> bytes:
        """The rest; raises when the dump stops before pg_dump's footer or leaves something open."""
        rest = self.pending
        if rest:
            self.pending = b""
            self.line += 1
            if self.in_copy:
                if rest.rstrip(b"\r") == b"\\.":
                    self.in_copy = False
            else:
                line = rest + b"\n"
                self._scan_line(line, 0, len(line), len(line))
        if self.in_copy or self.quote or self.comment_depth or self.statement.strip():
            self._refuse("it stops in the middle of a statement or its data: the dump was cut short")
        if not self.seen_footer:
            self._refuse("it has no pg_dump footer (-- PostgreSQL database dump complete): the dump was cut short")
        if self.restrict_key is not None and not self.unrestricted:
            self._refuse("it ends without pg_dump's closing \\unrestrict: the dump was cut short")
        return rest

    # -- one line of SQL text ---------------------------------------------------------------------

    def _copy_end(self, buffer: bytes, position: int) -> int:
        """Where the line after COPY's ``\\.`` terminator starts, or -1 when not in ``buffer``."""
        search = position
        while True:
            found = buffer.find(b"\\.", search)
            if found < 0:
                return -1
            at_line_start = buffer[found - 1 : found] == b"\n" if found > 0 else self.copy_line_start
            after = buffer[found + 2 : found + 4]
            if at_line_start and (after.startswith(b"\n") or after == b"\r\n"):
                return buffer.index(b"\n", found) + 1
            if at_line_start and len(buffer) - found < 4 and not after.strip(b"\r"):
                return -1  # the terminator may be cut at the chunk's end: wait for more
            search = found + 1

    def _scan_line(self, buf: bytes, start: int, stop: int, hard: int) -> int:
        """Scan ``buf[start:stop]``, one line (``stop`` its end) or a piece of a long one (tokens
        may be read on up to ``hard``, what is here); where the scan stopped."""
        continued = self.mid_line
        line_end = stop == hard
        if not continued:
            if not self.seen_header:
                self._expect_header(buf[start:hard])
            if buf.startswith(FOOTER, start) and not self.quote and not self.comment_depth:
                self.seen_footer = True
        whole = line_end and not (continued or self.statement.strip() or self.quote or self.comment_depth)
        ended = self.statements
        position = start
        while position < stop:
            if self.line_comment:  # a "--" comment runs to the end of its line, over pieces
                self.line_comment = not line_end
                return stop
            if self.comment_depth:
                position = self._in_comment(buf, position, stop)
            elif self.quote is not None:
                reached = self._in_quote(buf, position, stop, hard)
                if reached == position:  # a piece cannot end inside a run of backslashes
                    return position
                position = reached
            else:
                position = self._in_sql(buf, position, stop, hard)
        if whole and self.statements == ended + 1 and not (self.statement.strip() or self.quote or self.comment_depth):
            self._skip_line = self._left_out(self.last_statement)
        return position

    def _left_out(self, text: str) -> bool:
        """Whether a statement that is one whole line is left out of the load: an ``ALTER … OWNER
        TO`` (objects belong to the restoring user, as pg_restore --no-owner makes them), or a
        comment on an extension made ready before the load."""
        if len(text) >= STATEMENT_HEAD - 1:  # only its head was kept: not known whole
            return False
        if OWNER_TO.match(text):
            self.skipped.append("owner")
            return True
        match = COMMENT_ON_EXTENSION.match(text)
        name = match.group(1) if match else None
        name = name[1:-1].replace('""', '"') if name and name.startswith('"') else name
        if name and name in self.skip_comments_on:
            self.skipped.append(f"comment on extension {name}")
            return True
        return False

    def _expect_header(self, line: bytes) -> None:
        if line.startswith(HEADER):
            self.seen_header = True
        elif self.line >= HEADER_WINDOW or (line.strip() and line.strip() != b"--"):
            self._refuse("it is not pg_dump output (no '-- PostgreSQL database dump' header)")

    def _in_sql(self, buf: bytes, position: int, stop: int, hard: int) -> int:
        # Searched in the whole buffer: the look-behind of E'…' sees the byte before ``position``.
        match = SPECIAL.search(buf, position, hard)
        if match is None or match.start() >= stop:
            self._add_text(buf[position:stop])
            return stop
        self._add_text(buf[position : match.start()])
        token = match.group()
        if token == b"--":
            self.line_comment = stop != hard
            return stop
        if token == b"/*":
            self.comment_depth = 1
        elif token in (b"'", b"E'", b"e'"):
            self.quote = b"E'" if token != b"'" else b"'"
            self._add_text(b"'")
        elif token == b'"':
            self.quote = b'"'
            self._add_text(b'"')
        elif token.startswith(b"$"):
            self.quote = token
            self._add_text(b"$")
        elif token == b"\\":
            if stop != hard:
                self._refuse("it has a psql meta-command on a line of over 1 MiB (a dump is data)")
            self._meta_command(buf[match.start() : hard])
            return hard
        elif token == b";":
            self._end_statement()
        return match.end()

    def _in_quote(self, buf: bytes, position: int, stop: int, hard: int) -> int:
        quote = self.quote
        assert quote is not None
        start = position
        if quote.startswith(b"$"):
            found = buf.find(quote, position, hard)
            if found < 0 or found >= stop:
                return stop
            self.quote = None
            return found + len(quote)
        closing = b'"' if quote == b'"' else b"'"
        while True:
            found = buf.find(closing, position, hard)
            if found < 0 or found >= stop:
                end = max(stop, position)  # a doubled or escaped quote may have taken us past stop
                if quote == b"E'" and end == stop:  # a run of backslashes stays whole, for _escaped
                    while end > start and buf[end - 1 : end] == b"\\":
                        end -= 1
                self._add_text(buf[start:end])
                return end
            if quote == b"E'" and _escaped(buf, start, found):
                position = found + 1
                continue
            if buf[found + 1 : found + 2] == closing:  # a doubled quote is the quote itself
                position = found + 2
                continue
            self.quote = None
            self._add_text(buf[start : found + 1])
            return found + 1

    def _in_comment(self, buf: bytes, position: int, stop: int) -> int:
        while position < stop:
            opened, closed = buf.find(b"/*", position, stop + 1), buf.find(b"*/", position, stop + 1)
            if closed < 0 and opened < 0:
                return stop
            if opened >= 0 and (closed < 0 or opened < closed):
                self.comment_depth += 1
                position = opened + 2
            else:
                self.comment_depth -= 1
                position = closed + 2
                if not self.comment_depth:
                    return position
        return position

    def _meta_command(self, line: bytes) -> None:
        text = line.decode("utf-8", "replace").strip()
        words = text.split()
        command = words[0] if words else "\\"
        if command == "\\restrict" and len(words) == 2 and self.statements == 0 and self.restrict_key is None:
            self.restrict_key = words[1]
        elif command == "\\unrestrict" and len(words) == 2 and self.seen_footer and not self.unrestricted:
            # Any key: pg_restore's script closes with a key of its own. Nothing but comments may follow.
            self.unrestricted = True
        elif command in ("\\connect", "\\c"):
            self._refuse(f"it connects to another database ({text[:60]}): made with pg_dump --create or pg_dumpall")
        else:
            self._refuse(f"it contains the psql meta-command {command} (a dump is data; pg_dump writes none)")
        self.meta_commands.append(command)

    def _add_text(self, text: bytes | str) -> None:
        if len(self.statement) < STATEMENT_HEAD:
            piece = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
            self.statement += piece

    def _end_statement(self) -> None:
        text = " ".join(self.statement.split())
        self.statement = ""
        if not text:
            return
        if self.seen_footer:
            self._refuse("it has SQL after pg_dump's footer")
        self.statements += 1
        self.last_statement = text
        if FORBIDDEN.match(text):
            self._refuse(f"its statement '{text[:60]}' reaches beyond the restored database")
        if COPY_FROM_STDIN.match(text):
            self.in_copy = True
            self.copy_line_start = True

    def _refuse(self, reason: str) -> None:
        raise RefusedDump(
            f"{self.name} is refused: {reason} (line {self.line})",
            hint="restore a dump made by pg_dump (inv db.backup makes one); nothing was changed",
        )


def _escaped(line: bytes, start: int, quote_at: int) -> bool:
    """In an E'…' string: whether the quote at ``quote_at`` follows an odd run of backslashes."""
    run = 0
    index = quote_at - 1
    while index >= start and line[index : index + 1] == b"\\":
        run += 1
        index -= 1
    return run % 2 == 1


def check_plain_head(name: str, head: bytes) -> None:
    """pg_dump's header, read before anything is created (the full check runs while the dump
    streams to psql, before psql sees each line)."""
    checker = PlainDumpChecker(name)
    for line in head[:4096].splitlines(keepends=True)[:HEADER_WINDOW]:
        if checker.seen_header:
            break
        checker.line += 1
        checker._expect_header(line)
    if not checker.seen_header:
        checker._refuse("it is not pg_dump output (no '-- PostgreSQL database dump' header)")


def check_plain_tail(name: str, tail: bytes) -> None:
    """pg_dump's footer at the end of an uncompressed dump: a cut one is refused before anything changes."""
    if FOOTER not in tail:
        PlainDumpChecker(name)._refuse(
            "it has no pg_dump footer (-- PostgreSQL database dump complete): the dump was cut short"
        )
