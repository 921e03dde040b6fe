"""One ssh connection to an ssh engine (``DOCKER_HOST=ssh://…``) for the whole task, where docker
alone opens one, handshake and all, per call.

Two ways, by what the user's own ssh config says of the host (``ssh -G``, which applies it):

- it keeps a connection open across commands (``ControlMaster auto`` with a ``ControlPersist``):
  that connection is used, or made as their config makes it. It outlives the task because they
  chose so; stacktasks adds its forwards to it and cancels them when the task ends. A task then
  costs no handshake at all;
- otherwise stacktasks opens a master of its own, private to the task, which ends with it: one
  handshake per task (``inv doctor`` says how to keep one open instead).

Either way each docker call of the task is a channel of that connection: a local socket forwarded
to the engine's, or where sshd refuses that, ``docker system dial-stdio`` per call.
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
from pathlib import Path
from typing import IO, TYPE_CHECKING

from ..errors import StackError
from ..leftovers import private_directory
from .context import WILDCARD_BINDS
from .docker import dial_stdio_argv
from .relay import Relay

if TYPE_CHECKING:
    from ..runner import Child, Runner

_ENDPOINT = "docker context inspect --format '{{.Endpoints.docker.Host}}' 2>/dev/null; echo"
_ENDPOINT_THEN_HOLD = _ENDPOINT + "; exec cat >/dev/null"
#: How doctor tells a user to keep one connection open across tasks.
CONTROL_PERSIST_ADVICE = "ControlMaster auto, ControlPath ~/.ssh/cm-%C and ControlPersist 10m under Host {host}"


def ssh_options(endpoint: str) -> tuple[str, list[str]]:
    """The host and the user and port options of an ``ssh://`` endpoint."""
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint)
    options = [*(["-l", parts.username] if parts.username else []), *(["-p", str(parts.port)] if parts.port else [])]
    return parts.hostname or "", options


def kept_connection(runner: Runner, host: str, options: list[str]) -> Path | None:
    """The control socket of a connection the user's ssh config keeps open for ``host``, or None
    where it keeps none (no ControlMaster, ControlPersist no, or no ControlPath)."""
    try:
        result = runner.capture(["ssh", "-G", *options, "--", host], check=False, timeout=10)
    except StackError:  # no ssh here, or it did not answer: the task's own connection says why
        return None
    if result.returncode != 0:
        return None
    config: dict[str, str] = {}
    for line in result.stdout.splitlines():
        key, _, value = line.partition(" ")
        config.setdefault(key.lower(), value.strip())
    master = config.get("controlmaster", "no").lower()
    persist = config.get("controlpersist", "no").lower()
    path = config.get("controlpath", "none")
    if master in ("no", "false") or persist in ("no", "false") or path.lower() == "none" or "%" in path:
        return None  # (a path ssh -G left unexpanded cannot be checked here)
    return Path(path).expanduser()


