"""A state under test that the test holds, instead of a moment it races to catch.

A gate is a CHECK constraint on a table whose function, when COPY loads one chosen row, waits
while a role named for the gate exists (roles are the server's, seen from every database, where
an advisory lock is one database's). Dumped with the table, the gate comes back with every restore
of that dump: while the test holds it closed (``Gate.closed``), any load of the dump stops at that
row, its transaction open and the rows before it loaded, for as long as the test wants; the server
shows the waiting session (``waiting``), so the test fires its signal at a state that cannot pass.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg

Connect = Callable[[str], "psycopg.Connection[Any]"]


@dataclass(frozen=True)
class Gate:
    key: int
    connect: Connect  # a superuser's connection to a database of the server

    @property
    def role(self) -> str:
        return f"stacktasks_test_gate_{self.key}"

    def install(self, dbname: str, table: str, column: str, at: int, *, owner: str | None = None) -> None:
        """The gate on ``table``: loading the row whose ``column`` is ``at`` waits while it is closed.
        ``owner``: the role that owns the gate's function (the table's owner, where a dump keeps owners)."""
        with self.connect(dbname) as conn:
            conn.autocommit = True
            if owner:
                conn.execute(f"set role {owner}")
            conn.execute(
                f"create function public.{self.role}(v bigint) returns boolean language plpgsql as $$ "
                f"begin if v = {at} then "
                f"while exists (select 1 from pg_catalog.pg_roles where rolname = '{self.role}') loop "
                "perform pg_catalog.pg_sleep(0.02); end loop; end if; return true; end $$"
            )
            conn.execute(f"alter table {table} add constraint {self.role} check (public.{self.role}({column}))")

    @contextlib.contextmanager
    def closed(self) -> Iterator[None]:
        """While inside, a load that reaches the gate waits there; leaving opens it."""
        with self.connect("postgres") as conn:
            conn.autocommit = True
            conn.execute(f"create role {self.role} nologin")
        try:
            yield
        finally:
            with self.connect("postgres") as conn:
                conn.autocommit = True
                conn.execute(f"drop role if exists {self.role}")

    def waiting(self, dbname: str) -> bool:
        """Whether a session on ``dbname`` waits at the gate now."""
        with self.connect("postgres") as conn:
            row = conn.execute(
                "select count(*) from pg_stat_activity where datname = %s and wait_event = 'PgSleep'", [dbname]
            ).fetchone()
            return bool(row and row[0])


def new_gate(connect: Connect) -> Gate:
    return Gate(random.randint(1_000_000, 2_000_000_000), connect)
