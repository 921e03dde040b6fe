"""End-to-end: the demo's own commands and hooks from configuration, JSON for scripts, and two
stacks on one engine, one holding a port the other wants.

One stack shared in file order: commands, hooks (a restore whose hook migrates, a failing hook,
the dry run), the JSON outputs, then a second stack beside it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import INV, copy_demo, engine_missing, inv_ok, remove_stack, require, run_inv, started_stack

PROJECT = "stacktasks-e2e-commands"
OTHER = "stacktasks-e2e-commands-other"
PORTS = {"APP_PORT": "33000", "DB_PORT": "33432", "REDIS_PORT": "33379"}
ENV = {"INVOKE_STACKTASKS_PROJECT_NAME": PROJECT}
JUST = shutil.which("just", path=str(Path(sys.executable).parent)) or shutil.which("just")

COMMANDS = """
[tool.stacktasks.commands.greet]
service = "worker"
command = ["python", "-c", "import sys; print('args:', sys.argv[1:])"]
help = "Print the words it is given, from the worker."

[tool.stacktasks.commands.history]
command = "alembic history"

[tool.stacktasks.commands.top]
compose = "top"

[tool.stacktasks.hooks]
after_restore = ["db.migrate"]
"""


def sql(project: Path, query: str) -> str:
    result = subprocess.run(
        ["docker", "compose", "-p", PROJECT, "exec", "-T", "db", "psql", "-U", "demo", "-d", "demo", "-Atc", query],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require(engine_missing())
    project = copy_demo(tmp_path_factory.mktemp("e2e-commands") / "demo", PORTS)
    with (project / "pyproject.toml").open("a") as pyproject:
        pyproject.write(COMMANDS)
    with started_stack(project, ENV):
        yield project


def test_a_configured_command_gets_its_arguments_exactly(demo: Path) -> None:
    assert inv_ok(demo, "greet", "--", "one", "two words", "", env=ENV) == "args: ['one', 'two words', '']\n"


def test_a_configured_command_is_listed_with_its_help(demo: Path) -> None:
    listed = json.loads(inv_ok(demo, "--list", "--list-format", "json", env=ENV))["tasks"]
    helps = {task["name"]: task["help"] for task in listed}
    assert helps["greet"] == "Print the words it is given, from the worker."
    assert helps["top"] == "Run `compose top`."


def test_a_compose_command_shows_the_stacks_processes(demo: Path) -> None:
    shown = inv_ok(demo, "top", env=ENV)
    assert "demo.server" in shown and "postgres" in shown


def test_the_generated_just_recipe_runs_a_configured_command(demo: Path) -> None:
    assert JUST, "rust-just is a dev dependency"
    inv_ok(demo, "aliases.just", "--command", INV, env=ENV)
    result = subprocess.run(
        [JUST, "greet", "a b", "--flag", "c"], cwd=demo, capture_output=True, text=True, env={**os.environ, **ENV}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "args: ['a b', '--flag', 'c']\n"  # every word the command's: no -- needed


def test_a_hook_after_restore_runs_the_migrations(demo: Path) -> None:
    inv_ok(demo, "db.backup", "--name", "unmigrated", env=ENV)  # no tables yet
    result = run_inv(demo, "db.restore", "--yes", "--file", "backups/unmigrated.dump", env=ENV)
    assert result.returncode == 0, result.stderr
    assert "hook after_restore[1] 'db.migrate'" in result.stdout + result.stderr
    assert sql(demo, "select version_num from alembic_version") == "0001"
    assert sql(demo, "select to_regclass('notes') is not null") == "t"


def test_a_failing_hook_fails_the_restore_named_and_leaves_the_restored_database_whole(demo: Path) -> None:
    sql(demo, "insert into notes (body) values ('kept by the backup')")
    inv_ok(demo, "db.backup", "--name", "marked", env=ENV)
    sql(demo, "delete from notes")
    failing = {**ENV, "INVOKE_STACKTASKS_HOOKS_AFTER_RESTORE": "db.migrate,python -c 'raise SystemExit(4)'"}
    result = run_inv(demo, "db.restore", "--yes", "--file", "backups/marked.dump", env=failing)
    assert result.returncode == 4
    (failure,) = [line for line in result.stderr.splitlines() if line.startswith("stacktasks:")]
    assert failure.startswith(
        "stacktasks: hook after_restore[2] \"python -c 'raise SystemExit(4)'\" failed: exited with 4; "
        "the restore itself is complete"
    )
    assert "restored backups/marked.dump into demo" in result.stdout
    assert sql(demo, "select body from notes") == "kept by the backup"


def test_dry_run_shows_the_hooks_and_what_they_would_run_and_changes_nothing(demo: Path) -> None:
    sql(demo, "delete from notes")
    result = run_inv(demo, "--dry", "db.restore", "--yes", "--file", "backups/marked.dump", env=ENV)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    hook = lines.index("[dry-run] hook after_restore[1] 'db.migrate'")
    assert any("alembic upgrade head" in line for line in lines[hook:])
    assert sql(demo, "select count(*) from notes") == "0"


def test_no_hooks_restores_without_running_them(demo: Path) -> None:
    failing = {**ENV, "INVOKE_STACKTASKS_HOOKS_AFTER_RESTORE": "python -c 'raise SystemExit(4)'"}
    result = run_inv(demo, "db.restore", "--yes", "--no-hooks", "--file", "backups/marked.dump", env=failing)
    assert result.returncode == 0, result.stderr
    assert sql(demo, "select body from notes") == "kept by the backup"


def test_an_after_up_hook_runs_a_configured_command_once_the_stack_is_up(demo: Path) -> None:
    hooked = {**ENV, "INVOKE_STACKTASKS_HOOKS_AFTER_UP": "greet -- after up"}
    assert inv_ok(demo, "up", env=hooked).endswith("args: ['after', 'up']\n")


def test_a_failing_before_reset_hook_destroys_nothing(demo: Path) -> None:
    failing = {**ENV, "INVOKE_STACKTASKS_HOOKS_BEFORE_RESET": "python -c 'raise SystemExit(6)'"}
    result = run_inv(demo, "reset", "--yes", "--no-backup", env=failing)
    assert result.returncode == 6
    assert "failed: exited with 6; nothing was destroyed" in result.stderr
    assert sql(demo, "select body from notes") == "kept by the backup"


def test_ps_json_lists_each_service_with_its_health_and_ports(demo: Path) -> None:
    containers = {row["service"]: row for row in json.loads(inv_ok(demo, "ps", "--json", env=ENV))["containers"]}
    assert set(containers) == {"app", "worker", "db", "redis"}
    assert containers["db"]["health"] == "healthy"
    assert containers["db"]["ports"] == [
        {"host_ip": "127.0.0.1", "published": int(PORTS["DB_PORT"]), "target": 5432, "protocol": "tcp"}
    ]


def test_snapshots_json_lists_the_snapshot_with_its_spare(demo: Path) -> None:
    inv_ok(demo, "db.snapshot", "--name", "listed", env=ENV)
    (snapshot,) = json.loads(inv_ok(demo, "db.snapshots", "--json", env=ENV))["snapshots"]
    assert (snapshot["name"], snapshot["source"]) == ("listed", "demo")
    assert snapshot["spare"]["ready"] is True
    assert snapshot["size"] > 0


def test_redis_count_json_gives_the_number_and_samples(demo: Path) -> None:
    subprocess.run(
        ["docker", "compose", "-p", PROJECT, "exec", "-T", "redis", "redis-cli"],
        cwd=demo,
        input="".join(f"SET session:{i} 1\n" for i in range(3)),
        capture_output=True,
        text=True,
        check=True,
    )
    (counted,) = json.loads(inv_ok(demo, "redis.count", "session:*", "--json", env=ENV))["patterns"]
    assert (counted["pattern"], counted["keys"]) == ("session:*", 3)
    assert sorted(counted["samples"]) == ["session:0", "session:1", "session:2"]


def test_env_check_json_says_every_file_matches_its_example(demo: Path) -> None:
    report = json.loads(inv_ok(demo, "env.check", "--json", env=ENV))
    assert report["ok"] is True
    assert [(Path(item["path"]).name, item["missing"]) for item in report["files"]] == [(".env", [])]


def test_a_second_stack_wanting_a_port_the_first_holds_is_told_which_project_to_stop(
    demo: Path, tmp_path: Path
) -> None:
    other = copy_demo(tmp_path / "other", {"APP_PORT": "33001", "DB_PORT": PORTS["DB_PORT"], "REDIS_PORT": "33380"})
    env = {"INVOKE_STACKTASKS_PROJECT_NAME": OTHER}
    try:
        result = run_inv(other, "up", env=env)
        assert result.returncode == 1
        assert f"{PORTS['DB_PORT']} (db, compose.yaml:" in result.stderr  # where it is written
        assert f", held by service db of compose project {PROJECT})" in result.stderr
        assert f"`docker compose -p {PROJECT} stop db` (its folder: {demo})" in result.stderr
        doctor = run_inv(other, "doctor", "--no-settings", env=env)
        assert f"held by service db of compose project {PROJECT}" in doctor.stdout
    finally:
        remove_stack(OTHER, other)


def test_ls_lists_both_stacks_with_folder_ports_and_stacktasks(demo: Path, tmp_path: Path) -> None:
    other = copy_demo(tmp_path / "other", {"APP_PORT": "33001", "DB_PORT": "33433", "REDIS_PORT": "33380"})
    env = {"INVOKE_STACKTASKS_PROJECT_NAME": OTHER}
    with started_stack(other, env, "-s", "db"):
        projects = {item["name"]: item for item in json.loads(inv_ok(other, "ls", "--json", env=env))["projects"]}
        mine, theirs = projects[OTHER], projects[PROJECT]
        assert (mine["folder"], mine["this_project"], mine["stacktasks"]) == (str(other), True, True)
        assert (theirs["folder"], theirs["this_project"], theirs["stacktasks"]) == (str(demo), False, True)
        assert mine["ports"] == [
            {"service": "db", "host_ip": "127.0.0.1", "published": 33433, "target": 5432, "protocol": "tcp"}
        ]  # the shape of ps --json's ports, with the service
        assert theirs["state"] == "running(4)"
        table = inv_ok(other, "ls", env=env)
        assert any(line.startswith("*") and OTHER in line for line in table.splitlines())
        elsewhere = tmp_path / "no-project"
        elsewhere.mkdir()
        stacktasks = subprocess.run(
            [str(Path(INV).with_name("stacktasks")), "ls", "--json"], cwd=elsewhere, capture_output=True, text=True
        )
        assert stacktasks.returncode == 0, stacktasks.stderr
        listed = {item["name"]: item for item in json.loads(stacktasks.stdout)["projects"]}
        assert {OTHER, PROJECT} <= set(listed)
        assert not any(item["this_project"] for item in listed.values())
