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
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import StackError
from ..leftovers import private_directory
from ..runner import format_argv

if TYPE_CHECKING:
    from ..compose.client import Compose
    from ..runner import Child, Runner

#: The first of these the image has joins stdin and stdout to 127.0.0.1:PORT inside the container,
#: once a first line ("go") arrives: a relay keeps one started ahead, so a connection does not wait
#: for an exec to start, and a spare never touches the server.
PROGRAMS: dict[str, list[str]] = {
    "socat": ["sh", "-c", 'read -r go && exec socat - "TCP:127.0.0.1:$1"', "relay", "{port}"],
    # When our side closes, the reader is killed too, so the server sees its client go.
    "bash": [
        "bash",
        "-c",
        'read -r go || exit 1; exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1; cat <&3 & cat >&3; kill $!',
        "relay",
        "{port}",
    ],
    "nc": ["sh", "-c", 'read -r go && exec nc 127.0.0.1 "$1"', "relay", "{port}"],
}
GO = b"go\n"
_PROBE = "for t in " + " ".join(PROGRAMS) + "; do command -v $t >/dev/null 2>&1 && { echo $t; exit 0; }; done; exit 1"
_CHUNK = 1 << 16


class Relay:
    """A private Unix socket here (``socket_name`` in a 0700 directory of ours); each connection
    to it is joined to the stdin and stdout of its own ``argv`` child."""

    def __init__(self, runner: Runner, argv: list[str], socket_name: str, what: str, *, go: bytes = b"") -> None:
        self.runner = runner
        self.argv = argv
        self.go = go  # the line a waiting child needs before it connects; a spare is kept when set
        self._spare: Child | None = None
        self.socket_name = socket_name
        self.what = what
        self.directory: Path | None = None
        self._listener: socket.socket | None = None
        self._children: set[Child] = set()
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        assert self.directory is not None
        return self.directory / self.socket_name

    def open(self, directory: Path | None = None) -> Path:
        """Start listening; the directory holding the socket (libpq's ``host`` for a socket)."""
        self.directory = directory or private_directory("stacktasks-relay-")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.path))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._serve, name=self.what, daemon=True).start()
        atexit.register(self.close)
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

    def _start_child(self) -> Child:
        pipe = subprocess.PIPE
        return self.runner.start(self.argv, stdin=pipe, stdout=pipe, what=self.what, quiet=True, changes=False)

    def _take_child(self) -> Child:
        """The spare started ahead when there is one (and the next spare started), else a new child."""
        if not self.go:
            return self._start_child()
        with self._lock:
            child, self._spare = self._spare, None
        if child is None or child.process.poll() is not None:
            child = self._start_child()
        child.stdin.write(self.go)
        child.stdin.flush()
        threading.Thread(target=self._start_spare, daemon=True).start()
        return child

    def _start_spare(self) -> None:
        with contextlib.suppress(StackError):
            spare = self._start_child()
            with self._lock:
                if self._listener is None or self._spare is not None:
                    spare.stop()
                    return
                self._spare = spare
                self._children.add(spare)

    def _join(self, connection: socket.socket) -> None:
        """One connection: our socket's bytes into the child's stdin, its stdout back."""
        try:
            child = self._take_child()
        except (StackError, OSError):
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


def service_relay(runner: Runner, compose: Compose, service: str, port: int, socket_name: str) -> Relay | None:
    """An open relay to ``port`` inside ``service``'s container, through the engine; None when
    the service runs no container."""
    ids = compose.container_ids([service])
    if not ids:
        return None
    probe = runner.capture(compose.container_exec_argv(ids[0], ["sh", "-c", _PROBE]), check=False)
    program = probe.stdout.strip()
    if probe.returncode != 0 or program not in PROGRAMS:
        raise StackError(
            f"{service}:{port} is reachable only through the engine, and its image has none of "
            f"{', '.join(PROGRAMS)} to relay it",
            hint="publish the port on an address this machine reaches (inv doctor shows the engine)",
        )
    argv = compose.container_exec_argv(ids[0][:12], [part.format(port=port) for part in PROGRAMS[program]])
    relay = Relay(runner, argv, socket_name, f"relay to {service}", go=GO)
    relay.open()
    relay._start_spare()  # the first connection follows at once
    runner.note(f"{service}:{port} through the engine: one `{format_argv(argv)}` per connection")
    return relay


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


#: The master connection's remote command (a constant: nothing from input is in it).
