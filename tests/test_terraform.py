"""Real Terraform (1.0.3 on aws-sdk-go v1, and a current one on aws-sdk-go-v2) using the session:
`init` + `apply` on the S3 backend (encrypted, locked) and a terraform_remote_state, in each mode."""

from __future__ import annotations

import json
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


READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def lock_requests(records, version, key):
    """The requests that take and release the state lock (writes), and whether each was allowed."""
    if version == "1.0.3":
        wanted = ("DynamoDB_20120810.PutItem", "DynamoDB_20120810.DeleteItem")
        return [(r["action"].split(".")[1], not r["error"]) for r in records if r["action"] in wanted]
    lockfile = f"/{terraform.BUCKET}/{key}.tflock"
    return [
        (r["action"].split()[0], not r["error"])
        for r in records
        if r["action"].endswith(lockfile) and r["action"].split()[0] in ("PUT", "DELETE")
    ]


@pytest.mark.parametrize("version", terraform.VERSIONS)
def test_a_read_only_plan_profile_and_an_apply_profile_with_one_code(home, local_aws, tmp_path, version):
    """The recipe of docs/terraform.md, on the first run after configure: plan with the plan
    profile takes and releases the lock, apply with it can't write the state, apply with the
    apply profile can; both share one MFA session, so one code in all."""
    counter = tmp_path / "codes"
    mfa = home.mfa_process(counter)
    key = f"plan-apply-{version}/terraform.tfstate"
    stack = terraform.prepare(local_aws, tmp_path / "stack", version, None, state_key=key)
    local_aws.put_object(terraform.BUCKET, key, terraform.STACK_STATE)
    printed = home.run(
        "policy", "--plan-session", "--state-bucket", terraform.BUCKET, "--state-key", key,
        "--lock-table", terraform.TABLE,
    )  # fmt: skip
    assert printed.returncode == 0, printed.stderr
    (tmp_path / "plan-session.json").write_text(printed.stdout)
    common = ("--role", ROLE, "--serial", home.identity.serial, "--mfa-process", mfa, "--mfa-session")
    plan_profile = ("--policy-arn", READ_ONLY, "--policy", f"file://{tmp_path / 'plan-session.json'}")
    for profile, narrowing in (("tf-plan", plan_profile), ("tf-apply", ())):
        result = home.run("configure", "-p", profile, *common, *narrowing)
        assert result.returncode == 0, result.stderr
    env = terraform.environment(home.env, tmp_path)
    as_plan, as_apply = {**env, "AWS_PROFILE": "tf-plan"}, {**env, "AWS_PROFILE": "tf-apply"}
    prefix = terraform.command(version)
    local_aws.reset_requests()

    init = run_terraform([*prefix, "init", "-no-color"], stack, as_plan)
    assert init.returncode == 0, init.stdout + init.stderr
    plan = run_terraform([*prefix, "plan", "-no-color", "-out", "plan.tfplan"], stack, as_plan)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "vpc_id" in plan.stdout, "the plan read both states"
    taken_and_released = (
        [("PutItem", True), ("DeleteItem", True)] if version == "1.0.3" else [("PUT", True), ("DELETE", True)]
    )
    assert lock_requests(local_aws.requests(), version, key) == taken_and_released
    sent = [r["params"] for r in local_aws.requests() if r["action"] == "AssumeRole"]
    assert [p["PolicyArns"] for p in sent] == [[READ_ONLY]] and json.loads(sent[0]["Policy"]) == json.loads(
        printed.stdout
    )
    plan_key = session_key_of(home, "tf-plan")
    assert {r["key"] for r in local_aws.requests() if r["service"] in ("s3", "dynamodb")} == {plan_key}

    local_aws.reset_requests()
    refused = run_terraform([*prefix, "apply", "-auto-approve", "-no-color"], stack, as_plan)
    assert refused.returncode != 0
    assert "AccessDenied" in refused.stdout + refused.stderr
    writes = [r for r in local_aws.requests() if r["action"] == f"PUT /{terraform.BUCKET}/{key}"]
    assert writes and all(r["error"] == "AccessDenied" for r in writes), "the state write was refused by AWS"
    assert local_aws.get_object(terraform.BUCKET, key) == terraform.STACK_STATE, "the state is unchanged"
    assert lock_requests(local_aws.requests(), version, key)[-1][1], "the lock was released"

    local_aws.reset_requests()
    apply = run_terraform([*prefix, "apply", "-no-color", "plan.tfplan"], stack, as_apply)  # the plan made read-only
    assert apply.returncode == 0, apply.stdout + apply.stderr
    assert 'vpc_id = "vpc-0123456789abcdef0"' in apply.stdout
    written = local_aws.get_object(terraform.BUCKET, key)
    assert written != terraform.STACK_STATE and b"vpc-0123456789abcdef0" in written
    apply_key = session_key_of(home, "tf-apply")
    assert apply_key != plan_key
    assert {r["key"] for r in local_aws.requests() if r["service"] in ("s3", "dynamodb")} == {apply_key}
    assert home.codes_asked(counter) == 1, "one MFA session for both profiles"
