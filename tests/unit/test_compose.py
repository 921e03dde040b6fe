"""The argv compose is given, for v2 and the legacy v1."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from stacktasks.compose.client import Compose
from stacktasks.compose.model import ComposeModel
from stacktasks.compose.version import ComposeVersion, parse_version
from stacktasks.errors import StackError
from stacktasks.runner import Runner
from stacktasks.settings import Settings, resolve

V2 = ComposeVersion(("docker", "compose"), (2, 40, 3), "2.40.3")
V1 = ComposeVersion(("docker-compose",), (1, 29, 2), "1.29.2")


def compose(tmp_path: Path, version: ComposeVersion = V2, **overrides: object) -> Compose:
    settings = resolve(tmp_path, collection_overrides=overrides)
    return Compose(settings, Runner(env={}, cwd=tmp_path), version)


def test_base_carries_files_project_name_and_profiles(tmp_path: Path) -> None:
    c = compose(
        tmp_path,
        compose_files=["docker-compose.yml", "docker-compose.prod.yml"],
        project_name="shop",
        profiles=["build"],
    )
    assert c.argv("ps") == [
        "docker",
        "compose",
        "-f",
        "docker-compose.yml",
        "-f",
        "docker-compose.prod.yml",
        "-p",
        "shop",
        "--profile",
        "build",
        "ps",
    ]


def test_legacy_command_is_used_as_configured(tmp_path: Path) -> None:
    assert compose(tmp_path, V1).argv("ps") == ["docker-compose", "ps"]


def test_up_waits_for_health_on_v2() -> None:
    c = compose(Path("."))
    assert c.up_args(["api"], build=True, wait=True, timeout=60) == [
        "up",
        "-d",
        "--build",
        "--wait",
        "--wait-timeout",
        "60",
        "api",
    ]


def test_up_never_passes_wait_to_v1(tmp_path: Path) -> None:
    assert compose(tmp_path, V1).up_args([], wait=True) == ["up", "-d"]


def test_logs_flags_map_to_compose_flags(tmp_path: Path) -> None:
    args = compose(tmp_path).logs_args(["api", "worker"], follow=True, tail="100", since="10m", timestamps=True)
    assert args == ["logs", "-f", "--tail=100", "--since=10m", "-t", "api", "worker"]


def test_logs_since_is_refused_on_v1_with_a_reason(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="no `logs --since`"):
        compose(tmp_path, V1).logs_args([], since="10m")


def test_exec_is_non_interactive_unless_asked(tmp_path: Path) -> None:
    c = compose(tmp_path)
    assert c.exec_args("api", ["pytest", "-x"]) == ["exec", "-T", "api", "pytest", "-x"]
    assert c.exec_args("api", ["bash"], interactive=True) == ["exec", "api", "bash"]


def test_exec_environment_is_passed_as_separate_arguments(tmp_path: Path) -> None:
    args = compose(tmp_path).exec_args("api", ["pytest"], env={"PY_COLORS": "1"})
    assert args == ["exec", "-T", "-e", "PY_COLORS=1", "api", "pytest"]


def test_down_removes_orphans_and_volumes_and_images_only_when_asked(tmp_path: Path) -> None:
    c = compose(tmp_path)
    assert c.down_args() == ["down", "--remove-orphans"]
    assert c.down_args(volumes=True, rmi="local") == ["down", "--remove-orphans", "-v", "--rmi", "local"]


def test_a_hostile_service_argument_stays_one_argv_element(tmp_path: Path) -> None:
    args = compose(tmp_path).exec_args("api; rm -rf /", ["echo", "$(id)"])
    assert args[-3:] == ["api; rm -rf /", "echo", "$(id)"]


def test_version_text_is_parsed_from_either_form() -> None:
    assert parse_version("2.40.3") == (2, 40, 3)
    assert parse_version("docker-compose version 1.29.2, build unknown") == (1, 29, 2)
    assert V1.is_v1 and not V1.supports_wait and V2.supports_wait


def test_model_reads_ports_in_both_forms() -> None:
    model = ComposeModel.from_config(
        {
            "services": {
                "v2": {"ports": [{"target": 5432, "published": "15432", "host_ip": "127.0.0.1"}]},
                "v1": {"ports": ["127.0.0.1:16379:6379", "8000:8000/tcp"]},
            }
        }
    )
    assert model.published_ports("v2") == [("127.0.0.1", 15432, 5432)]
    assert model.published_ports("v1") == [("127.0.0.1", 16379, 6379), ("", 8000, 8000)]


def test_default_services_leave_out_inactive_profiles() -> None:
    model = ComposeModel.from_config({"services": {"app": {}, "frontend": {"profiles": ["build"]}}})
    assert model.default_services([]) == ["app"]
    assert model.default_services(["build"]) == ["app", "frontend"]


def test_a_per_stage_overlay_applies_only_where_it_exists(tmp_path: Path) -> None:
    from stacktasks.compose.files import stage_files

    (tmp_path / "docker-compose.prod.yml").write_text("services: {}\n")
    settings = Settings(root=tmp_path, compose_files=["docker-compose.yml", "docker-compose.{stage}.yml"])
    assert stage_files(settings) == ["docker-compose.yml"]
    settings = dataclasses.replace(settings, stage="prod")
    assert stage_files(settings) == ["docker-compose.yml", "docker-compose.prod.yml"]
