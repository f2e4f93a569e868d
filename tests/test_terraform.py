"""Real Terraform (1.0.3 on aws-sdk-go v1, and a current one on aws-sdk-go-v2) using the session:
`init` + `apply` on the S3 backend (encrypted, locked) and a terraform_remote_state, in each mode."""

from __future__ import annotations

import json
import subprocess

import pytest
from conftest import TOOL

from local_aws import OTHER_ACCOUNT, terraform

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


@pytest.mark.parametrize("version", terraform.VERSIONS)
def test_four_remote_states_right_after_configure_cost_one_code(home, local_aws, tmp_path, version):
    """Two profiles right after `configure` (a role by name, no device yet): `terraform init` uses
    the backend's; `apply` then reads four remote states through the other one at once, four
    credential_process calls on its first run. One code, one discovery, one AssumeRole each."""
    counters = {profile: tmp_path / f"codes-{profile}" for profile in ("state", "tf")}
    for profile, counter in counters.items():
        result = home.run("configure", "-p", profile, "--role", ROLE, "--mfa-process", home.mfa_process(counter))
        assert result.returncode == 0, result.stderr
    stack = terraform.prepare(
        local_aws, tmp_path / "stack", version, "state", f"four-{version}/terraform.tfstate", 4, remote_profile="tf"
    )
    env = terraform.environment(home.env, tmp_path)
    local_aws.reset_requests()
    prefix = terraform.command(version)
    init = run_terraform([*prefix, "init", "-no-color"], stack, env)
    assert init.returncode == 0, init.stdout + init.stderr
    apply = run_terraform([*prefix, "apply", "-auto-approve", "-no-color"], stack, env)
    actions = local_aws.actions()
    found = {a: actions.count(a) for a in ("ListMFADevices", "GetRole", "AssumeRole")}
    found.update({f"codes {profile}": home.codes_asked(counter) for profile, counter in counters.items()})
    expected = {"ListMFADevices": 2, "GetRole": 2, "AssumeRole": 2, "codes state": 1, "codes tf": 1}
    assert found == expected, str(found)
    assert apply.returncode == 0, apply.stdout + apply.stderr
    for name in ("vpc_id", "vpc_id_network_2", "vpc_id_network_3", "vpc_id_network_4"):
        assert f'{name} = "vpc-0123456789abcdef0"' in apply.stdout
    records = local_aws.requests()
    state, tf = session_key_of(home, "state"), session_key_of(home, "tf")
    assert {r["key"] for r in records if r["service"] in ("s3", "dynamodb")} == {state, tf}
    remote = [r for r in records if r["action"] == f"GET /{terraform.BUCKET}/{terraform.NETWORK_KEY}"]
    assert len(remote) >= 4 and {r["key"] for r in remote} == {tf}, "the remote states: one session for all four"
    backend = [r for r in records if r["service"] == "dynamodb" or f"four-{version}/" in r["action"]]
    assert backend and {r["key"] for r in backend} == {state}
    assert not [r for r in records if r["error"]], [r for r in records if r["error"]]


@pytest.mark.parametrize("version", terraform.VERSIONS)
def test_backend_in_one_account_and_remote_state_in_another_cost_one_code(home, local_aws, tmp_path, version):
    """The multi-account recipe of docs/terraform.md: the backend's profile assumes a role in the
    state account, the remote state's profile a role in the app account, both chained from one
    MFA session. First run after configure: one code and one GetSessionToken for both; one
    AssumeRole per profile; each account's requests signed by its own profile's session."""
    counter = tmp_path / "codes"
    code = ("--mfa-session", "--mfa-process", home.mfa_process(counter))
    app_role = f"arn:aws:iam::{OTHER_ACCOUNT}:role/{ROLE}"
    for profile, role in (("state", ROLE), ("app", app_role)):
        result = home.run("configure", "-p", profile, "--role", role, *code)
        assert result.returncode == 0, result.stderr
    stack = terraform.prepare_two_accounts(
        local_aws, tmp_path / "stack", version, "state", "app", f"accounts-{version}/terraform.tfstate"
    )
    env = terraform.environment(home.env, tmp_path)
    local_aws.reset_requests()
    prefix = terraform.command(version)
    init = run_terraform([*prefix, "init", "-no-color"], stack, env)
    assert init.returncode == 0, init.stdout + init.stderr
    apply = run_terraform([*prefix, "apply", "-auto-approve", "-no-color"], stack, env)
    records = local_aws.requests()
    actions = [r["action"] for r in records]
    found = {a: actions.count(a) for a in ("GetSessionToken", "AssumeRole")}
    found["codes"] = home.codes_asked(counter)
    assert found == {"GetSessionToken": 1, "AssumeRole": 2, "codes": 1}, str(found)
    assert apply.returncode == 0, apply.stdout + apply.stderr
    assert 'vpc_id_network_4 = "vpc-0123456789abcdef0"' in apply.stdout, "the app account's state was read"
    [mfa_session] = [json.loads(p.read_text())["AccessKeyId"] for p in home.cache.glob("mfa-session--*.json")]
    assert {r["key"] for r in records if r["action"] == "AssumeRole"} == {mfa_session}, "both chained from it"
    state, app = session_key_of(home, "state"), session_key_of(home, "app")
    assert state != app

    def bucket(record) -> str:
        return record["action"].split(" ", 1)[1].lstrip("/").split("/")[0].split("?")[0]

    to_state = [
        r for r in records if r["service"] == "dynamodb" or (r["service"] == "s3" and bucket(r) == terraform.BUCKET)
    ]
    to_app = [r for r in records if r["service"] == "s3" and bucket(r) == terraform.APP_BUCKET]
    assert to_state and {r["key"] for r in to_state} == {state}, "the backend's requests: the state profile's session"
    assert to_app and {r["key"] for r in to_app} == {app}, "the remote states' requests: the app profile's session"
    assert {r["service"] for r in records if r["key"] in (state, app)} <= {"s3", "dynamodb", "sts"}
    assert not [r for r in records if r["error"]], [r for r in records if r["error"]]