class SshTunnel:
    """The task's connection (see the module's text); ``close`` ends what the task opened."""

    def __init__(self, runner: Runner, endpoint: str) -> None:
        self.runner = runner
        self.host, self.options = ssh_options(endpoint)
        self.directory = private_directory("stacktasks-ssh-")
        self.kept = kept_connection(runner, self.host, self.options)
        self.control = self.kept or self.directory / "control"
        self.master: Child | None = None
        self.forwards: list[tuple[str, Path]] = []  # (the -L spec, its socket's directory)
        self.relay: Relay | None = None

    @property
    def users_connection(self) -> bool:
        return self.kept is not None

    def ssh_argv(self, *options: str) -> list[str]:
        # On the user's kept connection their config decides everything: ControlPath included.
        control = [] if self.kept else ["-o", f"ControlPath={self.control}"]
        return ["ssh", *control, *self.options, *options]

    def open(self) -> str:
        """Connect; the ``DOCKER_HOST`` that reaches the engine through this connection."""
        remote = self._endpoint_on_kept() if self.kept else self._endpoint_on_own()
        # A socket there is forwarded to one here: each docker call is then only a channel of the
        # connection. Else each runs `docker system dial-stdio` there, as docker itself does.
        local = self.directory / "docker.sock"
        if remote.startswith("unix://"):
            spec = f"{local}:{remote.removeprefix('unix://')}"
            forward = self.ssh_argv("-O", "forward", "-L", spec, "--", self.host)
            if self.runner.capture(forward, check=False).returncode == 0:
                self.forwards.append((spec, self.directory))
                return f"unix://{local}"
        session = self.ssh_argv("-o", "ControlMaster=no", "-T", "--", self.host, *dial_stdio_argv())
        relay = Relay(self.runner, session, local.name, "ssh engine")
        relay.open(self.directory)
        self.relay = relay
        return f"unix://{relay.path}"

    def _endpoint_on_kept(self) -> str:
        """Where the engine listens over there, asked over the user's connection (which their
        config opens now, and keeps, where it is not open yet)."""
        result = self.runner.capture(
            [*self.ssh_argv("-o", "ConnectTimeout=30", "-T", "--", self.host), _ENDPOINT], check=False, timeout=60
        )
        if result.returncode != 0:
            self.close()
            reason = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else f"exit {result.returncode}"
            raise StackError(f"could not reach the engine at {self.host} over your ssh connection: {reason}")
        return result.stdout.strip()

    def _endpoint_on_own(self) -> str:
        # The connection's own session first says where the engine listens over there, as docker
        # there sees it (its DOCKER_HOST included), then holds the connection open until our end
        # of its stdin closes (the task ended, or was killed).
        master = self.ssh_argv(
            "-o", "ControlMaster=yes", "-o", "ControlPersist=no", "-o", "ConnectTimeout=30",
            "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=3", "-T", "--", self.host, _ENDPOINT_THEN_HOLD,
        )  # fmt: skip
        self.master = self.runner.start(
            master, stdin=subprocess.PIPE, stdout=subprocess.PIPE, what="ssh to the engine", quiet=True, changes=False
        )
        atexit.register(self.close)
        remote = _first_line(self.master.stdout, timeout=40)
        if remote is None:
            reason = self.master.tail.reason() if self.master.tail and self.master.process.poll() is not None else ""
            self.close()
            raise StackError(f"could not open an ssh connection to the engine at {self.host}: {reason or 'no answer'}")
        return remote

    def forward(self, socket_name: str, published: tuple[str, int]) -> Path | None:
        """A socket here forwarded over the connection to a port the engine's machine publishes
        (its loopback for a wildcard bind); its directory, or None where sshd refuses."""
        host, port = published
        target = "127.0.0.1" if host in WILDCARD_BINDS else host
        directory = private_directory("stacktasks-forward-")
        spec = f"{directory / socket_name}:{target}:{port}"
        if self.runner.capture(self.ssh_argv("-O", "forward", "-L", spec, "--", self.host), check=False).returncode:
            shutil.rmtree(directory, ignore_errors=True)
            return None
        self.forwards.append((spec, directory))
        return directory

    def close(self) -> None:
        for spec, directory in self.forwards:
            if self.kept:  # the user's connection stays; what the task added to it goes
                self.runner.capture(self.ssh_argv("-O", "cancel", "-L", spec, "--", self.host), check=False)
            shutil.rmtree(directory, ignore_errors=True)
        self.forwards = []
        if self.relay is not None:
            self.relay.close()  # also removes the directory
            self.relay = None
        if self.master is not None:
            self.master.stop()
            self.master = None
        shutil.rmtree(self.directory, ignore_errors=True)


def _first_line(stream: IO[bytes], timeout: float) -> str | None:
    """The first line a child writes, or None if it ends or says nothing within ``timeout``."""
    import selectors

    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        if not selector.select(timeout):
            return None
    line = stream.readline()
    return line.decode(errors="replace").strip() if line else None
