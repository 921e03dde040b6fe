"""The compose version, asked once per binary: kept keyed by the binaries that answer it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stacktasks.compose.version import detect_compose
from stacktasks.testing import RecordingRunner, UnexpectedCommand


def machine(tmp_path: Path) -> dict[str, str]:
    """A docker CLI and its compose plugin (files only: the recording runner answers for them)."""
    bin_dir, plugins = tmp_path / "bin", tmp_path / "home" / ".docker" / "cli-plugins"
    bin_dir.mkdir()
    plugins.mkdir(parents=True)
    for path in (bin_dir / "docker", plugins / "docker-compose"):
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    return {"PATH": str(bin_dir), "HOME": str(tmp_path / "home"), "XDG_CACHE_HOME": str(tmp_path / "cache")}


def asked(env: dict[str, str], tmp_path: Path, version: str = "2.40.3") -> RecordingRunner:
    return RecordingRunner(env=env, cwd=tmp_path).answer("compose", "version", "--short", stdout=version + "\n")


def test_the_version_is_asked_once_and_then_known(tmp_path: Path) -> None:
    env = machine(tmp_path)
    assert detect_compose((), asked(env, tmp_path)).text == "2.40.3"
    silent = RecordingRunner(env=env, cwd=tmp_path)  # any question would fail the test
    assert detect_compose((), silent).version == (2, 40, 3)


def test_an_upgraded_plugin_is_asked_again(tmp_path: Path) -> None:
    env = machine(tmp_path)
    detect_compose((), asked(env, tmp_path))
    plugin = tmp_path / "home" / ".docker" / "cli-plugins" / "docker-compose"
    plugin.write_text("#!/bin/sh\n# a newer build\n")
    os.utime(plugin, ns=(1, 2))
    assert detect_compose((), asked(env, tmp_path, "2.41.0")).text == "2.41.0"


def test_a_corrupt_cache_is_ignored_and_the_cli_asked(tmp_path: Path) -> None:
    env = machine(tmp_path)
    detect_compose((), asked(env, tmp_path))
    (tmp_path / "cache" / "stacktasks" / "compose-version.json").write_text('{"not": "json"')
    with pytest.raises(UnexpectedCommand, match="compose version --short"):
        detect_compose((), RecordingRunner(env=env, cwd=tmp_path))


def test_a_cached_value_that_is_no_version_is_not_trusted(tmp_path: Path) -> None:
    import json

    env = machine(tmp_path)
    detect_compose((), asked(env, tmp_path))
    cache = tmp_path / "cache" / "stacktasks" / "compose-version.json"
    cache.write_text(json.dumps({key: "$(rm -rf ~)" for key in json.loads(cache.read_text())}))
    assert detect_compose((), asked(env, tmp_path, "2.40.4")).text == "2.40.4"


def test_without_a_plugin_to_key_it_by_the_version_is_asked_every_time(tmp_path: Path) -> None:
    from stacktasks.compose.version import PLUGIN_DIRECTORIES

    if any(os.access(os.path.join(d, "docker-compose"), os.X_OK) for d in PLUGIN_DIRECTORIES):
        pytest.skip("this machine has a compose plugin in a system folder, which would key the cache")
    env = machine(tmp_path)
    (tmp_path / "home" / ".docker" / "cli-plugins" / "docker-compose").unlink()
    env["HOME"] = str(tmp_path / "elsewhere")
    detect_compose((), asked(env, tmp_path))
    assert not (tmp_path / "cache" / "stacktasks" / "compose-version.json").exists()
