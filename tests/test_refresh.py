"""The classic flow end to end: the installed command, the local AWS, and real readers."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys

import boto3
import pytest
from conftest import TOOL, go_identity

from terraform_session_token import inifile

ROLE_ARN = "arn:aws:sts::123456789012:assumed-role/TerraformRole/{}"


def boto3_identity(home, profile="terraform_session"):
    session = boto3.Session(profile_name=profile)
    return session.client("sts", endpoint_url=home.endpoint).get_caller_identity()["Arn"]


@pytest.fixture
def boto3_env(home, monkeypatch):
    """boto3 in this process reads the test's files, as it would the user's."""
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home.credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home.config))
    return home


def test_piped_prompts_write_a_profile_all_three_readers_accept(boto3_env, go_reader):
    home = boto3_env
    before = home.credentials.read_text()
    result = home.run(input=f"\n{home.code()}\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Terraform Session Token\nHit Enter on Role for Default\n\nRole[TerraformRole]: ")
    assert f"Adding the profile [terraform_session] to the credentials file {home.credentials}" in result.stdout
    assert "Valid until " in result.stdout
    expected = ROLE_ARN.format(home.identity.user_name)

    text = home.credentials.read_text()
    assert text.startswith(before), "the user's bytes come first, untouched"
    assert "# managed by terraform-session-token" in text
    assert "expiration = " in text

    assert boto3_identity(home) == expected
    cli = home.aws_cli("sts", "get-caller-identity", "--profile", "terraform_session")
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["Arn"] == expected
    go = go_identity(go_reader, home, "terraform_session")
    assert go.returncode == 0, go.stderr
    assert go.stdout.strip() == expected
    assert "region: us-east-1" in go.stderr  # the region written into the profile is read too


def test_pseudo_terminal_prompts(home):
    """A person at a terminal: prompts appear, answers are typed."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(TOOL, [TOOL, "--role", "TerraformRole"], home.env)
    output = b""

    def read_until(marker: bytes) -> None:
        nonlocal output
        while marker not in output:
            ready, _, _ = select.select([fd], [], [], 30)
            assert ready, f"timed out waiting for {marker!r}; got {output!r}"
            output += os.read(fd, 1024)

    read_until(b"Code: ")
    os.write(fd, b"12\n")  # malformed: asked again at a terminal
    read_until(b"try again")
    os.write(fd, home.code().encode() + b"\n")
    read_until(b"Valid until")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, output
    assert b"Adding the profile [terraform_session]" in output


def test_second_run_updates_in_place_and_keeps_user_lines(home):
    home.credentials.write_text(
        home.credentials.read_text()
        + "\n[terraform_session]\n; my note\nregion = eu-west-1\naws_session_token = old\n\n[other]\nx = 1\n"
    )
    result = home.run("--role", "TerraformRole", "--code", home.code())
    assert result.returncode == 0, result.stderr
    assert "Updating the profile [terraform_session] in" in result.stdout
    text = home.credentials.read_text()
    assert "; my note\n" in text and text.endswith("\n[other]\nx = 1\n")
    assert inifile.parse(text)["terraform_session"]["aws_session_token"] != "old"
    assert home.run("clear", "-p", "terraform_session").returncode == 0
    assert "\n[terraform_session]\n; my note\nregion = eu-west-1\naws_session_token = old\n\n[other]" in (
        home.credentials.read_text()
    ), "the user's lines back, byte for byte"


def test_code_from_stdin_flag(home):
    result = home.run("--role", "TerraformRole", "--code", "-", input=home.code() + "\n")
    assert result.returncode == 0, result.stderr


def test_no_verify_ssl_warns_and_points_to_ca_bundle(home):
    result = home.run("-v", "--role", "TerraformRole", "--code", home.code())
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("terraform-session-token: warning: TLS verification is disabled (-v)")
    assert "--ca-bundle" in result.stderr


def test_python_m_entry_point(home):
    result = subprocess.run([sys.executable, "-m", "terraform_session_token", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stdout.startswith("usage: terraform-session-token [-h] [-d 3600] [-p terraform_session] [-v]")


def test_aws_profile_does_not_redirect_target(home):
    result = home.run("--role", "TerraformRole", "--code", home.code(), env={"AWS_PROFILE": "elsewhere"})
    assert result.returncode == 0, result.stderr
    assert "[terraform_session]" in home.credentials.read_text()
    assert "[elsewhere]" not in home.credentials.read_text()


FAILURES = {
    "wrong code": (["--role", "TerraformRole", "--code", "000000"], {}, "AWS rejected the MFA code"),
    "nonexistent role": (["--role", "NoSuchRole", "--code", "CODE"], {}, "NoSuchRole does not exist"),
    "nonexistent role ARN": (
        ["--role", "arn:aws:iam::123456789012:role/Nope", "--code", "CODE"],
        {},
        "not allowed to assume arn:aws:iam::123456789012:role/Nope",
    ),
    "duration over the role's maximum": (
        ["--role", "TerraformRole", "-d", "7200", "--code", "CODE"],
        {},
        "above TerraformRole's maximum session duration of 3600 s",
    ),
    "missing source profile": (
        ["--role", "TerraformRole", "--source-profile", "nobody", "--code", "CODE"],
        {},
        "source profile [nobody] not found",
    ),
    "unreachable endpoint": (
        ["--role", "TerraformRole", "--code", "CODE"],
        {"AWS_ENDPOINT_URL": "http://127.0.0.1:9"},
        "can't reach http://127.0.0.1:9",
    ),
}


@pytest.mark.parametrize("case", FAILURES)
def test_failures_are_one_line_and_leave_the_file_identical(home, case):
    args, env, message = FAILURES[case]
    args = [home.code() if a == "CODE" else a for a in args]
    before = home.credentials.read_bytes()
    result = home.run(*args, env=env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("terraform-session-token: error: ")
    assert message in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert home.identity.secret_access_key not in result.stderr + result.stdout
    assert home.credentials.read_bytes() == before
