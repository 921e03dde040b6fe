"""End-to-end: the demo on a remote engine, every everyday task, over tcp and over ssh.

The engine is a second dockerd in its own network namespace (scripts/remote-engine), reached at
10.203.0.2 four ways: ``DOCKER_HOST=tcp://…``, ``DOCKER_HOST=ssh://root@…``, a ``docker context``
of the tcp endpoint chosen by ``DOCKER_CONTEXT``, and one of the ssh endpoint given as the
``docker_context`` setting. The demo publishes its ports on the engine machine's 127.0.0.1,
which this machine cannot reach, so PostgreSQL is reached through the engine (engine/relay.py) and Redis
is worked on inside its service. Every `inv` here records where it connected (audit/), and the
last test of each transport says that none of it went to loopback or to a bridge address.
The tests share one stack per transport and run in file order.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.remote import ADDRESS, AUDIT, NAMESPACE, SSH_HOST, TCP_HOST, docker_on, remote_engine_missing
from tests.helpers import copy_demo, require, run_inv

SSH_CONTEXT = "stacktasks-test-ssh"
TCP_CONTEXT = "stacktasks-test-tcp"


@dataclass
class RemoteDemo:
    project: Path
    env: dict[str, str]
    docker_host: str  # for the test's own look at the engine
    connections: Path
    name: str

    @property
    def over_ssh(self) -> bool:
        return SSH_HOST in self.env.values() or SSH_CONTEXT in self.env.values()

    @property
    def over_kept_connection(self) -> bool:
        return KEPT in self.env

    def inv(self, *args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
        return run_inv(self.project, *args, env=self.env, timeout=timeout)

    def containers(self, docker_host: str | None = None) -> list[str]:
        listed = docker_on(
            docker_host or self.docker_host, "ps", "-q", "--filter", f"label=com.docker.compose.project={self.name}"
        )
        return listed.stdout.split()

    def in_service(self, service: str, *command: str) -> str:
        """``command`` in the service's container, by the test itself, on the remote engine."""
        container = docker_on(
            self.docker_host,
            "ps",
            "-q",
            "--filter",
            f"label=com.docker.compose.project={self.name}",
            "--filter",
            f"label=com.docker.compose.service={service}",
        ).stdout.split()[0]
        result = docker_on(self.docker_host, "exec", container, *command)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def sql(self, statement: str) -> str:
        return self.in_service("db", "psql", "-U", "demo", "-d", "demo", "-Atc", statement)


KEPT = "STACKTASKS_TEST_KEPT_SSH"  # set: the user's ssh config keeps a connection to the engine open
#: How each run points stacktasks at the engine (the environment it gets), and its own ports.
TRANSPORTS = {
    "tcp-DOCKER_HOST": ({"DOCKER_HOST": TCP_HOST}, "29901"),
    "ssh-DOCKER_HOST": ({"DOCKER_HOST": SSH_HOST}, "29902"),
    "tcp-DOCKER_CONTEXT": ({"DOCKER_CONTEXT": TCP_CONTEXT, "DOCKER_HOST": ""}, "29903"),
    "ssh-docker_context-setting": ({"INVOKE_STACKTASKS_DOCKER_CONTEXT": SSH_CONTEXT, "DOCKER_HOST": ""}, "29904"),
    "ssh-kept-connection": ({"DOCKER_HOST": SSH_HOST, KEPT: "1"}, "29905"),
}
SSH_CONFIG = Path("/root/.ssh/config")  # ssh reads the passwd entry's home, never $HOME


@pytest.fixture(scope="module")
def contexts() -> Iterator[None]:
    """Two docker contexts: one for each way to the second engine."""
    require(remote_engine_missing())
    for name, host in ((TCP_CONTEXT, TCP_HOST), (SSH_CONTEXT, SSH_HOST)):
        subprocess.run(["docker", "context", "rm", "-f", name], capture_output=True)
        created = subprocess.run(
            ["docker", "context", "create", name, "--docker", f"host={host}"], capture_output=True, text=True
        )
        assert created.returncode == 0, created.stderr
    yield
    for name in (TCP_CONTEXT, SSH_CONTEXT):
        subprocess.run(["docker", "context", "rm", "-f", name], capture_output=True)


