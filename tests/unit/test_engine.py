"""Where the engine is, and how a service's published port is reached from here."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacktasks.compose.client import Compose
from stacktasks.compose.version import ComposeVersion
from stacktasks.engine.context import Engine, child_environment
from stacktasks.engine.ssh import SshTunnel
from stacktasks.errors import StackError
from stacktasks.runner import Runner
from stacktasks.settings import Settings, resolve
from tests.recording import RecordingRunner

LOCAL = Engine("unix:///var/run/docker.sock", "default", "the current docker context")


def test_a_local_engine_is_reached_on_loopback_for_a_wildcard_bind() -> None:
    assert LOCAL.reach("0.0.0.0", 15432) == ("127.0.0.1", 15432)
    assert LOCAL.reach("127.0.0.1", 15432) == ("127.0.0.1", 15432)


def test_a_tcp_engine_is_reached_on_its_own_host() -> None:
    engine = Engine("tcp://10.77.0.2:2375", None, "DOCKER_HOST")
    assert engine.reach("0.0.0.0", 15432) == ("10.77.0.2", 15432)
    assert not engine.local and engine.host == "10.77.0.2"


@pytest.mark.parametrize(("endpoint", "bound"), [("tcp://vm:2375", "127.0.0.1"), ("ssh://me@vm", "0.0.0.0")])
def test_what_a_remote_engine_publishes_on_its_loopback_or_over_ssh_is_not_reached(endpoint: str, bound: str) -> None:
    assert Engine(endpoint, None, "DOCKER_HOST").reach(bound, 15432) is None


def test_the_docker_context_setting_wins_over_an_inherited_docker_host() -> None:
    env = child_environment("staging-vm", {"DOCKER_HOST": "unix:///var/run/docker.sock", "PATH": "/bin"})
    assert env == {"DOCKER_CONTEXT": "staging-vm", "PATH": "/bin"}
    assert child_environment(None, {"DOCKER_HOST": "tcp://vm:2375"}) == {"DOCKER_HOST": "tcp://vm:2375"}


def test_the_engine_says_where_it_is_and_why() -> None:
    assert LOCAL.describe() == "context default, unix:///var/run/docker.sock [local; from the current docker context]"


def write_pyproject(root: Path, body: str) -> None:
    (root / "pyproject.toml").write_text("[tool.stacktasks]\n" + body)


def test_a_stage_names_its_own_context(tmp_path: Path) -> None:
    write_pyproject(tmp_path, 'stage = "staging"\nstage_contexts = ["staging=staging-vm", "prod=prod-vm"]\n')
    assert resolve(tmp_path).engine_context() == "staging-vm"


def test_a_stage_without_a_context_uses_dockers_own(tmp_path: Path) -> None:
    write_pyproject(tmp_path, 'stage_contexts = ["staging=staging-vm"]\n')
    assert resolve(tmp_path).engine_context() is None


def test_docker_context_wins_over_the_stages_context(tmp_path: Path) -> None:
    write_pyproject(tmp_path, 'stage = "staging"\ndocker_context = "mine"\nstage_contexts = ["staging=staging-vm"]\n')
    assert resolve(tmp_path).engine_context() == "mine"


def test_a_stage_context_without_an_equals_sign_is_refused(tmp_path: Path) -> None:
    write_pyproject(tmp_path, 'stage_contexts = ["staging-vm"]\n')
    with pytest.raises(StackError, match="each entry is STAGE=CONTEXT"):
        resolve(tmp_path).engine_context()


def compose_on(engine: Engine, recorder: RecordingRunner) -> Compose:
    version = ComposeVersion(("docker", "compose"), (2, 40, 3), "2.40.3")
    return Compose(Settings(), recorder, version, engine=lambda: engine)


def test_a_port_published_on_a_tcp_engines_loopback_is_reached_through_the_engine(recorder: RecordingRunner) -> None:
    recorder.answer("port", stdout="127.0.0.1:15432\n")
    route = compose_on(Engine("tcp://vm:2375", None, "DOCKER_HOST"), recorder).route("db", 5432)
    assert route.address is None
    assert route.how == (
        "db:5432 through the engine: published on 127.0.0.1:15432 of the engine's machine, "
        "which this machine cannot reach"
    )


def test_a_port_published_on_every_address_of_a_tcp_engine_is_reached_on_its_host(recorder: RecordingRunner) -> None:
    recorder.answer("port", stdout="0.0.0.0:15432\n")
    route = compose_on(Engine("tcp://vm:2375", None, "DOCKER_HOST"), recorder).route("db", 5432)
    assert route.address == ("vm", 15432)


def test_an_unpublished_port_of_a_remote_engine_is_not_looked_for_on_a_bridge(recorder: RecordingRunner) -> None:
    recorder.answer("port", code=1)
    route = compose_on(Engine("ssh://me@vm", None, "DOCKER_HOST"), recorder).route("db", 5432)
    assert route.address is None and "no published port (and the engine is remote)" in route.how
    assert not any("inspect" in argv for argv in recorder.commands)


def test_an_unpublished_port_of_a_local_engine_is_the_containers_address(recorder: RecordingRunner) -> None:
    recorder.answer("port", code=1).answer("ps", stdout="c0ffee\n").answer("inspect", stdout="172.18.0.5 \n")
    assert compose_on(LOCAL, recorder).route("db", 5432).address == ("172.18.0.5", 5432)


def test_the_ssh_tunnel_passes_the_endpoints_user_and_port_before_the_host() -> None:
    tunnel = SshTunnel(Runner(env={}, cwd=Path.cwd()), "ssh://deploy@vm.example:2222")
    try:
        argv = tunnel.ssh_argv("-T", "--", tunnel.host, "true")
        assert argv == [
            "ssh",
            "-o",
            f"ControlPath={tunnel.control}",
            "-l",
            "deploy",
            "-p",
            "2222",
            "-T",
            "--",
            "vm.example",
            "true",
        ]
    finally:
        tunnel.close()
    assert not tunnel.directory.exists()


def test_the_engine_is_settled_before_the_first_docker_call_whichever_it_is(tmp_path: Path) -> None:
    from stacktasks.testing import RecordingRunner, project_for_test

    runner = RecordingRunner(env={}, cwd=tmp_path).answer("docker", "info", stdout="27.0|overlay2|0|x")
    project = project_for_test(tmp_path, runner, {"name": "shop", "services": {}})
    project.runner.capture(["docker", "info", "--format", "{{.ServerVersion}}"])
    assert [argv[:3] for argv in runner.commands] == [["docker", "context", "show"], ["docker", "info", "--format"]]


def docker_config(home: Path, current: str | None, contexts: dict[str, object]) -> dict[str, str]:
    """A docker CLI config folder as the CLI writes it, and an environment naming it."""
    import hashlib
    import json

    folder = home / ".docker"
    folder.mkdir(parents=True)
    if current is not None:
        (folder / "config.json").write_text(json.dumps({"currentContext": current}))
    for name, meta in contexts.items():
        directory = folder / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
        directory.mkdir(parents=True)
        (directory / "meta.json").write_text(json.dumps(meta))
    return {"HOME": str(home)}


def test_the_current_context_is_read_from_the_docker_clis_own_files_without_a_process(tmp_path: Path) -> None:
    from stacktasks.engine.context import current_engine

    meta = {"Name": "devvm", "Endpoints": {"docker": {"Host": "ssh://me@devvm"}}}
    runner = RecordingRunner(env=docker_config(tmp_path, "devvm", {"devvm": meta}), cwd=tmp_path)
    engine = current_engine(None, runner)
    assert (engine.endpoint, engine.context) == ("ssh://me@devvm", "devvm")
    assert runner.commands == []


def test_a_context_file_of_another_shape_is_not_trusted_the_cli_is_asked(tmp_path: Path) -> None:
    from stacktasks.engine.context import current_engine

    env = docker_config(tmp_path, "devvm", {"devvm": {"Name": "devvm", "Endpoints": ["not", "a", "table"]}})
    runner = RecordingRunner(env=env, cwd=tmp_path).answer("context", "inspect", stdout="tcp://devvm:2375\n")
    assert current_engine(None, runner).endpoint == "tcp://devvm:2375"
    assert runner.commands == [["docker", "context", "inspect", "--format", "{{.Endpoints.docker.Host}}", "devvm"]]
