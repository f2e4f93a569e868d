"""Hostile: code commands that outlive their deadline, and a DISPLAY nobody serves."""

from __future__ import annotations

import os
import select
import signal
import subprocess

import pytest
from conftest import TOOL, assert_one_line_failure

# -- 9. a code command past its deadline: all it started is killed ---------------------------------


def _wait_for_eof(fd: int, timeout: float) -> bool:
    """Whether every writer of the FIFO read through `fd` is gone within `timeout` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return False
        if os.read(fd, 1024) == b"":
            return True


@pytest.mark.parametrize("command", ["waiter | tr -d ' '", "waiter; echo 123456"], ids=["pipeline", "sequence"])
def test_an_mfa_process_past_its_deadline_is_killed_with_all_it_started(home, tmp_path, command):
    fifo = tmp_path / "alive"
    os.mkfifo(fifo)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    waiter = bindir / "waiter"
    # It holds the FIFO open for writing while it lives: the test sees it die as the FIFO's end.
    waiter.write_text(f'#!/bin/sh\nexec 3>"{fifo}"\necho $$ >&3\nexec sleep 300\n')
    waiter.chmod(0o755)
    env = {**home.env, "PATH": f"{bindir}{os.pathsep}{home.env['PATH']}"}
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    pid = None
    try:
        result = subprocess.run(
            [TOOL, "credential-process", "-p", "x", "--role", "TerraformRole", "--serial", home.identity.serial,
             "--mfa-process", command, "--timeout", "3"],
            env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, start_new_session=True, timeout=60,
        )  # fmt: skip
        assert select.select([reader], [], [], 5)[0], "the waiter never started"
        pid = int(os.read(reader, 64).split()[0])
        assert_one_line_failure(result, 6, "mfa_process did not finish within 3 s")
        os.set_blocking(reader, True)
        assert _wait_for_eof(reader, 10), "the waiter outlived the run that started it"
    finally:
        os.close(reader)
        if pid is not None:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
