"""status, clear, policy, doctor, completion, and which paths import botocore."""

from __future__ import annotations

import json
import subprocess
import sys

import hcl2
import pytest
from botocore.exceptions import ClientError
from conftest import TOOL

from local_aws import ACCOUNT
from terraform_session_token import inifile


def imports_botocore(home, *args) -> bool:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", TOOL, *args], capture_output=True, text=True, env=home.env
    )
    assert result.returncode == 0, result.stderr
    return "botocore" in result.stderr


@pytest.mark.parametrize(
    "args", [["--help"], ["status"], ["status", "--json"], ["policy"], ["policy", "--format", "hcl"]]
)
def test_paths_without_aws_calls_do_not_import_botocore(home, args):
    assert not imports_botocore(home, *args)


def test_a_refresh_does_import_botocore(home):
    """The check above can fail: the refresh path is seen importing it."""
    assert imports_botocore(home, "--role", "TerraformRole", "--code", home.code())


def test_status_lists_managed_profiles_and_caches(home):
    assert home.run("--role", "TerraformRole", "--code", home.code()).returncode == 0
    assert home.run("env", "-p", "cached", "--role", "TerraformRole", "--code", home.code()).returncode == 0
    rows = json.loads(home.run("status", "--json").stdout)
    assert [(r["profile"], r["where"]) for r in rows] == [
        ("terraform_session", "credentials file"),
        ("cached", "cache"),
    ]
    assert all(r["identity"].endswith("/TerraformRole/" + home.identity.user_name) for r in rows)
    assert all(3000 < r["seconds_left"] <= 3600 and not r["expired"] for r in rows)
    table = home.run("status").stdout
    assert "terraform_session" in table and "min left" in table
    assert "default" not in table, "the user's own profiles are not listed"


def test_status_marks_expired_sessions(home):
    assert home.run("--role", "TerraformRole", "--code", home.code()).returncode == 0
    text = home.credentials.read_text()
    values = inifile.parse(text)["terraform_session"]
    home.credentials.write_text(text.replace(values["expiration"], "2020-01-01T00:00:00Z"))
    rows = json.loads(home.run("status", "--json").stdout)
    assert rows[0]["expired"] is True
    assert "expired" in home.run("status").stdout


def test_clear_removes_only_what_the_tool_wrote(home):
    original = home.credentials.read_text()
    home.credentials.write_text(original + "\n[theirs]\naws_access_key_id = X\naws_session_token = Y\n")
    with_theirs = home.credentials.read_text()
    assert home.run("--role", "TerraformRole", "--code", home.code()).returncode == 0
    refused = home.run("clear", "-p", "theirs")
    assert refused.returncode == 4 and "not written by terraform-session-token" in refused.stderr
    result = home.run("clear", "-p", "terraform_session")
    assert result.returncode == 0, result.stderr
    assert home.credentials.read_text() == with_theirs


def test_clear_all(home):
    before_tool = home.credentials.read_text()
    assert home.run("--role", "TerraformRole", "--code", home.code()).returncode == 0
    assert home.run("env", "-p", "cached", "--role", "TerraformRole", "--code", home.code()).returncode == 0
    assert home.run("clear", "--all").returncode == 0
    assert home.credentials.read_text() == before_tool
    assert not list(home.cache.glob("*.json"))
    assert json.loads(home.run("status", "--json").stdout) == []


