"""Fixtures of the integration tier."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import pg
from tests.helpers import require


@pytest.fixture()
def sample_database(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The sample database on the host server and a project whose DATABASE_URL names it; the
    database and whatever of ours sits beside it (undo, scratch, snapshots) dropped afterwards."""
    require(pg.server_missing())
    name = pg.new_database_name()
    pg.create_sample_database(name)
    yield name, pg.url_project(tmp_path / "project", pg.url_for(name))
    pg.drop_databases(name)
    pg.drop_snapshots(name)
