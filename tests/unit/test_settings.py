"""Settings: types, layering and where every value came from."""

from __future__ import annotations

from pathlib import Path

import pytest
from invoke import Config

from stacktasks.errors import StackError
from stacktasks.keys import SETTING_KEYS, placeholder_tree
from stacktasks.settings import resolve, schema, setting_keys
from stacktasks.tasks.config import invoke_layers


def write_pyproject(root: Path, body: str) -> None:
    (root / "pyproject.toml").write_text(body)


def test_every_key_starts_with_its_default_and_says_so(tmp_path: Path) -> None:
    settings = resolve(tmp_path)
    assert settings.stage == "dev"
    assert settings.redis.ratelimit_patterns == ["ratelimit:*"]
    assert {settings.sources[key] for key in schema()} == {"default"}


def test_pyproject_table_overrides_defaults_and_names_the_file(tmp_path: Path) -> None:
    write_pyproject(tmp_path, '[tool.stacktasks]\nstage = "ci"\n[tool.stacktasks.app]\nservice = "api"\n')
    settings = resolve(tmp_path)
    assert settings.app.service == "api"
    assert settings.sources["app.service"] == f"{tmp_path / 'pyproject.toml'} [tool.stacktasks]"


def test_unknown_key_is_an_error_naming_key_file_and_a_close_match(tmp_path: Path) -> None:
    write_pyproject(tmp_path, '[tool.stacktasks.app]\nservce = "api"\n')
    with pytest.raises(StackError) as raised:
        resolve(tmp_path)
    assert "unknown setting 'app.servce'" in raised.value.message
    assert str(tmp_path / "pyproject.toml") in raised.value.message
    assert raised.value.hint == "did you mean 'app.service'?"


def test_wrong_type_is_an_error_naming_key_and_expected_type(tmp_path: Path) -> None:
    write_pyproject(tmp_path, '[tool.stacktasks]\nprofiles = "build"\n')
    with pytest.raises(StackError, match=r"setting 'profiles' must be a list of strings, got 'build'"):
        resolve(tmp_path)


def test_a_choice_outside_its_set_is_an_error_naming_every_choice(tmp_path: Path) -> None:
    write_pyproject(tmp_path, '[tool.stacktasks.redis]\ntarget = "urll"\n')
    with pytest.raises(StackError, match=r"setting 'redis.target' must be one of auto, service or url, got 'urll'"):
        resolve(tmp_path)


def test_a_choice_from_the_environment_is_read_as_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVOKE_STACKTASKS_DB_CLIENT", "container")
    config = Config(defaults={"stacktasks": placeholder_tree()})
    config.load_shell_env()
    assert resolve(tmp_path, invoke_layers=invoke_layers(config)).db.client == "container"


def test_a_table_given_as_a_value_is_an_error(tmp_path: Path) -> None:
    write_pyproject(tmp_path, '[tool.stacktasks]\ndb = "postgres"\n')
    with pytest.raises(StackError, match="'db' must be a table of settings"):
        resolve(tmp_path)


def test_argv_keys_accept_a_command_line_string(tmp_path: Path) -> None:
    write_pyproject(tmp_path, '[tool.stacktasks.app]\nprefix = "uv run"\ntest = "python manage.py test"\n')
    settings = resolve(tmp_path)
    assert settings.app.prefix == ["uv", "run"]
    assert settings.app.test == ["python", "manage.py", "test"]


def test_collection_overrides_rank_above_pyproject(tmp_path: Path) -> None:
    write_pyproject(tmp_path, '[tool.stacktasks]\nstage = "ci"\n')
    settings = resolve(tmp_path, collection_overrides={"stage": "qa"})
    assert (settings.stage, settings.sources["stage"]) == ("qa", "tasks.py collection()")


def test_invoke_environment_variable_ranks_above_collection_and_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INVOKE_STACKTASKS_APP_SERVICE", "web")
    monkeypatch.setenv("INVOKE_STACKTASKS_PROFILES", "build, debug")
    config = Config(defaults={"stacktasks": placeholder_tree()})
    config.load_shell_env()
    settings = resolve(tmp_path, collection_overrides={"app": {"service": "api"}}, invoke_layers=invoke_layers(config))
    assert settings.app.service == "web"
    assert settings.sources["app.service"] == "environment variable INVOKE_STACKTASKS_APP_SERVICE"
    assert settings.profiles == ["build", "debug"]


def test_invoke_yaml_ranks_above_pyproject_and_names_its_file(tmp_path: Path) -> None:
    write_pyproject(tmp_path, '[tool.stacktasks]\nstage = "ci"\n')
    (tmp_path / "invoke.yaml").write_text("stacktasks:\n  stage: staging\n")
    config = Config(defaults={"stacktasks": placeholder_tree()}, project_location=str(tmp_path))
    config.load_project()
    settings = resolve(tmp_path, invoke_layers=invoke_layers(config))
    assert settings.stage == "staging"
    assert settings.sources["stage"].startswith("project config ")
    assert settings.sources["stage"].endswith("invoke.yaml")
    assert settings.is_protected


def test_unknown_key_in_invoke_yaml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "invoke.yaml").write_text("stacktasks:\n  stgae: prod\n")
    config = Config(defaults={"stacktasks": placeholder_tree()}, project_location=str(tmp_path))
    config.load_project()
    with pytest.raises(StackError, match=r"invoke\.yaml: unknown setting 'stgae'"):
        resolve(tmp_path, invoke_layers=invoke_layers(config))


def test_flags_rank_highest(tmp_path: Path) -> None:
    settings = resolve(tmp_path, collection_overrides={"stage": "qa"}, flags={"stage": "prod"})
    assert (settings.stage, settings.sources["stage"]) == ("prod", "task flag")


def test_env_file_paths_fill_in_the_stage_and_mark_required_ones(tmp_path: Path) -> None:
    settings = resolve(
        tmp_path,
        collection_overrides={
            "env_files": [".env", "env/{stage}.env"],
            "required_env_files": ["backend/.env"],
            "stage": "test",
        },
    )
    assert settings.env_file_paths() == [
        (tmp_path / ".env", False),
        (tmp_path / "env/test.env", False),
        (tmp_path / "backend/.env", True),
    ]


def test_the_keys_registered_at_listing_time_are_exactly_the_schemas() -> None:
    assert setting_keys() == SETTING_KEYS
