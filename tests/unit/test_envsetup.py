"""Env files against their examples: init, check, show."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from stacktasks.env.files import load_env_files
from stacktasks.env.setup import compare_env_files, init_env_files, render_from_example, resolved_values
from stacktasks.settings import Settings

EXAMPLE = "# comment kept\nDJANGO_SECRET_KEY=\nDB_PASSWORD=''\nAPI_KEY=given-in-example\nDEBUG=1\nEMPTY_PLAIN=\n"


def project(tmp_path: Path) -> Settings:
    (tmp_path / ".env.example").write_text(EXAMPLE)
    return Settings(root=tmp_path)


def test_init_fills_empty_secret_values_and_keeps_everything_else(tmp_path: Path) -> None:
    text, generated, _ = render_from_example(project(tmp_path).root / ".env.example")
    values = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    assert generated == ["DJANGO_SECRET_KEY", "DB_PASSWORD"]
    assert len(values["DJANGO_SECRET_KEY"]) >= 40 and values["DJANGO_SECRET_KEY"] != values["DB_PASSWORD"]
    assert values["API_KEY"] == "given-in-example"
    assert values["EMPTY_PLAIN"] == ""  # not a secret: left for the user
    assert text.startswith("# comment kept\n")


def test_init_creates_a_private_file_and_never_overwrites_one(tmp_path: Path) -> None:
    settings = project(tmp_path)
    first = init_env_files(settings)
    assert first.created == [tmp_path / ".env"]
    assert stat.S_IMODE((tmp_path / ".env").stat().st_mode) == 0o600
    (tmp_path / ".env").write_text("MINE=1\n")
    second = init_env_files(settings)
    assert second.created == [] and second.kept == [tmp_path / ".env"]
    assert (tmp_path / ".env").read_text() == "MINE=1\n"
    forced = init_env_files(settings, force=True)
    assert forced.created == [tmp_path / ".env"]
    assert "DEBUG=1" in (tmp_path / ".env").read_text()


def test_init_never_writes_through_a_planted_link(tmp_path: Path) -> None:
    settings = project(tmp_path)
    outside = tmp_path / "outside.txt"
    outside.write_text("someone else's file\n")
    (tmp_path / ".env.partial").symlink_to(outside)  # the old fixed name, planted
    (tmp_path / ".env").symlink_to(tmp_path / "nowhere")  # a dangling link where .env goes
    init_env_files(settings)
    assert outside.read_text() == "someone else's file\n"
    env = tmp_path / ".env"
    assert not env.is_symlink() and "DEBUG=1" in env.read_text()
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert not (tmp_path / "nowhere").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".env", ".env.example", ".env.partial", "outside.txt"]


def test_check_lists_missing_extra_and_emptied_keys(tmp_path: Path) -> None:
    settings = project(tmp_path)
    (tmp_path / ".env").write_text("DJANGO_SECRET_KEY=x\nDB_PASSWORD=y\nDEBUG=\nEMPTY_PLAIN=\nLOCAL_ONLY=1\n")
    [comparison] = compare_env_files(settings)
    assert comparison.missing == ["API_KEY"]
    assert comparison.extra == ["LOCAL_ONLY"]
    assert comparison.empty == ["DEBUG"]
    assert not comparison.ok


def test_show_masks_secret_values_and_url_passwords(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("DB_PASSWORD=hunter2-long\nDATABASE_URL=postgres://u:pw-in-url@db/app\nDEBUG=1\n")
    rows = {key: (value, source) for key, value, source in resolved_values(load_env_files([(env_file, False)], {}))}
    assert rows["DB_PASSWORD"] == ("***", str(env_file))
    assert rows["DATABASE_URL"][0] == "postgres://u:***@db/app"
    assert rows["DEBUG"][0] == "1"


def test_init_generates_only_what_the_stack_owns_and_lists_the_rest(tmp_path: Path) -> None:
    sample = tmp_path / ".env.production.sample"
    sample.write_text(
        "# Generated with `bin/rails secret`.\nSECRET_KEY_BASE=\n# From your mail provider's dashboard.\n"
        "SMTP_PASSWORD=\nMAPBOX_API_KEY=\nREDIS_PASSWORD=\nDB_PASSWORD=\n"
    )
    text, generated, fill_in = render_from_example(sample, compose_text="command: --requirepass ${REDIS_PASSWORD}")
    assert generated == ["SECRET_KEY_BASE", "REDIS_PASSWORD", "DB_PASSWORD"]
    assert fill_in == [("SMTP_PASSWORD", "From your mail provider's dashboard."), ("MAPBOX_API_KEY", "")]
    assert "SMTP_PASSWORD=\n" in text


def test_env_files_the_compose_file_declares_are_made_from_their_sample(tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text("services:\n  web:\n    image: x\n    env_file: .env.production\n")
    (tmp_path / ".env.production.sample").write_text("LOCAL_DOMAIN=example.test\n")
    result = init_env_files(Settings(root=tmp_path))
    assert result.created == [tmp_path / ".env.production"]
    assert (tmp_path / ".env.production").read_text() == "LOCAL_DOMAIN=example.test\n"


@pytest.mark.parametrize("key", ["DROPBOX_APP_KEY", "DROPBOX_APP_SECRET", "TRELLO_SECRET", "PAYPAL_SECRET_KEY"])
def test_an_app_secret_prefixed_by_anything_but_the_stack_is_a_providers_and_never_made_up(key: str) -> None:
    from stacktasks.env.setup import owned_secret

    assert not owned_secret(key, compose_text=f"DROPBOX: ${{{key}}}", own=frozenset({"CHAT", "DATABASE"}))


@pytest.mark.parametrize("key", ["SECRET_KEY", "JWT_SECRET", "DJANGO_SECRET_KEY", "CHAT_SECRET_KEY"])
def test_an_app_secret_with_no_prefix_or_the_stacks_own_is_made_up(key: str) -> None:
    from stacktasks.env.setup import owned_secret

    assert owned_secret(key, own=frozenset({"CHAT", "DATABASE"}))
