"""The shape fixture: a copy of one of examples/shapes, its own compose project, its ports moved."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.shapes import SHAPES
from tests.helpers import engine_missing, remove_stack, require


@pytest.fixture()
def shape(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """A copy of one shape (the parameter, see ``shaped``) with its own compose project name and ports."""
    require(engine_missing())
    name, ports = request.param
    project = tmp_path / name
    shutil.copytree(SHAPES / name, project)
    env = {"INVOKE_STACKTASKS_PROJECT_NAME": f"stacktasks-shape-{name}", **ports}
    yield project, env
    remove_stack(env["INVOKE_STACKTASKS_PROJECT_NAME"], project)
