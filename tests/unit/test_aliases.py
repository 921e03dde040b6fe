"""just and make blocks with one recipe per task."""

from __future__ import annotations

from pathlib import Path

from stacktasks import collection
from stacktasks.aliases import just_block, make_block, recipes, task_names, write_block


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


def test_a_recipe_for_the_stacks_own_command_passes_every_word_after_the_double_dash() -> None:
    block = just_block(["history", "up"], "inv", words_only={"history"})
    assert 'history *args:\n    inv history -- "$@"' in block
    assert 'up *args:\n    inv up "$@"' in block
    assert "\t$(STACKTASKS) history -- $(ARGS)" in make_block(["history"], "inv", words_only={"history"})
