"""Hostile: closed or odd standard streams."""

from __future__ import annotations

import json
import os
import subprocess

from conftest import TOOL


def run_with_closed(home, fds, *args, input=None):
    def close():
        for fd in fds:
            os.close(fd)

    return subprocess.run(
        [TOOL, *args],
        env=home.env,
        capture_output=input is None or 0 not in fds,
        input=input,
        text=True,
        preexec_fn=close,
        timeout=60,
    )


def test_status_with_stdout_closed_is_quiet_and_succeeds(home):
    assert home.run("--role", "TerraformRole", "--code", home.code()).returncode == 0
    proc = subprocess.run(
        [TOOL, "status"], env=home.env, stderr=subprocess.PIPE, text=True, preexec_fn=lambda: os.close(1)
    )
    assert proc.returncode == 0 and proc.stderr == ""


def test_help_with_every_stream_closed(home):
    proc = subprocess.run([TOOL, "--help"], env=home.env, preexec_fn=lambda: [os.close(fd) for fd in (0, 1, 2)])
    assert proc.returncode == 0


def test_a_prompt_with_stdin_closed_says_input_ended(home, local_aws):
    local_aws.reset_requests()
    proc = subprocess.run(
        [TOOL, "--role", "arn:aws:iam::123456789012:role/TerraformRole", "--serial", home.identity.serial],
        env=home.env,
        capture_output=True,
        text=True,
        preexec_fn=lambda: os.close(0),
    )
    assert proc.returncode == 6
    assert "input ended" in proc.stderr and "unexpected" not in proc.stderr and "Traceback" not in proc.stderr
    assert local_aws.actions() == []


def test_credential_process_stdout_is_only_json_even_with_stderr_closed(home):
    result = home.run("credential-process", "-p", "x", "--role", "TerraformRole", "--code", home.code())
    assert result.returncode == 0
    # -v's warning must not land on stdout when stderr is closed: a refresh with -v.
    proc = subprocess.run(
        [TOOL, "credential-process", "-p", "x", "--force", "-v", "--code", home.code()],
        env=home.env,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: os.close(2),
    )
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["Version"] == 1 and proc.stdout.count("\n") == 1


def test_a_full_stdout_is_an_error_not_a_traceback(home):
    assert home.run("credential-process", "-p", "x", "--role", "TerraformRole", "--code", home.code()).returncode == 0
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [TOOL, "credential-process", "-p", "x"], env=home.env, stdout=full, stderr=subprocess.PIPE, text=True
        )
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
