"""Env files against their examples, alias blocks, and the frontend build's checks."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from stacktasks import collection
from stacktasks.aliases import just_block, make_block, recipes, task_names, write_block
from stacktasks.envfiles import load_env_files
from stacktasks.envsetup import compare_env_files, init_env_files, render_from_example, resolved_values
from stacktasks.errors import StackError
from stacktasks.frontend import changed_files, check_dist, snapshot
from stacktasks.settings import Settings

EXAMPLE = "# comment kept\nDJANGO_SECRET_KEY=\nDB_PASSWORD=''\nAPI_KEY=given-in-example\nDEBUG=1\nEMPTY_PLAIN=\n"


def project(tmp_path: Path) -> Settings:
    (tmp_path / ".env.example").write_text(EXAMPLE)
    return Settings(root=tmp_path)


def test_init_fills_empty_secret_values_and_keeps_everything_else(tmp_path: Path) -> None:
    text, generated = render_from_example(project(tmp_path).root / ".env.example")
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


def test_every_task_gets_a_recipe_and_the_seeds_short_names_too() -> None:
    pairs = dict(recipes(task_names(collection())))
    assert pairs["db-backup"] == "db.backup"
    assert pairs["redis-flush-ratelimits"] == "redis.flush-ratelimits"
    assert pairs["build-astro"] == "front.build"
    assert "aliases-just" not in pairs


def test_just_recipes_pass_every_argument_through() -> None:
    block = just_block(["db.backup"], "inv")
    assert '[positional-arguments]\ndb-backup *args:\n    inv db.backup "$@"\n' in block


def test_make_targets_take_arguments_in_args() -> None:
    block = make_block(["up"], "inv")
    assert "STACKTASKS ?= inv\n" in block and "up:\n\t$(STACKTASKS) up $(ARGS)\n" in block


def test_regenerating_replaces_only_the_block_and_keeps_the_users_recipes(tmp_path: Path) -> None:
    justfile = tmp_path / "justfile"
    justfile.write_text("mine:\n    echo mine\n")
    assert write_block(justfile, just_block(["up"], "inv"), "just").startswith("added to")
    justfile.write_text(justfile.read_text() + "\nafter:\n    echo after\n")
    assert write_block(justfile, just_block(["up", "ps"], "inv"), "just").startswith("updated")
    text = justfile.read_text()
    assert text.count(">>> stacktasks aliases") == 1
    assert text.startswith("mine:\n    echo mine\n") and text.endswith("after:\n    echo after\n")
    assert "ps *args:" in text
    assert write_block(justfile, just_block(["up", "ps"], "inv"), "just").endswith("is up to date")


def test_a_build_output_must_exist_be_non_empty_and_new(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    with pytest.raises(StackError, match="left no"):
        check_dist(dist, time.time())
    dist.mkdir()
    with pytest.raises(StackError, match="empty"):
        check_dist(dist, time.time())
    (dist / "index.html").write_text("old")
    os.utime(dist / "index.html", (time.time() - 3600, time.time() - 3600))
    with pytest.raises(StackError, match="newer than this build"):
        check_dist(dist, time.time())
    (dist / "index.html").write_text("new")
    assert check_dist(dist, time.time() - 5) == 1


def test_watching_sees_edits_and_new_files_but_not_the_build_output(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "page.html").write_text("a")
    (tmp_path / "dist").mkdir()
    before = snapshot([tmp_path], tmp_path / "dist")
    (tmp_path / "dist" / "out.html").write_text("built")
    assert changed_files(before, snapshot([tmp_path], tmp_path / "dist")) == []
    (tmp_path / "src" / "page.html").write_text("ab")
    (tmp_path / "src" / "new.css").write_text("x")
    assert changed_files(before, snapshot([tmp_path], tmp_path / "dist")) == [
        str(tmp_path / "src" / "new.css"), str(tmp_path / "src" / "page.html"),
    ]
