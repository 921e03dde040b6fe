"""A service's port reached through the engine, where no address on this machine reaches it.

On a remote engine (tcp or ssh, or Docker Desktop's VM) a port published on the engine machine's
loopback, or not published at all, is reachable only from inside the engine. A relay listens on a
private Unix socket here; each connection to it runs a small program inside the service's
container (``docker exec -i``: socat, bash's /dev/tcp or nc, whichever the image has) that joins
its stdin and stdout to the port. The bytes travel the engine's own connection (tcp, TLS or ssh),
as ``kubectl port-forward`` does, so no port is opened anywhere and no address is guessed; psycopg
connects to the socket as to a local server.

A relay's children end with it (``close``), and each one also ends when this process dies: its
stdin closes, the program inside sees end of input and exits, and the server ends the session.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import StackError

if TYPE_CHECKING:
    from .compose import Compose
    from .runner import Child, Runner

#: The first of these the image has joins stdin and stdout to 127.0.0.1:PORT inside the container.
PROGRAMS: dict[str, list[str]] = {
    "socat": ["socat", "-", "TCP:127.0.0.1:{port}"],
    # When our side closes, the reader is killed too, so the server sees its client go.
    "bash": ["bash", "-c", 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1; cat <&3 & cat >&3; kill $!', "relay", "{port}"],
    "nc": ["nc", "127.0.0.1", "{port}"],
}
_PROBE = "for t in " + " ".join(PROGRAMS) + "; do command -v $t >/dev/null 2>&1 && { echo $t; exit 0; }; done; exit 1"
_CHUNK = 1 << 16


class EngineRelay:
    """``socket_name`` in a private directory here, joined to ``port`` inside ``service``."""

    def __init__(self, runner: Runner, compose: Compose, service: str, port: int, socket_name: str) -> None:
        self.runner = runner
        self.compose = compose
        self.service = service
        self.port = port
        self.socket_name = socket_name
        self.directory: Path | None = None
        self._listener: socket.socket | None = None
        self._children: set[Child] = set()
        self._lock = threading.Lock()
        self._argv: list[str] = []

    def open(self) -> Path:
        """Start listening; the directory holding the socket (libpq's ``host`` for a socket)."""
        ids = self.compose.container_ids([self.service])
        if not ids:
            raise StackError(f"service {self.service} is not running", hint=f"inv up -s {self.service}")
        probe = self.runner.capture(self.compose.container_exec_argv(ids[0], ["sh", "-c", _PROBE]), check=False)
        program = probe.stdout.strip()
        if probe.returncode != 0 or program not in PROGRAMS:
            raise StackError(
                f"{self.service}:{self.port} is reachable only through the engine, and its image has none of "
                f"{', '.join(PROGRAMS)} to relay it",
                hint="publish the port on an address this machine reaches (inv doctor shows the engine)",
            )
        self._argv = self.compose.container_exec_argv(
            ids[0], [part.format(port=self.port) for part in PROGRAMS[program]]
        )
        self.directory = Path(tempfile.mkdtemp(prefix="stacktasks-relay-"))  # 0700: ours alone
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.directory / self.socket_name))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._serve, name=f"relay {self.service}", daemon=True).start()
        atexit.register(self.close)
        self.runner.note(f"{self.service}:{self.port} through the engine: one `{' '.join(self._argv)}` per connection")
        return self.directory

    def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)  # wakes the accept loop
            listener.close()
        with self._lock:
            children = list(self._children)
        for child in children:
            child.stop()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def _serve(self) -> None:
        while self._listener is not None:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._join, args=(connection,), daemon=True).start()

    def _join(self, connection: socket.socket) -> None:
        """One connection: our socket's bytes into the program's stdin, its stdout back."""
        try:
            child = self.runner.start(
                self._argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, what=f"relay to {self.service}", quiet=True
            )
        except StackError:
            connection.close()
            return
        with self._lock:
            self._children.add(child)
        upstream = threading.Thread(target=_upstream, args=(connection, child), daemon=True)
        upstream.start()
        try:
            while chunk := child.stdout.read1(_CHUNK):  # type: ignore[attr-defined]
                connection.sendall(chunk)
        except (OSError, ValueError):
            pass
        finally:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()
            upstream.join(timeout=5)
            child.stop()
            with self._lock:
                self._children.discard(child)


def _upstream(connection: socket.socket, child: Child) -> None:
    try:
        while chunk := connection.recv(_CHUNK):
            child.stdin.write(chunk)
            child.stdin.flush()
    except (OSError, ValueError):
        pass
    finally:
        with contextlib.suppress(OSError, ValueError):
            child.stdin.close()
