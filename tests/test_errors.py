"""The error catalogue: every failure a user can meet, through the installed command.

Each entry sets the scene (files, environment, the local AWS), runs the command and checks:
the documented exit code, one line on stderr with the message, no traceback, no secret
anywhere in the output, and a credentials file byte-identical to before. The table of
docs/troubleshooting.md is checked against this catalogue.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import time
from pathlib import Path

import pytest
from conftest import TOOL

from local_aws import OTHER_ACCOUNT
from terraform_session_token.errors import ALL_ERRORS

ROLE = "arn:aws:iam::123456789012:role/TerraformRole"
OTHER_SECRET = "wJalrXUtnFEMI/K7MDENG/OTHERSECRETKEYEXAMPLE"
OTHER_TOKEN = "FwoGZXIvYXdzEXAMPLESESSIONTOKENOFANOTHERTOOL"
TROUBLESHOOTING = Path(__file__).resolve().parents[1] / "docs" / "troubleshooting.md"


def keys(identity_or_creds) -> str:
    if isinstance(identity_or_creds, dict):
        c = identity_or_creds
        return (
            f"aws_access_key_id = {c['AccessKeyId']}\naws_secret_access_key = {c['SecretAccessKey']}\n"
            f"aws_session_token = {c['SessionToken']}\n"
        )
    return (
        f"aws_access_key_id = {identity_or_creds.access_key_id}\n"
        f"aws_secret_access_key = {identity_or_creds.secret_access_key}\n"
    )


def with_default(home, body: str) -> None:
    home.credentials.write_text(
        f"[default]\n{body}region = us-east-1\n\n[other]\naws_access_key_id = ASIAOTHER\n"
        f"aws_secret_access_key = {OTHER_SECRET}\naws_session_token = {OTHER_TOKEN}\n"
    )


def fault(status, code, message):
    """The next request fails so; a configured role and serial make that request AssumeRole."""

    def setup(home, aws):
        aws.inject_fault(status, code, message)
        return ["--role", ROLE, "--serial", home.identity.serial, "--code", home.code()], {}

    return setup


def _wrong_code(home, aws):
    valid = {home.identity.totp(offset=k) for k in (-1, 0, 1)}
    return ["--role", "TerraformRole", "--code", next(c for c in ("000000", "111111", "222222") if c not in valid)], {}


def plain(*args, env=None, stdin=None):
    def setup(home, aws):
        return [home.code() if a == "CODE" else a for a in args], env or {}

    setup.stdin = stdin
    return setup


def _no_device(home, aws):
    with_default(home, keys(aws.new_identity(devices=0)))
    return ["--role", "TerraformRole", "--code", "123456"], {}


def _two_devices(home, aws):
    with_default(home, keys(aws.new_identity(devices=2)))
    return ["--role", "TerraformRole", "--code", "123456"], {}


def _private_role(home, aws):
    arn = f"arn:aws:iam::{OTHER_ACCOUNT}:role/PrivateRole"
    if not any(r.arn == arn for r in aws._iam(OTHER_ACCOUNT).roles.values()):
        aws.create_role("PrivateRole", OTHER_ACCOUNT)  # trusts only its own account
    return ["--role", arn, "--code", home.code()], {}


def _no_credentials_file(home, aws):
    home.credentials.unlink()
    return ["--role", "TerraformRole", "--code", home.code()], {}


def _write(name: str, content: bytes, args=("--role", "TerraformRole", "--code", "CODE")):
    def setup(home, aws):
        path = home.credentials if name == "credentials" else home.config
        path.write_bytes(content)
        return [home.code() if a == "CODE" else a for a in args], {}

    return setup


def _keys_missing(home, aws):
    with_default(home, "")
    return ["--role", "TerraformRole", "--code", home.code()], {}


def _expired_source(home, aws):
    creds = home.sts_client().get_session_token()["Credentials"]
    aws.expire(creds["AccessKeyId"])
    with_default(home, keys(creds))
    return ["--role", "TerraformRole", "--serial", home.identity.serial, "--code", home.code()], {}


def _unknown_keys(home, aws):
    with_default(home, "aws_access_key_id = AKIAUNKNOWNKEY000000\naws_secret_access_key = nope\n")
    return ["--role", "TerraformRole", "--code", home.code()], {}


def _tls(home, aws, request=None):
    return ["--role", "TerraformRole", "--code", "123456"], {"AWS_ENDPOINT_URL": "TLS"}


def _proxy(home, aws):
    return ["--role", "TerraformRole", "--code", "123456"], {
        "AWS_ENDPOINT_URL": "TLS",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "",
        "no_proxy": "",
    }


def _long_term_target(home, aws):
    home.credentials.write_text(home.credentials.read_text() + "\n[prod]\naws_access_key_id = AKIAPROD\n")
    return ["-p", "prod", "--role", "TerraformRole", "--code", "123456"], {}


def _aws_style(home, aws):
    home.config.write_text(
        "[profile terraform_session]\nrole_arn = arn:aws:iam::123456789012:role/TerraformRole\n"
        "source_profile = default\n"
    )
    return ["--code", "123456"], {}


def _cut_login_cache(home, aws):
    """A login source whose cache a killed refresh left cut short."""
    home.config.write_text(f"[profile dev-login]\nlogin_session = {home.identity.arn}\nregion = us-east-1\n")
    aws.write_login_cache(home.identity, home.root, home.identity.arn)
    [cache] = (home.root / ".aws" / "login" / "cache").iterdir()
    cache.write_text(cache.read_text()[:100])
    return ["--source-profile", "dev-login", "--role", ROLE], {}


def _set_source_identity_refused(home, aws):
    aws.inject_fault(
        403,
        "AccessDenied",
        f"User: {home.identity.arn} is not authorized to perform: sts:SetSourceIdentity on resource: {ROLE}",
    )
    return ["--role", ROLE, "--serial", home.identity.serial, "--source-identity", "alice", "--code", home.code()], {}


LONG_POLICY = '{"Statement":[],"Sid":"' + "x" * 2040 + '"}'


def _other_process(home, aws):
    home.config.write_text("[profile sso]\ncredential_process = other-tool get\n")
    return ["-p", "sso", "--role", "TerraformRole", "--code", home.code()], {}


CATALOGUE = {
    "wrong MFA code": (_wrong_code, 6, "AWS rejected the MFA code"),
    "code not 6 digits": (plain("--role", "TerraformRole", "--code", "12ab"), 6, "is not 6 digits"),
    "no MFA device": (_no_device, 6, "no MFA device is assigned"),
    "several MFA devices": (_two_devices, 6, "you have 2 MFA devices"),
    "unknown role": (plain("--role", "NoSuchRole", "--code", "CODE"), 7, "does not exist in the source account"),
    "not allowed to assume": (_private_role, 7, "not allowed to assume"),
    "duration out of range": (plain("--role", "TerraformRole", "-d", "100", "--code", "CODE"), 2, "out of range"),
    "duration over the role's maximum": (
        plain("--role", "TerraformRole", "-d", "7200", "--code", "CODE"),
        7,
        "above TerraformRole's maximum session duration",
    ),
    "role-chaining cap": (
        plain("--role", "LongRole", "--mfa-session", "-d", "7200", "--code", "CODE"),
        2,
        "AWS caps a role assumed with session credentials at 1 hour",
    ),
    "missing credentials file": (_no_credentials_file, 5, "source profile [default] not found"),
    "unparseable credentials file": (_write("credentials", b"[default\nx = 1\n"), 3, "can't parse"),
    "unparseable config file": (_write("config", b"x = 1\n"), 3, "can't parse"),
    "duplicate session profile": (
        _write("credentials", b"[terraform_session]\na = 1\n[terraform_session]\nb = 2\n"),
        3,
        "appears twice",
    ),
    "file not UTF-8": (_write("credentials", b"[default]\nx = \xff\n"), 3, "is not UTF-8"),
    "missing source profile": (
        plain("--role", "TerraformRole", "--source-profile", "nobody", "--code", "CODE"),
        5,
        "source profile [nobody] not found",
    ),
    "no keys in the source profile": (_keys_missing, 5, "no AWS keys found"),
    "expired source session": (_expired_source, 5, "have expired"),
    "keys AWS does not know": (_unknown_keys, 5, "did not accept the keys"),
    "clock skew": (
        fault(403, "SignatureDoesNotMatch", "Signature expired: 20260101T000000Z is now earlier than 20260102T000000Z"),
        9,
        "clock is wrong",
    ),
    "throttling": (fault(400, "Throttling", "Rate exceeded"), 9, "AWS is throttling requests"),
    "unreachable endpoint": (
        plain("--role", "TerraformRole", "--code", "CODE", env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}),
        8,
        "can't reach",
    ),
    "DNS failure": (
        plain("--role", "TerraformRole", "--code", "CODE", env={"AWS_ENDPOINT_URL": "http://no-such-host.invalid"}),
        8,
        "can't reach",
    ),
    "TLS failure": (_tls, 8, "TLS certificate verification failed"),
    "proxy unreachable": (_proxy, 8, "can't connect through the proxy"),
    "end of input at the prompt": (plain("--role", "TerraformRole", stdin=""), 6, "input ended"),
    "long-term keys in the session profile": (_long_term_target, 4, "holds long-term keys"),
    "session profile is the source profile": (plain("-p", "default", "--code", "CODE"), 2, "both [default]"),
    "profile name that would inject": (plain("-p", "a]b", "--code", "CODE"), 2, "invalid profile name"),
    "assume-role profile in the config": (_aws_style, 3, "assume that role themselves"),
    "invalid flag value": (plain("-d", "abc"), 2, "invalid int value"),
    "unknown flag": (plain("--no-such-flag"), 2, "unknown option"),
    "misspelt option": (plain("--profle", "prod"), 2, "unknown option --profle (did you mean --profile?)"),
    "option before its command": (
        plain("--timeout", "5", "credential-process"),
        2,
        "--timeout is an option of credential-process: it goes after the command",
    ),
    "a word that is no command": (plain("stauts"), 2, "unknown command"),
    "configure given a code": (plain("configure", "--code", "123456"), 2, "configure can't store"),
    "configure --remove with other options": (
        plain("configure", "--remove", "--region", "eu-west-1"),
        2,
        "configure --remove takes only -p",
    ),
    "a new profile with nobody to answer its role": (plain("-p", "fresh"), 2, "is not in the credentials or config"),
    "status of a profile no file knows": (plain("status", "-p", "nosuch"), 2, "is not in the credentials or config"),
    "min-left shorter than the margin": (plain("--min-left", "2"), 2, "less than the 300 s refresh margin"),
    "another program's credential_process": (_other_process, 3, "would shadow it"),
    "keys given two profiles": (plain("keys", "import", "a", "--source-profile", "b"), 2, "two profiles given"),
    "mfa_process fails": (plain("--role", "TerraformRole", "--mfa-process", "exit 1"), 6, "mfa_process failed"),
    "dialog without a display": (
        plain("--role", "TerraformRole", "--prompt", "zenity"),
        6,
        "mfa_prompt is zenity but there is no display",
    ),
    "aws login cache cut short": (
        _cut_login_cache,
        5,
        "the aws login cache of source profile [dev-login] can't be used",
    ),
    "a session tag that is not KEY=VALUE": (plain("--role", "TerraformRole", "--tag", "Team"), 2, "is not KEY=VALUE"),
    "a session option in the config file AWS would refuse": (
        _write("config", b"[profile terraform_session]\nsource_identity = alice smith\n"),
        3,
        "(fix it there",
    ),
    "session policies over 2,048 characters": (
        plain("--role", "TerraformRole", "--policy", LONG_POLICY),
        2,
        "AWS takes at most 2,048",
    ),
    "trust policy without sts:SetSourceIdentity": (
        plain("--role", "TerraformRole", "--source-identity", "alice", "--code", "CODE"),
        7,
        "its trust policy does not allow sts:SetSourceIdentity",
    ),
    "AWS refused the source identity": (_set_source_identity_refused, 7, "sts:SetSourceIdentity was not allowed"),
    "session policies and tags too large packed": (
        fault(400, "PackedPolicyTooLarge", "Packed policy consumes 112% of allotted space, please use smaller policy."),
        2,
        "packed, they take 112% of the room",
    ),
}


@pytest.mark.parametrize("case", CATALOGUE)
def test_catalogue(home, local_aws, tls_aws, case):
    setup, exit_code, message = CATALOGUE[case]
    if not home.credentials.read_text().count("[other]"):
        with_default(home, keys(home.identity))
    args, env = setup(home, local_aws)
    if env.get("AWS_ENDPOINT_URL") == "TLS":
        env["AWS_ENDPOINT_URL"] = tls_aws.endpoint
    before = home.credentials.read_bytes() if home.credentials.exists() else None
    result = home.run(*args, env=env, input=getattr(setup, "stdin", None))
    assert result.returncode == exit_code, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("terraform-session-token: error: ")
    assert message in lines[0]
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    for secret in (home.identity.secret_access_key, OTHER_SECRET, OTHER_TOKEN):
        assert secret not in output
    after = home.credentials.read_bytes() if home.credentials.exists() else None
    assert after == before


def test_debug_shows_a_traceback_but_no_secret(home, local_aws):
    with_default(home, keys(home.identity))
    local_aws.inject_fault(
        403, "AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code. "
    )
    result = home.run("--debug", "--role", "TerraformRole", "--code", home.code())
    assert result.returncode == 6
    assert "Traceback" in result.stderr
    for secret in (home.identity.secret_access_key, OTHER_SECRET, OTHER_TOKEN):
        assert secret not in result.stdout + result.stderr


def wait_for(pid: int, timeout: float) -> int:
    """The child's wait status; it is killed, and the test fails, when it does not end in time."""
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise AssertionError(f"the command did not end within {timeout:g} s of the interrupt")
        time.sleep(0.05)


