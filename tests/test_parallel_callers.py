"""N parallel callers of one profile cost one code, one discovery and one AssumeRole, in every mode
and every state: first run after `configure`, first run of `-p NEW --role R`, expired session,
expired MFA session, an `aws login` source.

The local AWS holds the first STS call that makes a session until every caller has the cache's
lock open: all of them read their settings before the first run learned anything, and wait for
it. What they do once it is done is what is counted. The hold gives up after 10 s, before the
tool's read timeout; the tests of a few callers of the tool itself check that all of them were
in line by then (16 AWS CLIs may not all be on a busy machine: those that come late must cost
nothing either).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from conftest import AWS_CLI, TOOL, run_parallel

from local_aws import ACCOUNT

ROLE = "TerraformRole"
SESSION_CALLS = ("AssumeRole", "GetSessionToken")


def in_line(directory: Path) -> int:
    """How many processes have one of the tool's lock files in `directory` open (Linux /proc)."""
    prefix = str(directory) + os.sep
    count = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            targets = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            continue  # ended meanwhile
        count += any(t.startswith(prefix) and t.endswith(".lock") for t in targets)
    return count


def hold_until_in_line(local_aws, home, callers: int) -> None:
    """The first session call waits until all `callers` have the lock open: in line behind it."""
    local_aws.hold(SESSION_CALLS, lambda: in_line(home.cache) >= callers)


def counts(local_aws, home, counter: Path) -> dict[str, int]:
    actions = local_aws.actions()
    found = {"codes": home.codes_asked(counter)}
    for action in ("ListMFADevices", "GetRole", "GetSessionToken", "AssumeRole", "CreateOAuth2Token"):
        found[action] = actions.count(action)
    found["refused"] = len([r for r in local_aws.requests() if r["error"]])
    return found


def expire_sessions(home) -> None:
    """As if the sessions' time had run out: every cached session (role and MFA session) and the
    session written into the credentials file now say they expired a minute ago."""
    past = "2001-01-01T00:00:00Z"
    for path in home.cache.glob("*.json"):
        data = json.loads(path.read_text())
        data["Expiration"] = past
        path.write_text(json.dumps(data))
    if home.credentials.exists():
        text = re.sub(r"(?m)^expiration = .*$", f"expiration = {past}", home.credentials.read_text())
        home.credentials.write_text(text)


MODES = {
    "credential-process": ["credential-process"],
    "exec": ["exec"],
    "env": ["env"],
    "console": ["console", "--print"],
    "classic": [],
}
STATES = ("configure", "new", "expired", "expired-mfa-session", "login")


def caller_argv(mode: str, profile_args: list[str]) -> list[str]:
    argv = [TOOL, *MODES[mode], *profile_args]
    return [*argv, "--", "true"] if mode == "exec" else argv


def login_profile(home, local_aws) -> list[str]:
    """An `aws login` session as the source, its access token expired, and a profile on it."""
    home.credentials.unlink()
    home.config.write_text(
        f"[profile dev-login]\nlogin_session = {home.identity.arn}\nregion = us-east-1\n\n"
        f"[profile tf]\nsession_role_arn = {ROLE}\nsession_source_profile = dev-login\n"
    )
    local_aws.write_login_cache(home.identity, home.root, home.identity.arn, expired=True)
    return ["-p", "tf"]


def prepare(state: str, mode: str, home, local_aws, counter: Path) -> list[str]:
    """The profile in `state`; the profile arguments its callers give."""
    new = ["-p", "tf", "--role", ROLE, "--mfa-process", home.mfa_process(counter)]
    if state == "configure":
        result = home.run("configure", *new)
        assert result.returncode == 0, result.stderr
        return ["-p", "tf"]
    if state == "new":
        return new
    if state == "login":
        return login_profile(home, local_aws)
    mfa_session = ["--mfa-session"] if state == "expired-mfa-session" else []
    first = home.run(*caller_argv(mode, new + mfa_session)[1:])
    assert first.returncode == 0, first.stderr
    expire_sessions(home)
    # The role and the device are remembered now: the profile is known.
    return ["-p", "tf", "--mfa-process", home.mfa_process(counter), *mfa_session]


EXPECTED = {
    # One code; discovery (device, role by name) once; one session.
    "configure": {"codes": 1, "ListMFADevices": 1, "GetRole": 1, "GetSessionToken": 0, "AssumeRole": 1},
    "new": {"codes": 1, "ListMFADevices": 1, "GetRole": 1, "GetSessionToken": 0, "AssumeRole": 1},
    # Discovery was remembered by the first run: nothing but the session.
    "expired": {"codes": 1, "ListMFADevices": 0, "GetRole": 0, "GetSessionToken": 0, "AssumeRole": 1},
    "expired-mfa-session": {"codes": 1, "ListMFADevices": 0, "GetRole": 0, "GetSessionToken": 1, "AssumeRole": 1},
    # The browser sign-in had the MFA: no code, one refresh of the expired login token.
    "login": {"codes": 0, "ListMFADevices": 0, "GetRole": 1, "GetSessionToken": 0, "AssumeRole": 1},
}


# configure sets up credential_process: the classic flow's first run is -p NEW --role R.
CASES = [(mode, state) for mode in MODES for state in STATES if (mode, state) != ("classic", "configure")]