def test_policy_json_is_valid_and_the_trust_policy_is_enforced(home, local_aws):
    out = home.run("policy", "--account", ACCOUNT, "--role", "PolicyRole", "--max-mfa-age", "3600")
    decoder, text, documents = json.JSONDecoder(), out.stdout.strip(), {}
    # Two documents, each as IAM takes it; their titles went to stderr.
    documents["GroupPolicy"], end = decoder.raw_decode(text)
    documents["TrustPolicy"], _ = decoder.raw_decode(text[end:].lstrip())
    assert "# the users' group policy" in out.stderr and "#" not in out.stdout
    group = documents["GroupPolicy"]["Statement"]
    assert {a for s in group for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])} == {
        "iam:ListMFADevices",
        "iam:GetRole",
        "sts:AssumeRole",
    }
    assert "NumericLessThan" in json.dumps(documents["TrustPolicy"])
    trust = json.loads(home.run("policy", "--account", ACCOUNT, "--document", "trust").stdout)
    assert trust["Statement"][0]["Condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    arn = local_aws.create_role("PolicyRole", policy=json.dumps(documents["TrustPolicy"]))
    sts = home.sts_client()
    with pytest.raises(ClientError):
        sts.assume_role(RoleArn=arn, RoleSessionName="no-mfa")
    sts.assume_role(RoleArn=arn, RoleSessionName="mfa", SerialNumber=home.identity.serial, TokenCode=home.code())


def test_policy_sid_is_alphanumeric_and_a_missing_account_is_said(home):
    out = home.run("policy", "--role", "terraform-admin", "--document", "group")
    sids = [statement["Sid"] for statement in json.loads(out.stdout)["Statement"]]
    assert all(sid.isalnum() for sid in sids) and "AllowGetAndAssumeterraformadmin" in sids
    assert "no --account" in out.stderr and "placeholder" in out.stderr


def test_policy_document_selects_the_hcl_part_too(home):
    trust = hcl2.loads(home.run("policy", "--format", "hcl", "--account", ACCOUNT, "--document", "trust").stdout)
    group = hcl2.loads(home.run("policy", "--format", "hcl", "--account", ACCOUNT, "--document", "group").stdout)
    assert {next(iter(r)).strip('"') for r in trust["resource"]} == {"aws_iam_role"}
    assert {next(iter(r)).strip('"') for r in group["resource"]} == {
        "aws_iam_policy",
        "aws_iam_group",
        "aws_iam_group_policy_attachment",
    }


def test_policy_hcl_parses_and_uses_current_syntax(home):
    text = home.run("policy", "--format", "hcl", "--account", ACCOUNT, "--max-mfa-age", "900").stdout
    parsed = hcl2.loads(text)
    assert "${aws_iam_role" not in text and '"${' not in text.replace("$${", "")
    resources = {next(iter(r)).strip('"') for r in parsed["resource"]}
    assert resources == {"aws_iam_role", "aws_iam_policy", "aws_iam_group", "aws_iam_group_policy_attachment"}
    assert "terraformrole_trust" in json.dumps(parsed["data"])
    assert "aws:MultiFactorAuthAge" in text and "aws:MultiFactorAuthPresent" in text


def test_policy_refuses_a_bad_account(home):
    result = home.run("policy", "--account", "12")
    assert result.returncode == 2 and "12-digit" in result.stderr


def test_doctor_finds_shadowing_permissions_expiry_and_role_problems(home):
    home.credentials.chmod(0o644)
    env = {"AWS_ACCESS_KEY_ID": "AKIASHADOW", "AWS_PROFILE": "other"}
    result = home.run("doctor", "--role", "NoMfaRole", "-d", "7200", env=env)
    out = result.stdout
    assert result.returncode == 1
    assert "AWS_ACCESS_KEY_ID set" in out and "unset AWS_ACCESS_KEY_ID" in out
    assert "AWS_PROFILE=other" in out
    assert "readable by others" in out and "chmod 600" in out
    assert "no session in [terraform_session]" in out
    assert "does not require MFA" in out
    assert "duration 7200 s is above the role's maximum of 3600 s" in out
    assert "clock within" in out
    assert home.identity.secret_access_key not in out + result.stderr


def test_doctor_all_good(home):
    assert home.run("--role", "TerraformRole", "--code", home.code()).returncode == 0
    result = home.run("doctor", "--role", "TerraformRole")
    assert result.returncode == 0, result.stdout
    assert "FAIL" not in result.stdout and "requires MFA" in result.stdout


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion(home, shell):
    result = home.run("completion", shell)
    assert result.returncode == 0, result.stderr
    for word in ("credential-process", "--profile", "--mfa-process", "status", "doctor"):
        assert word in result.stdout
    if shell == "bash":
        check = subprocess.run(["bash", "-n"], input=result.stdout, text=True, capture_output=True)
        assert check.returncode == 0, check.stderr


def test_doctor_says_a_missing_source_first_once_with_a_fix_that_works(home):
    home.credentials.write_text(home.credentials.read_text().replace("[default]", "[work]"))
    for argv in (["--offline"], []):
        out = home.run("doctor", *argv).stdout
        first, fix = out.splitlines()[:2]
        assert first.startswith("FAIL  source profile [default] not found"), out
        assert fix == "      fix: terraform-session-token --source-profile work", out
        assert out.count("source profile [default]") == 1, "said once, not doubled by the AWS check"
    out = home.run("doctor", "--offline", env={"AWS_PROFILE": "work"}).stdout
    assert "AWS_PROFILE=work does not choose the source" in out.splitlines()[0]
    # The fix it gives works, and from then on the source is known.
    works = home.run("--source-profile", "work", "--role", "TerraformRole", "--code", home.code())
    assert works.returncode == 0, works.stderr
    assert "FAIL  source profile" not in home.run("doctor", "--offline").stdout


def test_doctor_names_configure_for_a_configured_profile_without_source(home):
    home.credentials.write_text(home.credentials.read_text().replace("[default]", "[work]"))
    assert home.run("configure", "-p", "prod", "--role", "TerraformRole").returncode == 0
    fix = home.run("doctor", "--offline", "-p", "prod").stdout.splitlines()[1]
    assert fix == "      fix: terraform-session-token configure -p prod --source-profile work"
