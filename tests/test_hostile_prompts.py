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


# -- 7. a DISPLAY nobody serves is not a cancelled dialog ------------------------------------------


def _zenity():
    import shutil

    if shutil.which("zenity") is None:
        if os.environ.get("CI"):
            pytest.fail("zenity missing in CI: .ci/run must install it")
        pytest.skip("zenity is not installed")


def _unserved_display() -> str:
    """An X display number no server listens on (its unix socket, abstract or not, answers nothing)."""
    import socket

    for number in range(187, 400):
        listening = False
        for path in (f"\0/tmp/.X11-unix/X{number}", f"/tmp/.X11-unix/X{number}"):
            with socket.socket(socket.AF_UNIX) as probe:
                try:
                    probe.connect(path)
                    listening = True
                except OSError:
                    pass
        if not listening:
            return f":{number}"
    raise AssertionError("no free display number")


def _no_terminal(home, *args, env=None):
    """The command with no controlling terminal (a desktop launcher's, an IDE's)."""
    return subprocess.run([TOOL, *args], env={**home.env, **(env or {})}, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, start_new_session=True, timeout=60)  # fmt: skip


def _cancel_files(home) -> list:
    return list(home.cache.glob("*.cancel")) if home.cache.exists() else []


def test_auto_with_a_display_nobody_serves_falls_back_as_with_no_display(home, local_aws):
    _zenity()
    display = _unserved_display()
    args = ("credential-process", "-p", "x", "--role", "TerraformRole", "--serial", home.identity.serial)
    local_aws.reset_requests()
    result = _no_terminal(home, *args, env={"DISPLAY": display})
    assert_one_line_failure(result, 6, f"no display server answers at DISPLAY={display}", "pass --code")
    assert "cancelled" not in result.stderr and _cancel_files(home) == []
    assert "AssumeRole" not in local_aws.actions()
    doctor = _no_terminal(home, "doctor", "-p", "x", "--role", "TerraformRole", "--offline", env={"DISPLAY": display})
    assert f"auto has nothing to ask with now: there is no terminal to ask on and no display server answers at " \
           f"DISPLAY={display}" in doctor.stdout, doctor.stdout  # fmt: skip
    assert "zenity" not in doctor.stdout


@pytest.mark.parametrize("display", [None, "unserved"])
def test_mfa_prompt_zenity_without_a_usable_display_is_its_own_line(home, display):
    _zenity()
    env = {"DISPLAY": _unserved_display()} if display else {}
    result = _no_terminal(home, "credential-process", "-p", "x", "--role", "TerraformRole",
                          "--serial", home.identity.serial, "--prompt", "zenity", env=env)  # fmt: skip
    said = f"no display server answers at DISPLAY={env['DISPLAY']}" if display else "there is no display"
    assert_one_line_failure(result, 6, "mfa_prompt is zenity but " + said, "DISPLAY")
    assert _cancel_files(home) == []


def test_a_display_that_answers_but_is_no_x_server_makes_zenity_fail_in_one_line_not_a_cancel(home):
    """The probe connects, the real zenity can't open the display (the address answers and hangs up):
    its stderr says so, and that is reported as what it is."""
    import socket
    import threading

    _zenity()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    port = server.getsockname()[1]
    assert port > 6000

    def hang_up():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.close()

    threading.Thread(target=hang_up, daemon=True).start()
    display = f"127.0.0.1:{port - 6000}"
    try:
        result = _no_terminal(home, "credential-process", "-p", "x", "--role", "TerraformRole",
                              "--serial", home.identity.serial, env={"DISPLAY": display})  # fmt: skip
    finally:
        server.close()
    assert_one_line_failure(result, 6, f"the zenity dialog can't be shown on DISPLAY={display}", "cannot open display")
    assert _cancel_files(home) == []
