"""The client tools (pg_dump, pg_restore, psql): where they run and the argv that runs them.

In the db service (``compose exec``, built by compose/client.py: client and server versions always
match), on this host, or in a throwaway container of the server's major version.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ..engine.docker import throwaway_argv
from ..errors import StackError
from .target import DbTarget

if TYPE_CHECKING:
    from ..compose.client import Compose
    from ..project import Project
    from ..runner import Runner
    from .loadrole import LoadRole


#: Runs a tool inside the service so that it cannot outlive stacktasks: the tool gets /dev/null as
#: its stdin, while a watcher reads ours (a pipe stacktasks holds open); when that pipe closes (the
#: task ended, or was killed, even by SIGKILL) the tool is ended. ``$1`` names a file to remove
#: when the tool is done, whichever way (the dump copy a restore streamed in). A background job's
#: stdin is /dev/null in sh unless redirected, hence fd 3. The watcher holds neither stdout nor
#: stderr: the engine ends an exec's output only when nothing holds them, else 2 s after it exits.
WATCHDOG = """
remove=$1; shift
exec 3<&0
"$@" </dev/null 3<&- &
tool=$!
( cat <&3; kill -TERM "$tool" ) >/dev/null 2>&1 &
watcher=$!
exec 3<&-
wait "$tool"; code=$?
kill "$watcher" 2>/dev/null
[ -n "$remove" ] && rm -f "$remove"
exit "$code"
"""
LEFTOVER_PREFIX = "/tmp/stacktasks-restore-"  # noqa: S108 - inside the db container


#: Where the client tools run: inside the db service, on this host, or in a one-off container.
ClientPlace = Literal["service", "host", "container"]


@dataclass
class PgClient:
    """Builds argv and environment for the client tools, wherever they must run."""

    target: DbTarget
    where: ClientPlace
    compose: Compose | None = None
    image: str | None = None

    def describe(self) -> str:
        if self.where == "service":
            return f"inside service {self.target.service}"
        if self.where == "container":
            return f"in a throwaway {self.image} container"
        return "on this host"

    def argv(
        self,
        tool: str,
        args: Sequence[str],
        *,
        dbname: str | None = None,
        stdin: bool = False,
        mounts: Mapping[str, str] | None = None,
        database: bool = True,
        interactive: bool = False,
        watched: bool = False,
        remove: str = "",
    ) -> list[str]:
        """``database=False`` for a tool that connects to none (`pg_restore -f -` writing SQL);
        ``watched`` (in the service) for a tool that must end with the task: see ``WATCHDOG``, and
        keep the child's stdin open until it exits."""
        db_flag = ["-d", dbname or self.target.dbname] if database else []
        if self.where == "service":
            assert self.compose is not None and self.target.service
            command = [tool, "-U", self.target.user, *db_flag, *args]
            # By name: compose reads the values from our environment (see ``env``).
            names = ["PGPASSWORD"] if self.target.password else []
            if watched and self.can_watch():
                command = ["sh", "-c", 'eval "$STACKTASKS_WATCHDOG"', "stacktasks-watchdog", remove, *command]
                names.append("STACKTASKS_WATCHDOG")
            return self.compose.exec_argv(self.target.service, command, pass_env=names, interactive=interactive)
        if self.where == "container":
            assert self.image
            return throwaway_argv(
                self.image,
                tool,
                [*db_flag, *args],
                host_network=True,
                stdin=stdin,
                terminal=interactive,
                env_names=list(self.env(dbname)),
                mounts=mounts,
            )
        return [tool, *db_flag, *args]

    def as_role(self, role: LoadRole) -> PgClient:
        """The same tools, logged in as ``role`` (the role a dump is applied as)."""
        return replace(self, target=replace(self.target, user=role.name, password=role.password))

    def can_watch(self) -> bool:
        """Compose v1 cannot pass the watchdog by name; its tools run unwatched, as before."""
        return self.where == "service" and self.compose is not None and not self.compose.version.is_v1

    def env(self, dbname: str | None = None, *, watched: bool = False) -> dict[str, str]:
        if self.where == "service":
            env = {"STACKTASKS_WATCHDOG": WATCHDOG} if watched and self.can_watch() else {}
            return {**env, "PGPASSWORD": self.target.password} if self.target.password else env
        return self.target.client_env(dbname)


