"""Every compose project on the engine, read from one `docker ps`, and who holds a port."""

from __future__ import annotations

import json
from pathlib import Path

from stacktasks.engine.ports import TakenPort, listed, taken_ports_hint
from stacktasks.engine.projects import holders, parse_containers, printable, set_up_with_stacktasks
from stacktasks.lifecycle import containers_record
from tests.recording import RecordingRunner
from tests.unit.flows import project_on

LINES = [
    "shop\tdb\trunning\t/src/shop\t/src/shop/compose.yaml,/src/shop/compose.override.yaml\t"
    "0.0.0.0:5432->5432/tcp, [::]:5432->5432/tcp",
    "shop\tapp\texited\t/src/shop\t/src/shop/compose.yaml\t",
    "blog\tweb\trunning\t/src/blog\t/src/blog/compose.yaml\t127.0.0.1:8000-8001->8000-8001/tcp",
    "\tlonely\trunning\t\t\t",  # a container without a compose project: not listed
]


def test_projects_are_grouped_by_name_with_state_folder_files_and_ports() -> None:
    blog, shop = parse_containers(LINES)
    assert (shop.name, shop.folder, shop.state()) == ("shop", "/src/shop", "exited(1), running(1)")
    assert shop.config_files == ["/src/shop/compose.yaml", "/src/shop/compose.override.yaml"]
    assert [port.shown() for port in shop.ports] == ["0.0.0.0:5432->5432/tcp", "[::]:5432->5432/tcp"]
    assert [(port.published, port.target) for port in blog.ports] == [(8000, 8000), (8001, 8001)]


def test_the_holder_of_a_port_is_another_projects_service() -> None:
    projects = parse_containers(LINES)
    assert [(item.name, service) for item, service in holders(projects, 5432, but="blog")] == [
        ("shop", "db"),
        ("shop", "db"),
    ]
    assert holders(projects, 5432, but="shop") == []


def test_a_folder_with_a_stacktasks_table_or_tasks_py_is_set_up(tmp_path: Path) -> None:
    assert not set_up_with_stacktasks(tmp_path)
    (tmp_path / "tasks.py").write_text("from stacktasks import collection\nns = collection()\n")
    assert set_up_with_stacktasks(tmp_path)


def test_a_port_held_by_another_stack_names_it_and_the_command_that_stops_it(
    tmp_path: Path, recorder: RecordingRunner
) -> None:
    project = project_on(tmp_path, recorder)
    taken = [TakenPort("db", 5432, "compose.yaml:9", "DB_PORT", ("shop", "db", "/src/shop"))]
    assert listed(taken) == "5432 (db, compose.yaml:9, held by service db of compose project shop)"
    hint = taken_ports_hint(project, taken)
    assert hint.startswith("stop the other stack's services: `docker compose -p shop stop db` (its folder: /src/shop)")
    assert "; or move this stack's ports: set DB_PORT=" in hint


def test_ps_json_reads_both_of_composes_formats(tmp_path: Path, recorder: RecordingRunner) -> None:
    row = {
        "Service": "db",
        "Name": "shop-db-1",
        "State": "running",
        "Health": "healthy",
        "Status": "Up 2 minutes (healthy)",
        "Publishers": [
            {"URL": "127.0.0.1", "TargetPort": 5432, "PublishedPort": 15432, "Protocol": "tcp"},
            {"URL": "", "TargetPort": 9187, "PublishedPort": 0, "Protocol": "tcp"},
        ],
    }
    expected = {
        "containers": [
            {
                "service": "db",
                "name": "shop-db-1",
                "state": "running",
                "health": "healthy",
                "status": "Up 2 minutes (healthy)",
                "ports": [{"host_ip": "127.0.0.1", "published": 15432, "target": 5432, "protocol": "tcp"}],
            }
        ]
    }
    for printed in (json.dumps([row]), json.dumps(row) + "\n"):  # before Compose 2.21, and after
        runner = RecordingRunner(env={}, cwd=tmp_path)
        runner.answer("ps", "--format", "json", stdout=printed)
        assert containers_record(project_on(tmp_path, runner), all_containers=False) == expected


def test_a_label_pointing_at_a_device_is_not_read_as_a_project(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").symlink_to("/dev/zero")  # a label any container may set
    assert not set_up_with_stacktasks(tmp_path)


def test_control_characters_in_a_label_are_not_printed_to_the_terminal() -> None:
    assert printable("/src/\x1b]0;owned\x07shop") == "/src/?]0;owned?shop"
