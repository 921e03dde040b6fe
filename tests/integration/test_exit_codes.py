"""Every exit code the README's table lists, provoked for real, and the table is the code's.

Each row of the table has a case here that ends with that code as a user would meet it; a code
added to the README or to errors.py without a case fails ``test_the_readme_table_is_the_code``.
"""

from __future__ import annotations

import re
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from stacktasks import errors
from tests import pg
from tests.helpers import REPO, env_project, require, run_inv, start_inv, wait_until, write_project


def readme_codes() -> list[str]:
    text = (REPO / "README.md").read_text()
    table = text.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| (\S+) \|", table, re.M)[1:]  # the header row's "code" left out


def test_the_readme_table_is_the_code() -> None:
    constants = {errors.OK, errors.FAILED, errors.USAGE, errors.REFUSED, errors.BUG, errors.MISSING_TOOL}
    listed = readme_codes()
    assert {int(code) for code in listed if code.isdigit()} == constants
    assert set(listed) == set(CASES)
    doc = errors.__doc__ or ""
    assert all(re.search(rf"^{re.escape(code)}\s", doc, re.M) for code in listed)


def project_with(tmp_path: Path, pyproject: str = "", tasks: str | None = None) -> Path:
    return write_project(tmp_path / "p", "services:\n  app:\n    image: busybox\n", pyproject, tasks)


def done(tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], str]:
    return run_inv(project_with(tmp_path), "env.show"), ""


def failed(tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], str]:
    project = env_project(tmp_path / "p", {"DATABASE_URL": "postgresql://app:pw@127.0.0.1:1/app"})
    (project / "not-a-dump.txt").write_text("hello\n")
    return run_inv(project, "db.restore", "--yes", "--file", "not-a-dump.txt"), "not a PostgreSQL dump"


def usage(tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], str]:
    return run_inv(project_with(tmp_path, "[tool.stacktasks]\nstage = 5\n"), "env.show"), "must be a string"


def refused(tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], str]:
    return run_inv(project_with(tmp_path), "reset"), "--yes"


def bug(tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], str]:
    tasks = (
        "from stacktasks import collection\nfrom stacktasks.tasks import stack_task\n\n"
        "@stack_task()\ndef broken(project):\n    '''A task of the user's with a bug.'''\n    return {}['missing']\n\n"
        "ns = collection()\nns.add_task(broken)\n"
    )
    return run_inv(project_with(tmp_path, tasks=tasks), "broken"), "internal error: KeyError"


def missing_tool(tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], str]:
    bare = tmp_path / "bin"  # a PATH where no docker is
    bare.mkdir()
    return run_inv(project_with(tmp_path), "ps", env={"PATH": str(bare)}), "no working docker compose"


def passed_through(tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], str]:
    require(pg.server_missing())
    project = pg.url_project(tmp_path / "p", pg.url_for("postgres"))
    (project / "fails.sql").write_text("select 1/0;\n")
    # psql's own code for a script stopped by an error: 3
    return run_inv(project, "db.shell", "--", "-v", "ON_ERROR_STOP=1", "-f", "fails.sql"), "psql exited with 3"


def signalled(tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], str]:
    require(pg.server_missing())
    project = pg.url_project(tmp_path / "p", pg.url_for("postgres"))
    child = start_inv(project, "db.shell", "--", "-c", "select pg_sleep(60)")

    def sleeping() -> bool:
        return (
            pg.scalar("postgres", "select count(*) from pg_stat_activity where query like 'select pg_sleep(60)%'") > 0
        )

    wait_until(sleeping, child=child)
    child.send_signal(signal.SIGTERM)
    stdout, stderr = child.communicate(timeout=60)
    # psql is ended by the signal passed on to it, and stacktasks by its own: the shell's $? is
    # 128 + n either way (Python shows a process ended by signal n as -n).
    status = 128 - child.returncode if child.returncode < 0 else child.returncode
    return subprocess.CompletedProcess(child.args, status, stdout, stderr), ""


CASES: dict[str, tuple[int, Callable[[Path], tuple[subprocess.CompletedProcess[str], str]]]] = {
    "0": (0, done),
    "1": (1, failed),
    "2": (2, usage),
    "3": (3, refused),
    "70": (70, bug),
    "127": (127, missing_tool),
    "N": (3, passed_through),
    "128+n": (128 + signal.SIGTERM, signalled),
}


@pytest.mark.parametrize("code", list(CASES))
def test_each_listed_exit_code_is_what_a_user_meets(tmp_path: Path, code: str) -> None:
    expected, provoke = CASES[code]
    result, says = provoke(tmp_path)
    assert result.returncode == expected, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    if says:
        last = [line for line in result.stderr.splitlines() if line.startswith("stacktasks: ")]
        assert last and says in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("where", "says"),
    [
        ("tasks.py", "unknown setting 'stagee'"),
        ("invoke.yaml", "gives a plain value where stacktasks expects a table of settings"),
        ("pyproject.toml", "has a placeholder stacktasks does not fill"),
    ],
)
def test_a_setting_error_outside_any_task_is_one_line_and_exit_2(tmp_path: Path, where: str, says: str) -> None:
    project = project_with(tmp_path)
    if where == "tasks.py":
        (project / "tasks.py").write_text('from stacktasks import collection\nns = collection(stagee="x")\n')
    elif where == "invoke.yaml":
        (project / "invoke.yaml").write_text("stacktasks:\n  db: 5\n")
    else:
        (project / "pyproject.toml").write_text('[tool.stacktasks]\nenv_files = ["{nope}"]\n')
    for args in (("--list",), ("env.show",)) if where == "tasks.py" else (("env.show",),):
        result = run_inv(project, *args)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr and says in result.stderr


def test_doctor_without_a_compose_file_reports_it_and_still_shows_the_settings(tmp_path: Path) -> None:
    project = tmp_path / "empty"
    project.mkdir()
    (project / "tasks.py").write_text("from stacktasks import collection\nns = collection()\n")
    plain = run_inv(project, "doctor")
    assert plain.returncode == 1
    assert "FAIL compose files" in plain.stdout and "\nsettings:\n" in plain.stdout
    as_json = run_inv(project, "doctor", "--json")
    assert as_json.returncode == 1
    import json

    report = json.loads(as_json.stdout)
    assert report["ok"] is False and any(
        check["id"] == "compose-files" and not check["ok"] for check in report["checks"]
    )
    assert report["settings"]