def test_ctrl_c_at_the_prompt_exits_130_and_writes_nothing(home):
    before = home.credentials.read_bytes()
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(TOOL, [TOOL, "--role", "TerraformRole"], home.env)
    seen = b""
    while b"Code: " not in seen:
        ready, _, _ = select.select([fd], [], [], 30)
        assert ready, seen
        seen += os.read(fd, 1024)
    os.kill(pid, signal.SIGINT)
    status = wait_for(pid, 30)
    rest = b""
    try:
        while select.select([fd], [], [], 1)[0]:
            chunk = os.read(fd, 1024)
            if not chunk:
                break
            rest += chunk
    except OSError:
        pass
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 130
    assert b"Traceback" not in rest and b"interrupted" in rest
    assert home.credentials.read_bytes() == before


def test_the_troubleshooting_page_matches_the_catalogue():
    section = TROUBLESHOOTING.read_text()
    for case, (_, exit_code, message) in CATALOGUE.items():
        row = next((line for line in section.splitlines() if message in line), None)
        assert row is not None, f"docs/troubleshooting.md lacks {case!r} ({message})"
        assert f"| {exit_code} |" in row, f"docs/troubleshooting.md gives another exit code for {case!r}"
    for error in ALL_ERRORS:
        assert re.search(rf"\| {error.exit_code} \| {re.escape(error.summary)}", section), error.__name__
    json.dumps(CATALOGUE, default=str)  # the catalogue is plain data


def test_no_hint_nests_brackets_in_the_line():
    """A hint is printed in parentheses: its own words carry none (the keyring hint once read
    "(install it: pipx inject ... (or pip install '...[keyring]'))")."""
    import ast

    source = Path(__file__).resolve().parents[1] / "src" / "terraform_session_token"
    nested = []
    for path in source.rglob("*.py"):
        text = path.read_text()
        constants: dict = {}
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and node.targets:
                target = node.targets[0]
                if isinstance(target, ast.Name) and target.id.endswith("_HINT"):
                    constants[target.id] = node.value
            if not (isinstance(node, ast.Call) and len(node.args) >= 2):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if not name.endswith(("Error", "Missing", "Interrupted", "Cancelled")):
                continue
            hint = node.args[1]
            hint = constants.get(hint.id, hint) if isinstance(hint, ast.Name) else hint
            words = "".join(
                part.value for part in ast.walk(hint) if isinstance(part, ast.Constant) and isinstance(part.value, str)
            )
            if "(" in words or ")" in words:
                nested.append(f"{path.name}:{node.lineno}: {words[:80]}")
    assert nested == []
