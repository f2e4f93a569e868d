"""Real Terraform (1.0.3 on aws-sdk-go v1, and a current one on aws-sdk-go-v2) using the session:
`init` + `apply` on the S3 backend (encrypted, locked) and a terraform_remote_state, in each mode."""

from __future__ import annotations

import subprocess

import pytest
from conftest import TOOL

from local_aws import terraform

ROLE = "TerraformRole"


def run_terraform(argv, cwd, env):
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def session_key_of(home, profile):
    """The access key id of the profile's session, wherever the mode keeps it."""
    from terraform_session_token import inifile

    if home.credentials.exists():
        values = inifile.parse(home.credentials.read_text()).get(profile)
        if values and values.get("aws_session_token"):
            return values["aws_access_key_id"]
    import json

    return json.loads((home.cache / f"{profile}.json").read_text())["AccessKeyId"]


@pytest.mark.parametrize("version", terraform.VERSIONS)
@pytest.mark.parametrize("mode", ["classic", "credential_process", "exec"])
def test_init_apply_and_remote_state_use_only_the_session(home, local_aws, tmp_path, version, mode):
    counter = tmp_path / "codes"
    mfa = home.mfa_process(counter)
    serial = ("--serial", home.identity.serial)
    profile = {"classic": "terraform_session", "credential_process": "tf", "exec": None}[mode]
    stack = terraform.prepare(
        local_aws, tmp_path / "stack", version, profile, state_key=f"{mode}-{version}/terraform.tfstate"
    )
    env = terraform.environment(home.env, tmp_path)
    local_aws.reset_requests()

    prefix = terraform.command(version)
    if mode == "classic":
        result = home.run("--role", ROLE, *serial, "--mfa-process", mfa)
        assert result.returncode == 0, result.stderr
    elif mode == "credential_process":
        result = home.run("configure", "-p", "tf", "--role", ROLE, *serial, "--mfa-process", mfa)
        assert result.returncode == 0, result.stderr
    else:
        prefix = [TOOL, "exec", "-p", "tfexec", "--role", ROLE, *serial, "--mfa-process", mfa, "--", *prefix]

    init = run_terraform([*prefix, "init", "-no-color"], stack, env)
    assert init.returncode == 0, init.stdout + init.stderr
    apply = run_terraform([*prefix, "apply", "-auto-approve", "-no-color"], stack, env)
    assert apply.returncode == 0, apply.stdout + apply.stderr
    assert 'vpc_id = "vpc-0123456789abcdef0"' in apply.stdout, "the remote state was read"

    session_key = session_key_of(home, profile or "tfexec")
    assert session_key.startswith("ASIA")
    records = local_aws.requests()
    data = [r for r in records if r["service"] in ("s3", "dynamodb")]
    state_writes = [r for r in data if r["action"] == f"PUT /{terraform.BUCKET}/{mode}-{version}/terraform.tfstate"]
    assert state_writes, "the state was written to S3"
    if version == "1.0.3":
        assert any(r["action"].endswith("PutItem") for r in data), "the DynamoDB lock was taken"
    assert {r["key"] for r in data} == {session_key}, "every S3 and DynamoDB request signed with the session"
    long_term = {r["action"] for r in records if r["key"] == home.identity.access_key_id}
    assert long_term <= {"GetRole", "AssumeRole"}, "the long-term key signs only the tool's own calls"
    assert [r["action"] for r in records].count("AssumeRole") == 1
    assert home.codes_asked(counter) == 1
    assert not [r for r in records if r["error"]], [r for r in records if r["error"]]
