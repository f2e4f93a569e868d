"""Long runs survive the session: clients calling AWS once a second for several session lifetimes,
against a local AWS whose role sessions really expire after LIFETIME seconds."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import TOOL

from local_aws import ACCOUNT, LocalAws

LIFETIME = 6  # seconds a role session really lasts
MARGIN = 2  # the tool refreshes (and tells SDKs the session ends) this long before
RUN = 3 * LIFETIME + 2  # at least three lifetimes
ROLE = f"arn:aws:iam::{ACCOUNT}:role/TerraformRole"
LOOP_CLIENT = str(Path(__file__).parent / "loop_client.py")


@pytest.fixture(scope="module")
def local_aws():
    """This module's local AWS: role sessions end after LIFETIME s; MFA sessions last as asked."""
    aws = LocalAws(session_lifetime=LIFETIME).start()
    yield aws
    aws.stop()


def long_run_profile(home, counter) -> None:
    home.config.write_text(
        "[profile lr]\n"
        f"session_role_arn = {ROLE}\n"
        f"mfa_serial = {home.identity.serial}\n"
        "mfa_session = true\n"
        f"session_refresh_margin = {MARGIN}\n"
        f"mfa_process = {home.mfa_process(counter)}\n"
        "region = us-east-1\n"
    )


def with_credential_process(home) -> None:
    text = home.config.read_text()
    home.config.write_text(text + f"credential_process = {TOOL} credential-process -p lr\n")


def check_run(home, local_aws, counter, result, elapsed) -> None:
    lines = result.stdout.splitlines()
    records = local_aws.requests()
    actions = [r["action"] for r in records]
    context = f"{elapsed:.1f} s, {actions}, {lines}, {result.stderr[-2000:]}"
    assert result.returncode == 0, context
    assert lines and all(line.startswith("ok ") for line in lines), context
    # Spans of the local AWS's records, not the process's wall time: a client's start-up (importing
    # botocore takes seconds on a loaded machine) calls nothing and needs no session.
    calls = [r["time"] for r in records if r["action"] == "GetCallerIdentity"]
    requests = [r["time"] for r in records]
    calling, used = max(calls) - min(calls), max(requests) - min(requests)
    context = f"calls over {calling:.1f} s, requests over {used:.1f} s, {context}"
    assert elapsed >= 3 * LIFETIME
    assert [r for r in records if r["error"]] == [], context
    assert home.codes_asked(counter) == 1, "one code for the whole run"
    assert actions.count("GetSessionToken") == 1, context
    assume = actions.count("AssumeRole")
    # One AssumeRole per lifetime: a session lasts LIFETIME, and a new one is fetched only once the
    # old one is within the margin.
    assert math.floor(calling / LIFETIME) <= assume <= math.ceil(used / (LIFETIME - MARGIN)) + 1, context
    callers = {r["key"] for r in records if r["action"] == "GetCallerIdentity"}
    assert len(callers) >= 3 and all(k.startswith("ASIA") for k in callers), context


def client_argv(client: str, request) -> list[str]:
    """The Go SDK v2 reader or the botocore loop, each calling AWS once a second for RUN s."""
    if client == "go":
        return [request.getfixturevalue("go_reader")]
    return [sys.executable, LOOP_CLIENT, str(RUN)]


def timed(argv, env):
    start = time.monotonic()
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=RUN + 60)
    return result, time.monotonic() - start


@pytest.mark.parametrize("client", ["go", "botocore"])
def test_credential_process_with_mfa_session_outlives_the_session(home, local_aws, tmp_path, client, request):
    counter = tmp_path / "codes"
    long_run_profile(home, counter)
    with_credential_process(home)
    local_aws.reset_requests()
    env = {**home.env, "AWS_PROFILE": "lr", "LOOP_SECONDS": str(RUN)}
    result, elapsed = timed(client_argv(client, request), env)
    check_run(home, local_aws, counter, result, elapsed)


@pytest.mark.parametrize("client", ["go", "botocore"])
def test_exec_endpoint_outlives_the_session(home, local_aws, tmp_path, client, request):
    counter = tmp_path / "codes"
    long_run_profile(home, counter)
    local_aws.reset_requests()
    env = {**home.env, "LOOP_SECONDS": str(RUN)}
    argv = [TOOL, "exec", "-p", "lr", "--min-left", "1m", "--", *client_argv(client, request)]
    result, elapsed = timed(argv, env)
    check_run(home, local_aws, counter, result, elapsed)


def test_static_keys_die_with_the_session(home, local_aws, tmp_path):
    """The reason exec serves an endpoint: the same run with --static-keys fails once the session ends."""
    counter = tmp_path / "codes"
    long_run_profile(home, counter)
    env = {**home.env, "LOOP_SECONDS": str(LIFETIME + 2)}
    argv = [TOOL, "exec", "-p", "lr", "--static-keys", "--min-left", "0", "--"]
    result, _ = timed([*argv, sys.executable, LOOP_CLIENT, str(LIFETIME + 2)], env)
    assert result.returncode == 1
    assert result.stdout.startswith("ok ")
    # botocore reports it itself (AWS_CREDENTIAL_EXPIRATION), or AWS answers ExpiredToken.
    assert "FAIL" in result.stdout and "expired" in result.stdout.lower()
