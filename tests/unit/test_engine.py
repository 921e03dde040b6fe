"""Where the engine is, and how a service's published port is reached from here."""

from __future__ import annotations

import pytest

from stacktasks.engine import Engine, child_environment

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
