"""Hostile: the OS keyring locks while `exec` runs (the screen locked, the session timed out)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import TOOL
from test_hostile_state import lock_keyring

from local_aws import ACCOUNT, LocalAws

LIFETIME = 4  # seconds a role session really lasts
MFA_LIFETIME = 40  # and an MFA session
MARGIN = 1
MIN_LEFT = 28  # what exec asks of the MFA session at its start: less is left of it after 12 s
ROLE = f"arn:aws:iam::{ACCOUNT}:role/TerraformRole"
LOOP_CLIENT = str(Path(__file__).parent / "loop_client.py")


@pytest.fixture(scope="module")
def local_aws():
    """This module's local AWS: role sessions end after LIFETIME s and MFA sessions after
    MFA_LIFETIME s, so that exec refreshes the role within a test, and the MFA session gets shorter
    than exec's --min-left while it still signs those refreshes."""
    aws = LocalAws(session_lifetime=LIFETIME, mfa_session_lifetime=MFA_LIFETIME).start()
    yield aws
    aws.stop()


@pytest.mark.parametrize("serial", ["configured", "discovered"])
def test_a_keyring_locked_while_exec_runs_does_not_stop_its_refreshes_with_an_mfa_session(
    home, secret_service, local_aws, serial
):
    """The refreshes mid-run need only the cached MFA session: the keyring (locked with the screen)
    is not read, not even to renew the MFA session early because less than --min-left is left of it
    (--min-left is what the run asks at its start), nor to discover again the MFA device that the
    first refresh found."""
    env = {**home.env, **secret_service}
    assert home.run("keys", "import", env=env).returncode == 0
    counter = home.root / "codes"
    home.config.write_text(
        f"[profile m]\nsession_role_arn = {ROLE}\nmfa_session = true\n"
        + (f"mfa_serial = {home.identity.serial}\n" if serial == "configured" else "")
        + f"session_refresh_margin = {MARGIN}\nmfa_process = {home.mfa_process(counter)}\nregion = us-east-1\n"
    )
    run_for = 5 * LIFETIME  # ends about 20 s into the MFA session: 8 s past MIN_LEFT, 20 s before its end
    exec_run = subprocess.Popen(
        [TOOL, "exec", "-p", "m", "--min-left", f"{MIN_LEFT}s", "--", sys.executable, LOOP_CLIENT, str(run_for)],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        first = exec_run.stdout.readline()
        assert first.startswith("ok "), first + exec_run.stderr.read()
        lock_keyring(secret_service)  # the first session is served; the keyring locks mid-run
        local_aws.reset_requests()
        started = time.monotonic()
        out, err = exec_run.communicate(timeout=run_for + 60)
        elapsed = time.monotonic() - started
    finally:
        exec_run.kill()
    lines = [first.strip(), *out.splitlines()]
    assert exec_run.returncode == 0, (lines, err[-2000:])
    assert all(line.startswith("ok ") for line in lines), lines
    actions = local_aws.actions()
    assert actions.count("AssumeRole") >= int(elapsed // LIFETIME), (actions, elapsed)
    assert "GetSessionToken" not in actions and home.codes_asked(counter) == 1, actions
