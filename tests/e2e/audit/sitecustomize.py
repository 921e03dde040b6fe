"""Loaded by every `inv` the remote-engine tests start (PYTHONPATH names this folder): where each
connection went, appended to $STACKTASKS_CONNECTIONS, so a test can say that no task reached
127.0.0.1 or a bridge address. Python's own sockets (redis-py, urllib) are seen by an audit hook;
psycopg connects inside libpq, so its connect arguments are recorded as it is imported."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
from typing import Any

LOG = os.environ.get("STACKTASKS_CONNECTIONS")


def _write(line: str) -> None:
    if LOG:
        with open(LOG, "a", encoding="utf-8") as log:
            log.write(line + "\n")


def _socket_connections(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.connect":
        sock, address = args
        _write(f"socket {sock.family.name} {address!r}")


class _RecordPsycopgConnect(importlib.abc.MetaPathFinder):
    """Wraps ``psycopg.Connection.connect`` once psycopg is imported."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if name != "psycopg":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        original_exec = loader.exec_module  # type: ignore[attr-defined]

        def exec_module(module: Any) -> None:
            original_exec(module)
            connect = module.Connection.connect.__func__

            def recorded(cls: Any, conninfo: str = "", **kwargs: Any) -> Any:
                _write(f"psycopg host={kwargs.get('host')!r} port={kwargs.get('port')!r} conninfo={conninfo!r}")
                return connect(cls, conninfo, **kwargs)

            module.Connection.connect = classmethod(recorded)
            module.connect = module.Connection.connect  # psycopg.connect is bound at import

        loader.exec_module = exec_module  # type: ignore[attr-defined]
        return spec


if LOG:
    sys.addaudithook(_socket_connections)
    sys.meta_path.insert(0, _RecordPsycopgConnect())
