"""exec's credential endpoint, and the guards before a long run (--min-left, the SDK's 60 s)."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import termios
import time
import urllib.error
import urllib.request

import pytest
from conftest import TOOL, on_terminal, read_until

from local_aws import ACCOUNT
from terraform_session_token import sessions

ROLE = f"arn:aws:iam::{ACCOUNT}:role/TerraformRole"
SHOW_ENDPOINT = (
    "import os, sys; "
    "print(os.environ['AWS_CONTAINER_CREDENTIALS_FULL_URI'], os.environ['AWS_CONTAINER_AUTHORIZATION_TOKEN'], "
    "' '.join(sorted(k for k in os.environ if k in ('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', "
    "'AWS_SESSION_TOKEN', 'AWS_PROFILE'))) or '-', os.environ['AWS_SHARED_CREDENTIALS_FILE'], flush=True); "
    "sys.stdin.readline()"
)


def fetch(url, token=None):
    request = urllib.request.Request(url, headers={"Authorization": token} if token is not None else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def start_exec(home, profile, *options):
    proc = subprocess.Popen(
        [TOOL, "exec", "-p", profile, *options, "--", sys.executable, "-c", SHOW_ENDPOINT],
        env={**home.env, "AWS_PROFILE": "elsewhere", "AWS_ACCESS_KEY_ID": "AKIAOLD"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    assert line, proc.communicate()
    url, token, shadowing, credentials_file = line.split()
    return proc, url, token, shadowing, credentials_file


def test_endpoint_serves_only_this_runs_token_and_the_child_gets_no_keys(home, local_aws):
    code = ("--role", "TerraformRole", "--code")
    a, url_a, token_a, shadowing, credentials_file = start_exec(home, "a", *code, home.code())
    b, url_b, token_b, _, _ = start_exec(home, "b", *code, home.code())
    try:
        assert url_a.startswith("http://127.0.0.1:") and url_a != url_b
        assert shadowing == "-", "no keys and no AWS_PROFILE in the child's environment"
        assert credentials_file == os.devnull
        assert token_a != token_b and len(token_a) >= 32
        assert fetch(url_a)[0] == 401
        assert fetch(url_a, "")[0] == 401
        assert fetch(url_a, token_b)[0] == 401, "a token of another run is refused"
        assert fetch(url_a, token_a.upper() if token_a != token_a.upper() else token_a.lower())[0] == 401
        status, document = fetch(url_a, token_a)
        assert status == 200
        assert set(document) >= {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}
        assert document["AccessKeyId"].startswith("ASIA")
        assert document["RoleArn"].endswith("assumed-role/TerraformRole/" + home.identity.user_name)
        cached = sessions.Session.from_cache_json((home.cache / "a.json").read_text())
        reported = sessions.parse_time(document["Expiration"])
        assert 300 <= (cached.expiration - reported).total_seconds() < 302, "expires the margin early"
    finally:
        for proc in (a, b):
            proc.communicate("\n", timeout=30)
    assert a.returncode == 0 and b.returncode == 0


def test_credential_process_reports_an_early_expiration_and_the_cache_keeps_the_true_one(home):
    result = home.run("credential-process", "-p", "cp", "--role", "TerraformRole", "--code", home.code())
    assert result.returncode == 0, result.stderr
    reported = sessions.parse_time(json.loads(result.stdout)["Expiration"])
    cached = sessions.Session.from_cache_json((home.cache / "cp.json").read_text())
    assert 300 <= (cached.expiration - reported).total_seconds() < 301
    assert 3500 < cached.seconds_left() <= 3600


def exec_child_exiting_on(home, signum: int, status: int):
    """exec of a child (no terminal) that exits with `status` on `signum`, once it is ready."""
    child = (
        f"import signal, sys; signal.signal({signum}, lambda *a: sys.exit({status})); "
        "print('ready', flush=True); sys.stdin.readline()"
    )
    proc = subprocess.Popen(
        [TOOL, "exec", "-p", "x", "--role", "TerraformRole", "--code", home.code(), "--", sys.executable, "-c", child],
        env=home.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout.readline() == "ready\n"
    return proc


def test_exec_forwards_a_signal_sent_to_it(home):
    proc = exec_child_exiting_on(home, signal.SIGTERM, 3)
    proc.terminate()
    assert proc.wait(timeout=30) == 3, "the child got SIGTERM and its exit code came back"


def test_ctrl_c_at_the_terminal_reaches_the_child_once(home):
    """Terraform stops gracefully on the first interrupt and abandons its state write on a second.

    The terminal delivers Ctrl-C to exec and the child alike (one foreground group), so exec
    must not forward it. A SIGINT sent to exec alone shows whether exec forwards: the child
    must see none; Ctrl-C on the terminal then reaches the child.
    """
    assert home.run("exec", "-p", "x", "--role", "TerraformRole", "--code", home.code(), "--", "true").returncode == 0
    child = (
        "import signal, sys; got = []; "
        "signal.signal(signal.SIGINT, lambda *a: got.append(1)); "
        "print('ready', flush=True); sys.stdin.readline(); print('interrupts', len(got), flush=True); "
        "sys.stdin.readline(); print('interrupts', len(got), flush=True)"
    )
    proc, master = on_terminal([TOOL, "exec", "-p", "x", "--", sys.executable, "-c", child], home.env)
    read_until(master, b"ready")
    proc.send_signal(signal.SIGINT)  # to exec only
    os.write(master, b"one\n")
    assert b"interrupts 0" in read_until(master, b"interrupts 0"), "exec forwarded a terminal interrupt"
    os.write(master, b"\x03")  # Ctrl-C: the terminal signals the whole foreground group
    read_until(master, b"^C")
    os.write(master, b"two\n")
    assert b"interrupts 1" in read_until(master, b"interrupts 1")
    assert proc.wait(timeout=30) == 0, "exec itself survives the interrupt and returns the child's status"
    os.close(master)


def test_without_a_terminal_exec_forwards_an_interrupt(home):
    proc = exec_child_exiting_on(home, signal.SIGINT, 5)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 5


def test_exec_of_a_missing_command_fails_before_a_code_is_asked(home, local_aws, tmp_path):
    counter = tmp_path / "codes"
    local_aws.reset_requests()
    result = home.run("exec", "-p", "x", "--mfa-process", home.mfa_process(counter), "--", "no-such-command-here")
    assert result.returncode == 127
    assert result.stderr.count("\n") == 1 and "command not found: no-such-command-here" in result.stderr
    assert home.codes_asked(counter) == 0 and local_aws.actions() == []


def test_credential_process_gives_up_on_another_runs_prompt_before_the_sdk_does(home):
    home.cache.mkdir(parents=True, mode=0o700)
    with open(os.open(home.cache / "held.lock", os.O_RDWR | os.O_CREAT, 0o600), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another run, waiting at its prompt
        start = time.monotonic()
        result = home.run(
            "credential-process", "-p", "held", "--role", "TerraformRole", "--serial", "arn:aws:iam::1:mfa/x",
            "--timeout", "2",
        )  # fmt: skip
        elapsed = time.monotonic() - start
    assert result.returncode == 6 and result.stdout == ""
    assert "gave up after 2 s waiting for another terraform-session-token" in result.stderr
    assert result.stderr.count("\n") == 1
    assert elapsed < 10


def test_credential_process_gives_up_on_an_unanswered_prompt(home):
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [TOOL, "credential-process", "-p", "tty", "--role", "TerraformRole", "--serial", home.identity.serial]
        + ["--timeout", "2"],
        env=home.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=lambda: fcntl.ioctl(slave, termios.TIOCSCTTY, 0),
        pass_fds=(slave,),
    )
    os.close(slave)
    read_until(master, b"(profile tty, role TerraformRole in")
    out, err = proc.communicate(timeout=30)
    os.close(master)
    assert proc.returncode == 6 and out == b""
    assert b"no MFA code was typed within 2 s" in err


def test_classic_min_left_refuses_a_session_too_short_before_any_call(home, local_aws):
    local_aws.reset_requests()
    result = home.run("--role", "TerraformRole", "--code", "123456", "--min-left", "2h")
    assert result.returncode == 2
    assert "can't last the 7200 s --min-left asks for" in result.stderr
    assert local_aws.actions() == []


def test_classic_min_left_refreshes_a_valid_but_short_session(home, local_aws):
    assert home.run("--role", "TerraformRole", "-d", "900", "--code", home.code()).returncode == 0
    assert "nothing to do" in home.run().stdout
    local_aws.reset_requests()
    result = home.run("--min-left", "20m", "--code", home.code())
    assert result.returncode == 0, result.stderr
    assert local_aws.actions() == ["AssumeRole"]


def test_exec_refuses_a_run_longer_than_codeless_refreshes_can_last(home, local_aws):
    local_aws.reset_requests()
    result = home.run("exec", "-p", "x", "--role", "TerraformRole", "--min-left", "3h", "--", "true")
    assert result.returncode == 2 and "without mfa_session each refresh needs a new MFA code" in result.stderr
    result = home.run("exec", "-p", "x", "--mfa-session", "--mfa-session-duration", "3600", "--min-left", "3h")
    assert result.returncode == 2 and "exec needs a command" in result.stderr
    result = home.run(
        "exec", "-p", "x", "--role", "TerraformRole", "--mfa-session", "--mfa-session-duration", "3600",
        "--min-left", "3h", "--", "true",
    )  # fmt: skip
    assert result.returncode == 2 and "the MFA session lasts 3600 s" in result.stderr
    assert local_aws.actions() == []


def test_exec_renews_an_mfa_session_that_would_end_mid_run(home, local_aws, tmp_path):
    counter = tmp_path / "codes"
    options = ("exec", "-p", "x", "--role", ROLE, "--serial", home.identity.serial, "--mfa-session")
    options += ("--mfa-process", home.mfa_process(counter))
    assert home.run(*options, "--mfa-session-duration", "900", "--min-left", "0", "--", "true").returncode == 0
    local_aws.reset_requests()
    result = home.run(*options, "--force", "--mfa-session-duration", "7200", "--min-left", "20m", "--", "true")
    assert result.returncode == 0, result.stderr
    assert local_aws.actions() == ["GetSessionToken", "AssumeRole"]
    assert home.codes_asked(counter) == 2
    local_aws.reset_requests()
    result = home.run(*options, "--force", "--mfa-session-duration", "7200", "--min-left", "1h", "--", "true")
    assert local_aws.actions() == ["AssumeRole"], "the renewed MFA session lasts the hour asked for"
    assert home.codes_asked(counter) == 2


@pytest.mark.parametrize("value", ["-5", "abc", "1x"])
def test_min_left_must_be_a_duration(home, value):
    result = home.run("--min-left", value, "--code", "123456")
    assert result.returncode == 2 and "--min-left" in result.stderr and "Traceback" not in result.stderr


def test_doctor_names_the_mode_and_how_long_an_apply_survives(home):
    home.config.write_text(
        f"[profile cp]\ncredential_process = {TOOL} credential-process -p cp\nmfa_session = true\n"
        f"mfa_serial = {home.identity.serial}\nmfa_session_duration = 86400\nregion = us-east-1\n"
    )
    result = home.run("doctor", "--offline", "-p", "cp")
    assert "mode: credential_process; Terraform's credentials are refreshed without a code" in result.stdout
    assert "24 h 00 min" in result.stdout, result.stdout
    assert home.run("--role", "TerraformRole", "--code", home.code()).returncode == 0
    result = home.run("doctor", "--offline")
    assert "mode: classic credentials file" in result.stdout and "an apply must end before the session does" in (
        result.stdout
    )
    assert "refreshed with a new MFA code, asked by the MFA prompt, every 1 h 00 min" in result.stdout
    assert "credentials are a code" not in result.stdout
