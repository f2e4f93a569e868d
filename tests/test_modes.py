"""Credentials without the credentials file: exec, env, credential_process; one prompt for all."""

from __future__ import annotations

import fcntl
import json
import os
import select
import subprocess
import sys
import termios

import boto3
import pytest
from conftest import TOOL, go_identity, run_parallel

from local_aws import ACCOUNT
from terraform_session_token import inifile

ROLE = f"arn:aws:iam::{ACCOUNT}:role/TerraformRole"
WHOAMI = (
    "import os, boto3; "
    "print(boto3.client('sts', endpoint_url=os.environ['LOCAL_AWS_ENDPOINT']).get_caller_identity()['Arn']); "
    "print(os.environ.get('AWS_PROFILE', '-'))"
)


def expected(home, account=ACCOUNT):
    return f"arn:aws:sts::{account}:assumed-role/TerraformRole/{home.identity.user_name}"


def configure_tf(home, *extra):
    result = home.run("configure", "-p", "tf", "--role", "TerraformRole", "--serial", home.identity.serial, *extra)
    assert result.returncode == 0, result.stderr
    return result


def test_configure_writes_credential_process_that_botocore_uses(home, monkeypatch):
    configure_tf(home, "--mfa-process", f"echo {home.code()}")
    section = inifile.parse(home.config.read_text())["profile tf"]
    assert section["credential_process"].endswith("credential-process -p tf")
    assert os.path.isabs(section["credential_process"].split()[0])
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    for key in ("HOME", "AWS_ENDPOINT_URL", "XDG_CACHE_HOME"):
        monkeypatch.setenv(key, home.env[key])
    arn = boto3.Session(profile_name="tf").client("sts").get_caller_identity()["Arn"]
    assert arn == expected(home)


def test_go_sdk_uses_credential_process(home, go_reader):
    configure_tf(home, "--mfa-process", f"echo {home.code()}")
    go = go_identity(go_reader, home, "tf")
    assert go.returncode == 0, go.stderr
    assert go.stdout.strip() == expected(home)


def test_16_parallel_cold_calls_make_one_request_and_one_prompt(home, local_aws, tmp_path):
    counter = tmp_path / "prompts"
    configure_tf(home, "--mfa-process", f"echo asked >> {counter}; echo {home.code()}")
    local_aws.reset_requests()
    results = run_parallel([TOOL, "credential-process", "-p", "tf"], home.env, 16)
    assert all(code == 0 for _, _, code in results), [err for _, err, _ in results]
    outputs = {out for out, _, _ in results}
    assert len(outputs) == 1, "all 16 callers get the same session"
    document = json.loads(outputs.pop())
    assert document["Version"] == 1 and set(document) == {
        "Version",
        "AccessKeyId",
        "SecretAccessKey",
        "SessionToken",
        "Expiration",
    }
    assert [a for a in local_aws.actions() if a == "AssumeRole"] == ["AssumeRole"]
    assert counter.read_text() == "asked\n"


def test_cached_credential_process_does_not_import_botocore(home, local_aws):
    configure_tf(home, "--mfa-process", f"echo {home.code()}")
    assert home.run("credential-process", "-p", "tf").returncode == 0
    local_aws.reset_requests()
    result = subprocess.run(
        [sys.executable, "-X", "importtime", TOOL, "credential-process", "-p", "tf"],
        capture_output=True,
        text=True,
        env=home.env,
    )
    assert result.returncode == 0
    assert json.loads(result.stdout)["Version"] == 1
    assert "botocore" not in result.stderr
    assert local_aws.actions() == []


def test_prompt_goes_to_the_terminal_and_stdout_has_only_json(home):
    master, slave = os.openpty()

    def take_terminal():
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        [TOOL, "credential-process", "-p", "tty", "--role", "TerraformRole", "--serial", home.identity.serial],
        env=home.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=take_terminal,
        pass_fds=(slave,),
    )
    os.close(slave)
    seen = b""
    while not seen.endswith(b": "):
        ready, _, _ = select.select([master], [], [], 30)
        assert ready, f"no prompt on the terminal: {seen!r}"
        try:
            seen += os.read(master, 1024)
        except OSError:
            pytest.fail(f"the terminal closed: {proc.communicate()}")
    # The prompt names what it asks for: parallel runs of several profiles can be told apart.
    expected = f"MFA code for {home.identity.serial} (profile tty, role TerraformRole in {ACCOUNT}): "
    assert seen.decode() == expected
    os.write(master, home.code().encode() + b"\n")
    out, err = proc.communicate(timeout=60)
    os.close(master)
    assert proc.returncode == 0, err
    assert json.loads(out)["Version"] == 1
    assert b"MFA code" not in out


