"""The real-world shapes (examples/shapes) through the compose CLI, before any engine work: what a
new user sees on the first run."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.helpers import REPO, compose_cli_missing, require, run_inv

SHAPES = REPO / "examples" / "shapes"


def copy(name: str, tmp_path: Path) -> Path:
    require(compose_cli_missing())
    return Path(shutil.copytree(SHAPES / name, tmp_path / name))


def test_doctor_names_an_env_file_the_compose_file_needs_and_how_to_make_it(tmp_path: Path) -> None:
    project = copy("social", tmp_path)
    result = run_inv(project, "doctor", "--no-settings")
    assert result.returncode == 1
    assert ".env.production: missing (the stack needs it)" in result.stdout
    assert "hint: inv env.init creates it from .env.production.sample" in result.stdout


def test_env_init_makes_the_declared_env_file_and_then_the_stack_reads(tmp_path: Path) -> None:
    project = copy("social", tmp_path)
    made = run_inv(project, "env.init")
    assert made.returncode == 0, made.stderr
    assert "fill in SMTP_PASSWORD" in made.stdout
    assert "SMTP_LOGIN" not in made.stdout  # not a secret: left as the sample has it
    doctor = run_inv(project, "doctor", "--no-settings")
    assert "app role       web" in doctor.stdout and "db role        db" in doctor.stdout


def test_without_a_default_compose_file_the_error_points_at_the_ones_there(tmp_path: Path) -> None:
    project = copy("nested-envs", tmp_path)
    (project / ".env").unlink()  # no COMPOSE_FILE: compose finds no file of its default names
    result = run_inv(project, "ps")
    assert result.returncode == 1
    assert "compose-like files here: docker-compose.local.yml" in result.stderr
    assert 'compose_files = ["docker-compose.local.yml"]' in result.stderr


def test_compose_file_in_the_env_file_is_read_for_roles_and_checks(tmp_path: Path) -> None:
    project = copy("nested-envs", tmp_path)
    result = run_inv(project, "doctor", "--no-settings")
    assert "compose files  docker-compose.local.yml" in result.stdout
    assert "db role        postgres" in result.stdout


def test_an_image_only_app_with_a_product_name_is_the_app(tmp_path: Path) -> None:
    project = copy("storefront", tmp_path)
    result = run_inv(project, "doctor", "--no-settings")
    assert "app role       storefront  (compose model: depends on postgres and publishes port 3300)" in result.stdout


def test_a_compose_yaml_mistake_names_the_file_and_its_real_line(tmp_path: Path) -> None:
    project = copy("vector-api", tmp_path)
    compose_file = project / "compose.yaml"
    compose_file.write_text(compose_file.read_text().replace("    ports:\n", "   ports: [\n", 1))
    result = run_inv(project, "ps")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-2].startswith("stacktasks: compose.yaml:")
    assert "Traceback" not in result.stderr
