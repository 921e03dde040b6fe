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


def test_env_show_with_no_env_file_names_the_compose_env_files_and_the_setting_that_reads_them(
    tmp_path: Path,
) -> None:
    project = copy("valkey-broker", tmp_path)
    shown = run_inv(project, "env.show")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("no values: the tasks read .env (absent); the compose files give their services")
    assert 'set env_files = ["env/api.env", "env/db.env", "env/broker.env"]' in shown.stdout
    (project / "pyproject.toml").write_text('[tool.stacktasks]\nenv_files = ["env/api.env", "env/db.env"]\n')
    reread = run_inv(project, "env.show")
    assert "env/db.env" in reread.stdout and "no values" not in reread.stdout


def test_env_init_leaves_an_outside_providers_app_key_to_fill_in(tmp_path: Path) -> None:
    project = copy("fitness-include", tmp_path)
    made = run_inv(project, "env.init")
    assert made.returncode == 0, made.stderr
    assert (
        "generated: SECRET_KEY" in made.stdout
        and "DROPBOX_APP_KEY" not in made.stdout.split("generated:")[1].split("\n")[0]
    )
    assert "fill in DROPBOX_APP_KEY" in made.stdout


def test_variables_compose_leaves_blank_are_named_with_the_file_that_defines_them(tmp_path: Path) -> None:
    project = copy("planner-queues", tmp_path)
    doctor = run_inv(project, "doctor", "--no-settings")
    assert "compose warns that 8 variable(s) are not set, so it uses blanks: LISTEN_HTTP_PORT" in doctor.stderr
    assert 'variables.env defines 8 of them: set env_files = ["variables.env"]' in doctor.stderr


def test_following_the_unset_variables_hint_reads_the_stacks_names(tmp_path: Path) -> None:
    project = copy("planner-queues", tmp_path)
    (project / "pyproject.toml").write_text('[tool.stacktasks]\nenv_files = ["variables.env"]\n')
    doctor = run_inv(project, "doctor")
    assert "compose warns" not in doctor.stderr
    assert "db.name                   'planner'                          service planner-db's POSTGRES_DB" in (
        doctor.stdout
    )
    assert "planner-dev-2c1f" not in doctor.stdout + doctor.stderr


def test_doctor_names_the_included_and_override_files_compose_reads(tmp_path: Path) -> None:
    project = copy("fitness-include", tmp_path)
    assert run_inv(project, "env.init").returncode == 0
    doctor = run_inv(project, "doctor", "--no-settings")
    assert "compose files  compose.yaml, deploy/data.yaml, compose.override.yaml in " in doctor.stdout
    assert "db role        db" in doctor.stdout and "app role       web" in doctor.stdout


def test_a_required_variable_compose_cannot_interpolate_is_named_with_where_to_set_it(tmp_path: Path) -> None:
    project = copy("fitness-include", tmp_path)
    result = run_inv(project, "ps")
    assert result.returncode != 0
    assert "required variable SECRET_KEY is missing a value" in result.stderr
    assert "hint: set SECRET_KEY in .env (inv env.init makes the env files from their examples)" in result.stderr


def test_a_key_this_compose_does_not_know_is_said_with_a_hint(tmp_path: Path) -> None:
    project = copy("telemetry-clickhouse", tmp_path)
    compose_file = project / "docker-compose.yml"
    compose_file.write_text(compose_file.read_text().replace("  plugins:\n", "  plugins:\n    gpus_please: all\n"))
    result = run_inv(project, "ps")
    assert result.returncode != 0
    assert "gpus_please" in result.stderr
    assert "does not know something the file uses: the stack may need a newer compose" in result.stderr


def test_clickhouse_named_db_is_not_the_database(tmp_path: Path) -> None:
    project = copy("telemetry-clickhouse", tmp_path)
    doctor = run_inv(project, "doctor")
    assert 'db role        metadata  (compose model: image "postgres:16-alpine")' in doctor.stdout
    assert "db.name                   'telemetry'" in doctor.stdout
