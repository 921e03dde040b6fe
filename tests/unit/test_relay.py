"""The relay's plumbing, with a real child standing in for the program inside a container."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

from stacktasks.engine.relay import GO, Relay
from stacktasks.leftovers import private_directory
from stacktasks.runner import Runner
from tests.helpers import wait_until


def echo_relay() -> Relay:
    relay = Relay(Runner(env=dict(os.environ), cwd=Path.cwd()), ["cat"], "echo.sock", "relay to cat")
    relay.open()
    return relay


def test_each_connection_gets_its_own_child_and_its_bytes_back() -> None:
    relay = echo_relay()
    try:
        for payload in (b"first\x00\xff", b"second" * 50_000):
            with socket.socket(socket.AF_UNIX) as client:
                client.connect(str(relay.path))
                client.sendall(payload)
                client.shutdown(socket.SHUT_WR)
                received = b"".join(iter(lambda: client.recv(65536), b""))
            assert received == payload
    finally:
        relay.close()


def test_closing_the_relay_stops_its_children_and_removes_its_socket() -> None:
    relay = echo_relay()
    directory = relay.path.parent
    client = socket.socket(socket.AF_UNIX)
    client.connect(str(relay.path))
    client.sendall(b"x")
    assert client.recv(1) == b"x"  # a child is running
    children = list(relay._children)
    relay.close()
    assert all(child.process.poll() is not None for child in children) and children
    assert not directory.exists()
    client.close()


def test_the_socket_folder_is_private() -> None:
    relay = echo_relay()
    try:
        assert relay.path.parent.stat().st_mode & 0o777 == 0o700
    finally:
        relay.close()


def test_a_folder_left_by_a_killed_task_is_removed_by_the_next_one() -> None:
    gone = subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True).stdout.strip()
    stale = private_directory("stacktasks-test-relay-")
    (stale / "pid").write_text(gone)
    fresh = private_directory("stacktasks-test-relay-")
    try:
        assert not stale.exists()
        assert (fresh / "pid").read_text() == str(os.getpid())
    finally:
        shutil.rmtree(fresh)


def test_a_waiting_program_is_started_ahead_and_gets_its_go_line_before_the_bytes() -> None:
    argv = ["sh", "-c", 'read -r go && [ "$go" = go ] && exec cat']
    relay = Relay(Runner(env=dict(os.environ), cwd=Path.cwd()), argv, "echo.sock", "relay to cat", go=GO)
    relay.open()
    try:
        relay._start_spare()
        spare = relay._spare
        assert spare is not None and spare.process.poll() is None
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(str(relay.path))
            client.sendall(b"through the spare")
            client.shutdown(socket.SHUT_WR)
            assert b"".join(iter(lambda: client.recv(65536), b"")) == b"through the spare"
        wait_until(lambda: relay._spare is not None and relay._spare is not spare)  # the next one
    finally:
        relay.close()
    assert spare.process.poll() is not None