@pytest.fixture(scope="module")
def kept_connection() -> Iterator[Path]:
    """The user's ssh config keeps a connection to the engine open (ControlMaster auto and a
    ControlPersist), for the runs that set KEPT: a Match block put first in the config, as a
    user's own Host block would be; removed, with the connection, afterwards."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="stk-ssh-", dir="/tmp"))  # a socket path is at most 108 bytes
    block = (
        f'Match host {ADDRESS} exec "test x${KEPT} = x1"\n'
        f"  ControlMaster auto\n  ControlPath {folder}/cm-%C\n  ControlPersist 120\n"
    )
    before = SSH_CONFIG.read_text() if SSH_CONFIG.exists() else ""
    SSH_CONFIG.write_text(block + before)
    try:
        yield folder
    finally:
        env = {**os.environ, KEPT: "1"}
        subprocess.run(["ssh", "-O", "exit", "-l", "root", ADDRESS], env=env, capture_output=True, timeout=30)
        SSH_CONFIG.write_text(SSH_CONFIG.read_text().replace(block, "", 1))
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module", params=list(TRANSPORTS))
def remote(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, contexts: None
) -> Iterator[RemoteDemo]:
    transport_env, port = TRANSPORTS[request.param]
    if KEPT in transport_env:
        request.getfixturevalue("kept_connection")
    name = f"stacktasks-e2e-remote-{port}"
    folder = tmp_path_factory.mktemp("e2e-remote")
    ports = {"APP_PORT": port, "DB_PORT": str(int(port) + 100), "REDIS_PORT": str(int(port) + 200)}
    env = {
        **transport_env,  # an empty DOCKER_HOST is docker's default: the context must do it alone
        "INVOKE_STACKTASKS_PROJECT_NAME": name,
        "PYTHONPATH": str(AUDIT),
        "STACKTASKS_CONNECTIONS": str(folder / "connections.log"),
    }
    demo = RemoteDemo(copy_demo(folder / "demo", ports), env, TCP_HOST, folder / "connections.log", name)
    try:
        yield demo
    finally:
        docker_on(TCP_HOST, "compose", "-p", name, "down", "-v", "--remove-orphans", timeout=300)


def test_up_starts_the_stack_on_the_remote_engine_and_not_on_this_one(remote: RemoteDemo) -> None:
    result = remote.inv("up")
    assert result.returncode == 0, result.stderr
    assert len(remote.containers()) == 4
    assert remote.containers(docker_host="unix:///var/run/docker.sock") == []


def test_an_ssh_engine_is_reached_over_one_connection_per_task(remote: RemoteDemo) -> None:
    result = remote.inv("ps")
    assert result.returncode == 0, result.stderr
    own = remote.over_ssh and not remote.over_kept_connection
    assert ("one ssh connection for this task" in result.stderr) == own
    assert ("the connection your ssh config keeps open" in result.stderr) == remote.over_kept_connection


def master_pid(env: dict[str, str]) -> str:
    check = subprocess.run(
        ["ssh", "-O", "check", "-l", "root", ADDRESS], env={**os.environ, **env}, capture_output=True, text=True
    )
    return check.stderr.strip() if check.returncode == 0 else ""


@pytest.mark.parametrize("remote", ["ssh-kept-connection"], indirect=True)
def test_the_connection_the_users_ssh_config_keeps_is_reused_and_outlives_the_task(remote: RemoteDemo) -> None:
    remote.inv("ps")
    master = master_pid(remote.env)
    assert master.startswith("Master running"), master
    doctor = remote.inv("doctor")
    assert "ssh connection" in doctor.stdout and "your ssh config keeps one open" in doctor.stdout
    assert remote.inv("exec", "app", "--", "true").returncode == 0
    assert master_pid(remote.env) == master  # the same connection, still there: no handshake per task


def test_exec_runs_in_the_remote_container(remote: RemoteDemo) -> None:
    result = remote.inv("exec", "app", "--", "hostname")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == remote.in_service("app", "hostname")


def test_logs_show_the_remote_services_output(remote: RemoteDemo) -> None:
    result = remote.inv("logs", "-s", "db", "--tail", "200")
    assert result.returncode == 0, result.stderr
    assert "ready to accept connections" in result.stdout


def test_migrate_reaches_the_database_through_the_engine(remote: RemoteDemo) -> None:
    result = remote.inv("db.migrate")
    assert result.returncode == 0, result.stderr
    assert "route: db:5432 through the engine" in result.stderr
    way = "forwarded over the task's ssh connection" if remote.over_ssh else "one `docker exec -i"
    assert way in result.stderr
    assert remote.sql("select count(*) from alembic_version") == "1"


def test_test_runs_the_apps_tests_on_the_remote_engine(remote: RemoteDemo) -> None:
    result = remote.inv("test", "--", "-k", "greeting")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed" in result.stdout


def test_backup_dumps_the_remote_database_with_its_row_counts(remote: RemoteDemo) -> None:
    remote.sql("insert into notes (body) values ('kept by the backup'), ('also kept')")
    result = remote.inv("db.backup")
    assert result.returncode == 0, result.stderr
    manifests = sorted((remote.project / "backups").glob("*.json"))
    assert len(manifests) == 1
    assert '"public.notes": 2' in manifests[0].read_text()


def test_restore_puts_back_what_the_backup_saw(remote: RemoteDemo) -> None:
    remote.sql("delete from notes")
    result = remote.inv("db.restore", "--latest", "--yes")
    assert result.returncode == 0, result.stderr
    assert "row counts of 2 tables match the manifest" in result.stdout
    assert remote.sql("select string_agg(body, ',' order by id) from notes") == "kept by the backup,also kept"


def test_undo_puts_back_the_database_the_restore_replaced(remote: RemoteDemo) -> None:
    result = remote.inv("db.undo", "--yes")
    assert result.returncode == 0, result.stderr
    assert remote.sql("select count(*) from notes") == "0"


def test_flush_ratelimits_deletes_the_remote_keys_and_no_others(remote: RemoteDemo) -> None:
    for key in ("ratelimit:a", "ratelimit:b", "session:keep"):
        remote.in_service("redis", "redis-cli", "set", key, "1")
    result = remote.inv("redis.flush-ratelimits", "--yes")
    assert result.returncode == 0, result.stderr
    assert "deleted 2 keys" in result.stdout
    assert remote.in_service("redis", "redis-cli", "--scan") == "session:keep"


def test_dry_run_and_doctor_say_which_engine_and_which_route(remote: RemoteDemo) -> None:
    dry = remote.inv("--dry", "db.backup")
    assert dry.returncode == 0, dry.stderr
    assert "route: db:5432 through the engine: published on 127.0.0.1:" in dry.stdout
    doctor = remote.inv("doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert f"{ADDRESS}" in doctor.stdout and "remote (" in doctor.stdout
    if remote.over_ssh and not remote.over_kept_connection:
        assert "each task opens its own (one handshake a task); to keep one open" in doctor.stdout
    assert "route to redis" in doctor.stdout and "bind mounts" in doctor.stdout
    assert "GB free in /var/lib/stacktasks-remote/docker on the engine's machine" in doctor.stdout


def test_front_build_runs_on_the_remote_engine_and_says_its_output_is_there(remote: RemoteDemo) -> None:
    result = remote.inv("front.build")
    assert result.returncode == 0, result.stderr
    assert "on the remote engine's machine: not checked from here" in result.stdout


def test_reset_backs_up_then_removes_the_remote_stack(remote: RemoteDemo) -> None:
    before = set((remote.project / "backups").glob("*.dump"))
    result = remote.inv("reset", "--yes")
    assert result.returncode == 0, result.stderr
    assert len(set((remote.project / "backups").glob("*.dump")) - before) == 1
    assert remote.containers() == []


def test_no_task_connected_to_loopback_or_to_a_bridge_address(remote: RemoteDemo) -> None:
    lines = remote.connections.read_text().splitlines()
    assert any(line.startswith("psycopg") for line in lines), "the audit recorded no connection at all"
    for line in lines:
        if line.startswith("psycopg"):
            host = line.split("host=")[1].split()[0].strip("'")
            assert host.startswith("/") or host == ADDRESS, line  # the relay's socket, or the engine's host
        elif " AF_INET" in line:
            address = ipaddress.ip_address(line.split("('")[1].split("'")[0])
            assert (not address.is_loopback and not address.is_private) or str(address) == ADDRESS, line


def test_up_refuses_a_port_taken_on_the_engines_machine_and_says_where_to_change_it(
    contexts: None, tmp_path: Path
) -> None:
    name, port = "stacktasks-e2e-remote-taken", 29960
    project = copy_demo(tmp_path / "demo", {"APP_PORT": "29961", "DB_PORT": str(port), "REDIS_PORT": "29962"})
    listen = (
        f"import socket, time; s = socket.socket(); s.bind(('127.0.0.1', {port})); s.listen(); "
        "print('ready', flush=True); time.sleep(300)"
    )
    holder = subprocess.Popen(
        ["nsenter", f"--net={NAMESPACE}", sys.executable, "-c", listen], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        result = run_inv(project, "up", env={"DOCKER_HOST": TCP_HOST, "INVOKE_STACKTASKS_PROJECT_NAME": name})
        assert result.returncode == 1, result.stderr
        assert f"host ports already taken: {port} (db, compose.yaml:" in result.stderr
        assert f"hint: set DB_PORT={port + 10000} in .env" in result.stderr
        assert docker_on(TCP_HOST, "ps", "-aq", "--filter", f"label=com.docker.compose.project={name}").stdout == ""
    finally:
        holder.kill()
        docker_on(TCP_HOST, "compose", "-p", name, "down", "-v", "--remove-orphans", timeout=300)


def test_the_connection_audit_records_loopback_connections(tmp_path: Path) -> None:
    """The audit the test above relies on does see a connection to this machine's servers."""
    log = tmp_path / "connections.log"
    code = (
        "import socket, psycopg\n"
        "socket.create_connection(('127.0.0.1', 6379)).close()\n"
        "psycopg.connect(host='127.0.0.1', port=5432, user='stacktasks', password='stacktasks',"
        " dbname='postgres').close()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(AUDIT), "STACKTASKS_CONNECTIONS": str(log)}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    recorded = log.read_text()
    assert "AF_INET ('127.0.0.1', 6379)" in recorded
    assert "psycopg host='127.0.0.1' port=5432" in recorded