@pytest.mark.parametrize(("mode", "state"), CASES, ids=[f"{m}-{s}" for m, s in CASES])
def test_parallel_callers_of_one_profile_share_one_code_and_one_session(home, local_aws, tmp_path, mode, state):
    counter = tmp_path / "codes"
    profile_args = prepare(state, mode, home, local_aws, counter)
    asked_before = home.codes_asked(counter)
    local_aws.reset_requests()
    callers = 4
    timeouts = local_aws.hold_timeouts
    hold_until_in_line(local_aws, home, callers)
    try:
        results = run_parallel(caller_argv(mode, profile_args), home.env, callers)
    finally:
        local_aws.release_holds()
    found = counts(local_aws, home, counter)
    found["codes"] -= asked_before
    expected = dict(EXPECTED[state], refused=0, CreateOAuth2Token=int(state == "login"))
    assert found == expected, str(found)
    assert all(code == 0 for _, _, code in results), [err for _, err, _ in results]
    assert local_aws.hold_timeouts == timeouts, "every caller was in line behind the first run"
    if mode == "credential-process":
        assert len({json.loads(out)["AccessKeyId"] for out, _, _ in results}) == 1, "one session for all"


def test_16_aws_cli_callers_right_after_configure_cost_one_code(home, local_aws, tmp_path):
    """The README's promise from the very first run: `configure` (nothing discovered yet), then
    16 AWS CLI processes at once, each running credential_process."""
    counter = tmp_path / "codes"
    configured = home.run("configure", "-p", "app", "--role", ROLE, "--mfa-process", home.mfa_process(counter))
    assert configured.returncode == 0, configured.stderr
    local_aws.reset_requests()
    hold_until_in_line(local_aws, home, 16)  # 16 AWS CLIs: some may reach the lock after the hold
    try:
        results = run_parallel([AWS_CLI, "sts", "get-caller-identity", "--profile", "app"], home.env, 16, timeout=240)
    finally:
        local_aws.release_holds()
    found = counts(local_aws, home, counter)
    assert found == {"codes": 1, "ListMFADevices": 1, "GetRole": 1, "GetSessionToken": 0, "AssumeRole": 1,
                     "CreateOAuth2Token": 0, "refused": 0}, str(found)  # fmt: skip
    assert all(code == 0 for _, _, code in results), [err for _, err, _ in results]
    arns = {json.loads(out)["Arn"] for out, _, _ in results}
    assert arns == {f"arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE}/{home.identity.user_name}"}
    # Each of the 16 signed its GetCallerIdentity with the one session.
    keys = {r["key"] for r in local_aws.requests() if r["action"] == "GetCallerIdentity"}
    assert len(keys) == 1


def test_two_mfa_session_profiles_share_one_code_and_assume_each_role_once(home, local_aws, tmp_path):
    """A backend role and a provider role on one MFA session, right after configure, 8 callers
    mixed: one code and one GetSessionToken for the user, one AssumeRole per profile."""
    counter = tmp_path / "codes"
    for profile, role in (("backend", ROLE), ("provider", "LongRole")):
        configured = home.run(
            "configure", "-p", profile, "--role", role, "--mfa-session", "--mfa-process", home.mfa_process(counter)
        )
        assert configured.returncode == 0, configured.stderr
    local_aws.reset_requests()
    timeouts = local_aws.hold_timeouts
    hold_until_in_line(local_aws, home, 8)
    argv = [[TOOL, "credential-process", "-p", profile] for profile in ("backend", "provider")]
    try:
        procs = [
            subprocess.Popen(argv[n % 2], env=home.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
            for n in range(8)
        ]  # fmt: skip
        results = [p.communicate(timeout=120) + (p.returncode,) for p in procs]
    finally:
        local_aws.release_holds()
    found = counts(local_aws, home, counter)
    expected = {"codes": 1, "ListMFADevices": 2, "GetRole": 2, "GetSessionToken": 1, "AssumeRole": 2,
                "CreateOAuth2Token": 0, "refused": 0}  # fmt: skip
    assert found == expected, str(found)
    assert all(code == 0 for _, _, code in results), [err for _, err, _ in results]
    assert local_aws.hold_timeouts == timeouts, "all 8 were in line behind the first run"
    sessions = {n % 2: json.loads(out)["AccessKeyId"] for n, (out, _, _) in enumerate(results)}
    assert len(sessions) == 2 and len({json.loads(out)["AccessKeyId"] for out, _, _ in results}) == 2


@pytest.mark.parametrize("mode", ["credential-process", "classic"])
def test_parallel_forced_refreshes_make_one_new_session(home, local_aws, tmp_path, mode):
    """--force replaces the session there was when the run started: callers that waited behind
    the one that replaced it take the new one instead of replacing it again."""
    counter = tmp_path / "codes"
    args = ["-p", "tf", "--role", ROLE, "--mfa-process", home.mfa_process(counter)]
    first = home.run(*caller_argv(mode, args)[1:])
    assert first.returncode == 0, first.stderr
    old = session_key(home, mode)
    local_aws.reset_requests()
    timeouts = local_aws.hold_timeouts
    hold_until_in_line(local_aws, home, 4)
    try:
        results = run_parallel(caller_argv(mode, [*args, "--force"]), home.env, 4)
    finally:
        local_aws.release_holds()
    assert (home.codes_asked(counter), local_aws.actions().count("AssumeRole")) == (2, 1)
    assert all(code == 0 for _, _, code in results), [err for _, err, _ in results]
    assert local_aws.hold_timeouts == timeouts
    assert session_key(home, mode) != old
    if mode == "classic":
        assert sum("was just refreshed by another run" in out for out, _, _ in results) == 3


def session_key(home, mode: str) -> str:
    if mode == "classic":
        return re.search(r"(?m)^aws_access_key_id = (ASIA\w+)$", home.credentials.read_text()).group(1)
    return json.loads((home.cache / "tf.json").read_text())["AccessKeyId"]