def host_tool_major(runner: Runner, tool: str) -> int | None:
    """The major version of a client tool on this host, or None when it is missing."""
    path = shutil.which(tool, path=runner.env.get("PATH"))
    if not path:
        return None
    try:
        text = runner.capture([path, "--version"], check=False, timeout=10).stdout
    except StackError:
        return None
    match = re.search(r"(\d+)(?:\.\d+)?", text)
    return int(match.group(1)) if match else None


def choose_client(project: Project, target: DbTarget, server: int | None) -> PgClient:
    """Where the client tools run: in the service; on the host; or in a container of the server's major."""
    settings = project.settings.db
    if target.kind == "service":
        return PgClient(target, "service", project.compose())
    choice = settings.client
    image = settings.client_image.format(major=server or "latest")
    host = host_tool_major(project.runner, "pg_dump") if choice != "container" else None  # asked once
    host_can_dump = host is not None and (server is None or host >= server)
    if choice == "container" or (choice == "auto" and not host_can_dump):
        _refuse_remote_container(project, image)
    if choice == "container":
        return PgClient(target, "container", image=image)
    if choice == "host" or host_can_dump:
        if host is None:
            raise StackError("pg_dump is not installed on this host", hint="install postgresql-client")
        return PgClient(target, "host")
    project.runner.note(f"host pg_dump is {host or 'missing'}, server is {server}: using the {image} image")
    return PgClient(target, "container", image=image)


def _refuse_remote_container(project: Project, image: str) -> None:
    """A throwaway container runs on the engine's machine: on a remote engine its host network and
    its bind-mounted dump path are that machine's, not ours, so the URL and the file would be wrong."""
    if not project.engine.local:
        raise StackError(
            f"db.client would run {image} on the remote engine's machine, whose network and files are not this one's",
            hint="install the PostgreSQL client tools here (postgresql-client) and set db.client = host",
        )


def leftover_prefix(database: str) -> str:
    return LEFTOVER_PREFIX + re.sub(r"[^A-Za-z0-9_.-]", "_", database) + "-"


@contextlib.contextmanager
def file_in_service(runner: Runner, compose: Compose, service: str, path: Path, database: str) -> Iterator[str]:
    """Put a dump into the db container (pg_restore -j needs a seekable file); removed after.

    Streamed in through `exec -T … cat` rather than `docker cp`, so the file belongs to the
    service's own user (images that run as non-root can read it) and stays private (umask 077).
    The restore's watchdog removes it too, should stacktasks be killed (see ``WATCHDOG``).
    """
    import secrets

    if not compose.container_ids([service]):
        if not runner.dry:
            raise StackError(f"service {service} is not running", hint=f"inv up -s {service}")
        runner.note(f"service {service} is not running: the real run stops here (inv up -s {service})")
    inside = f"{leftover_prefix(database)}{secrets.token_hex(4)}{''.join(path.suffixes[-1:])}"
    write = compose.exec_argv(service, ["sh", "-c", 'umask 077 && cat > "$1"', "sh", inside])
    remove = compose.exec_argv(service, ["rm", "-f", inside])
    try:
        with path.open("rb") as source:
            runner.start(write, stdin=source, what=f"copying the dump into {service}").wait()
        yield inside
    finally:
        runner.run(remove, check=False)


def remove_leftovers(project: Project, client: PgClient) -> None:
    """Dump copies an interrupted restore of this database left in the service (held lock: none is ours now)."""
    if client.where != "service" or client.compose is None or not client.target.service:
        return
    pattern = leftover_prefix(client.target.dbname) + "*"
    script = 'n=0; for f in $1; do [ -e "$f" ] && rm -f "$f" && n=$((n+1)); done; echo "$n"'
    argv = client.compose.exec_argv(client.target.service, ["sh", "-c", script, "sh", pattern])
    result = project.runner.capture(argv, check=False)
    removed = result.stdout.strip()
    if result.returncode == 0 and removed.isdigit() and int(removed):
        project.runner.note(f"removed {removed} dump copies an interrupted restore left in {client.target.service}")


def open_psql(project: Project, args: str) -> None:
    """psql on the project's database, interactive when a person is at the terminal."""
    import shlex

    from ..project import interactive_terminal
    from .target import resolve_target

    target = resolve_target(project)
    client = choose_client(project, target, None)
    argv = client.argv("psql", shlex.split(args) + project.extra_args, stdin=True, interactive=interactive_terminal())
    code = project.runner.run(argv, check=False, extra_env=client.env())
    if code:
        raise StackError(f"psql exited with {code}", code=code)
