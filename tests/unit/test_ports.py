"""Where a published port is written, so that a taken port's message says what to change."""

from __future__ import annotations

from pathlib import Path

from stacktasks.engine.ports import locate_port

COMPOSE = """\
services:
  db:
    ports:
      - "127.0.0.1:${DB_PORT:-15432}:5432"
  cache:
    ports:
      - "6380:6379"
"""


def test_a_port_from_a_variables_default_names_the_variable(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    assert locate_port([tmp_path / "compose.yaml"], 15432) == ("compose.yaml:4", "DB_PORT")


def test_a_port_the_env_files_set_names_the_variable(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    assert locate_port([tmp_path / "compose.yaml"], 29960, {"DB_PORT": "29960"}) == ("compose.yaml:4", "DB_PORT")


def test_a_literal_port_names_its_line(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    assert locate_port([tmp_path / "compose.yaml"], 6380) == ("compose.yaml:7", None)


def test_a_free_port_is_proposed_ten_thousand_above_the_taken_one() -> None:
    from stacktasks.engine.ports import free_port

    assert free_port(5432, lambda port: True) == 15432


def test_where_that_is_taken_too_the_next_free_port_above_it_is_proposed() -> None:
    from stacktasks.engine.ports import free_port

    assert free_port(5432, lambda port: port not in (15432, 15433)) == 15434


def test_a_port_too_high_to_move_up_ten_thousand_is_moved_from_twenty_thousand() -> None:
    from stacktasks.engine.ports import free_port

    assert free_port(60000, lambda port: True) == 20000