def test_without_terminal_or_code_source_it_says_what_to_do(home):
    result = subprocess.run(
        [TOOL, "credential-process", "-p", "x", "--role", "TerraformRole", "--serial", home.identity.serial],
        env=home.env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # no controlling terminal
    )
    assert result.returncode == 6
    assert result.stdout == ""
    assert "no terminal to ask on" in result.stderr and "mfa_process" in result.stderr


@pytest.mark.parametrize(
    ("command", "message"),
    [("exit 3", "mfa_process failed with exit code 3"), ("echo hello", "mfa_process printed no 6-digit code")],
)
def test_mfa_process_failures(home, command, message):
    result = home.run("credential-process", "-p", "x", "--role", "TerraformRole", "--mfa-process", command)
    assert result.returncode == 6
    assert message in result.stderr


def test_exec_passes_exit_code_and_environment(home):
    before = home.credentials.read_bytes()
    result = home.run("exec", "-p", "x", "--role", "TerraformRole", "--code", home.code(), "--", "sh", "-c", "exit 7")
    assert result.returncode == 7
    child = home.run("exec", "-p", "x", "--", sys.executable, "-c", WHOAMI, env={"AWS_PROFILE": "elsewhere"})
    assert child.returncode == 0, child.stderr
    assert child.stdout.splitlines() == [expected(home), "-"]
    assert home.credentials.read_bytes() == before, "exec writes nothing into the credentials file"


def test_exec_passes_signals(home):
    result = home.run(
        "exec", "-p", "x", "--role", "TerraformRole", "--code", home.code(), "--", "sh", "-c", "kill -TERM $$"
    )
    assert result.returncode == -15


def test_exec_needs_a_command(home):
    result = home.run("exec", "-p", "x")
    assert result.returncode == 2 and "exec needs a command" in result.stderr


def test_env_evaluated_by_sh_gives_the_same_identity(home):
    script = f'eval "$({TOOL} env -p x --role TerraformRole --code {home.code()})" && {sys.executable} -c "{WHOAMI}"'
    result = subprocess.run(
        ["sh", "-c", script], capture_output=True, text=True, env={**home.env, "AWS_PROFILE": "elsewhere"}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [expected(home), "-"]


def test_env_formats(home):
    assert home.run("env", "-p", "x", "--role", "TerraformRole", "--code", home.code()).returncode == 0
    as_json = json.loads(home.run("env", "-p", "x", "--format", "json").stdout)
    assert set(as_json) >= {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION"}
    fish = home.run("env", "-p", "x", "--format", "fish").stdout
    assert "set -gx AWS_SESSION_TOKEN '" in fish and "set -e AWS_PROFILE" in fish
    pwsh = home.run("env", "-p", "x", "--format", "powershell").stdout
    assert "$Env:AWS_ACCESS_KEY_ID = '" in pwsh and "Remove-Item Env:AWS_PROFILE" in pwsh


def test_cache_files_are_private(home):
    assert home.run("env", "-p", "x", "--role", "TerraformRole", "--code", home.code()).returncode == 0
    assert oct(home.cache.stat().st_mode & 0o777) == "0o700"
    assert oct((home.cache / "x.json").stat().st_mode & 0o777) == "0o600"


def test_a_session_written_by_the_classic_flow_serves_exec_without_a_code(home, local_aws):
    assert home.run("--role", "TerraformRole", "--code", home.code()).returncode == 0
    local_aws.reset_requests()
    child = home.run("exec", "--", sys.executable, "-c", WHOAMI)
    assert child.returncode == 0, child.stderr
    assert child.stdout.splitlines()[0] == expected(home)
    assert local_aws.actions() == ["GetCallerIdentity"], "only the child's own call"
