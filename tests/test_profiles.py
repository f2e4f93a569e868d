"""Profiles the AWS way: config-driven refresh, request counts, sessions kinds, env settings."""

from __future__ import annotations

import json

import boto3
import pytest
from conftest import go_identity

from local_aws import ACCOUNT, OTHER_ACCOUNT
from terraform_session_token import inifile

ROLE = f"arn:aws:iam::{ACCOUNT}:role/TerraformRole"


def configure(home, profile="terraform_session", **keys):
    section = "default" if profile == "default" else f"profile {profile}"
    text = home.config.read_text() if home.config.exists() else ""
    home.config.write_text(inifile.set_section(text, section, keys))


def written(home, profile="terraform_session"):
    return inifile.parse(home.credentials.read_text())[profile]


def identity_of(home, profile="terraform_session"):
    session = boto3.Session(
        aws_access_key_id=written(home, profile)["aws_access_key_id"],
        aws_secret_access_key=written(home, profile)["aws_secret_access_key"],
        aws_session_token=written(home, profile)["aws_session_token"],
        region_name="us-east-1",
    )
    return session.client("sts", endpoint_url=home.endpoint).get_caller_identity()["Arn"]


def test_configured_profile_refreshes_with_exactly_one_request(home, local_aws):
    configure(home, session_role_arn=ROLE, mfa_serial=home.identity.serial)
    local_aws.reset_requests()
    result = home.run("--code", home.code())
    assert result.returncode == 0, result.stderr
    assert local_aws.actions() == ["AssumeRole"]
    # The session name comes from the MFA serial's user name, with no extra call.
    assert identity_of(home).endswith(f"assumed-role/TerraformRole/{home.identity.user_name}")


def test_first_run_discovers_with_at_most_three_requests_and_remembers(home, local_aws):
    local_aws.reset_requests()
    result = home.run("--role", "TerraformRole", "--code", home.code())
    assert result.returncode == 0, result.stderr
    assert local_aws.actions() == ["ListMFADevices", "GetRole", "AssumeRole"]
    remembered = inifile.parse(home.config.read_text())["profile terraform_session"]
    assert remembered == {
        "session_role_arn": ROLE,
        "mfa_serial": home.identity.serial,
        "session_source_profile": "default",
    }
    local_aws.reset_requests()
    result = home.run("--force", "--code", home.code())
    assert result.returncode == 0, result.stderr
    assert local_aws.actions() == ["AssumeRole"]


def test_unexpired_profile_makes_no_request_and_asks_nothing(home, local_aws):
    assert home.run("--role", "TerraformRole", "--code", home.code()).returncode == 0
    before = home.credentials.read_bytes()
    local_aws.reset_requests()
    result = home.run()  # no code, stdin closed: it must not need one
    assert result.returncode == 0, result.stderr
    assert "still valid" not in result.stderr
    assert "nothing to do" in result.stdout and "Code:" not in result.stdout
    assert local_aws.actions() == []
    assert home.credentials.read_bytes() == before


def test_refresh_margin_makes_an_almost_expired_session_refresh(home, local_aws):
    assert home.run("--role", "TerraformRole", "-d", "900", "--code", home.code()).returncode == 0
    local_aws.reset_requests()
    result = home.run("--margin", "1000", "--code", home.code())
    assert result.returncode == 0, result.stderr
    assert local_aws.actions() == ["AssumeRole"]


def test_role_session_name_from_config(home):
    configure(home, session_role_arn=ROLE, mfa_serial=home.identity.serial, role_session_name="ci-bot")
    assert home.run("--code", home.code()).returncode == 0
    assert identity_of(home).endswith("/TerraformRole/ci-bot")


def test_cross_account_role_arn(home):
    result = home.run("--role", f"arn:aws:iam::{OTHER_ACCOUNT}:role/TerraformRole", "--code", home.code())
    assert result.returncode == 0, result.stderr
    assert identity_of(home) == f"arn:aws:sts::{OTHER_ACCOUNT}:assumed-role/TerraformRole/{home.identity.user_name}"


def test_role_with_a_path_is_resolved_by_name(home):
    result = home.run("--role", "DeployRole", "--code", home.code())
    assert result.returncode == 0, result.stderr
    assert inifile.parse(home.config.read_text())["profile terraform_session"]["session_role_arn"] == (
        f"arn:aws:iam::{ACCOUNT}:role/deploy/DeployRole"
    )


@pytest.mark.parametrize("partition", ["aws-us-gov", "aws-cn"])
def test_other_partitions_are_accepted(home, partition):
    """The ARN reaches AWS as given (the local AWS has only the aws partition, so it refuses)."""
    result = home.run("--role", f"arn:{partition}:iam::{ACCOUNT}:role/TerraformRole", "--code", home.code())
    assert "is not an IAM role ARN" not in result.stderr
    assert "not allowed to assume" in result.stderr


def test_mfa_session_two_roles_one_code(home, local_aws):
    configure(home, "first", session_role_arn=ROLE, mfa_serial=home.identity.serial, mfa_session="true")
    configure(
        home,
        "second",
        session_role_arn=f"arn:aws:iam::{OTHER_ACCOUNT}:role/TerraformRole",
        mfa_serial=home.identity.serial,
        mfa_session="true",
    )
    local_aws.reset_requests()
    first = home.run("-p", "first", "--code", home.code())
    assert first.returncode == 0, first.stderr
    second = home.run("-p", "second")  # no code given, no terminal: the MFA session must suffice
    assert second.returncode == 0, second.stderr
    assert local_aws.actions() == ["GetSessionToken", "AssumeRole", "AssumeRole"]
    name = home.identity.user_name
    assert identity_of(home, "first") == f"arn:aws:sts::{ACCOUNT}:assumed-role/TerraformRole/{name}"
    assert identity_of(home, "second") == f"arn:aws:sts::{OTHER_ACCOUNT}:assumed-role/TerraformRole/{name}"
    cached = [p.name for p in home.cache.iterdir()]
    assert any(n.startswith("mfa-session--default--") for n in cached)
    assert all((home.cache / n).stat().st_mode & 0o077 == 0 for n in cached)


def test_mfa_session_refuses_durations_over_the_chaining_cap_before_any_call(home, local_aws):
    configure(home, session_role_arn=f"arn:aws:iam::{ACCOUNT}:role/LongRole", mfa_serial=home.identity.serial)
    local_aws.reset_requests()
    result = home.run("--mfa-session", "-d", "7200", "--code", home.code())
    assert result.returncode == 2
    assert "1 hour" in result.stderr
    assert local_aws.actions() == []
    # Without the MFA session, the same duration is allowed by LongRole.
    assert home.run("-d", "7200", "--code", home.code()).returncode == 0


def test_get_session_token_mode(home, local_aws):
    local_aws.reset_requests()
    result = home.run("-p", "user_session", "--no-role", "--code", home.code())
    assert result.returncode == 0, result.stderr
    assert local_aws.actions() == ["ListMFADevices", "GetSessionToken"]
    assert identity_of(home, "user_session") == home.identity.arn
    assert "as " + home.identity.arn in result.stdout


@pytest.mark.parametrize("duration", ["899", "129601"])
def test_get_session_token_duration_bounds(home, local_aws, duration):
    local_aws.reset_requests()
    result = home.run("--no-role", "-d", duration, "--code", home.code())
    assert result.returncode == 2 and "between 900 and 129600" in result.stderr
    assert local_aws.actions() == []


@pytest.mark.parametrize("duration", ["899", "43201"])
def test_role_duration_bounds_checked_before_any_call(home, local_aws, duration):
    local_aws.reset_requests()
    result = home.run("--role", "TerraformRole", "-d", duration, "--code", home.code())
    assert result.returncode == 2 and "between 900 and 43200" in result.stderr
    assert local_aws.actions() == []


def test_endpoint_url_sts_alone(home, local_aws):
    """With only the STS endpoint set, a configured profile (no IAM call needed) still works."""
    configure(home, session_role_arn=ROLE, mfa_serial=home.identity.serial)
    env = {"AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_STS": home.endpoint}
    result = home.run("--code", home.code(), env=env)
    assert result.returncode == 0, result.stderr


def test_endpoint_url_from_config(home):
    configure(home, session_role_arn=ROLE, mfa_serial=home.identity.serial, endpoint_url=home.endpoint)
    result = home.run("--code", home.code(), env={"AWS_ENDPOINT_URL": ""})
    assert result.returncode == 0, result.stderr


def test_shared_credentials_and_config_file_variables(home, tmp_path):
    creds, conf = tmp_path / "elsewhere" / "creds", tmp_path / "elsewhere" / "conf"
    creds.parent.mkdir()
    creds.write_text(home.credentials.read_text())
    conf.write_text(f"[profile terraform_session]\nsession_role_arn = {ROLE}\nmfa_serial = {home.identity.serial}\n")
    home.credentials.unlink()
    env = {"AWS_SHARED_CREDENTIALS_FILE": str(creds), "AWS_CONFIG_FILE": str(conf)}
    result = home.run("--code", home.code(), env=env)
    assert result.returncode == 0, result.stderr
    assert "[terraform_session]" in creds.read_text()
    assert not home.credentials.exists()


def test_region_precedence_flag_env_config(home, local_aws):
    configure(home, session_role_arn=ROLE, region="eu-central-1")
    assert home.run("--code", home.code()).returncode == 0
    assert written(home)["region"] == "eu-central-1"
    assert home.run("--force", "--code", home.code(), env={"AWS_REGION": "ap-south-1"}).returncode == 0
    assert written(home)["region"] == "ap-south-1"
    home.switch_identity(local_aws.new_identity())
    result = home.run("--force", "--region", "sa-east-1", "--code", home.code(), env={"AWS_REGION": "ap-south-1"})
    assert result.returncode == 0, result.stderr
    assert written(home)["region"] == "sa-east-1"


def test_source_region_used_when_profile_has_none(home):
    home.credentials.write_text(home.credentials.read_text().replace("region = us-east-1", "region = eu-north-1"))
    assert home.run("--role", "TerraformRole", "--code", home.code(), env={"AWS_DEFAULT_REGION": ""}).returncode == 0
    assert written(home)["region"] == "eu-north-1"


def test_flags_beat_config(home):
    configure(home, session_role_arn=f"arn:aws:iam::{ACCOUNT}:role/NoSuchRole", mfa_serial=home.identity.serial)
    result = home.run("--role", ROLE, "--code", home.code())
    assert result.returncode == 0, result.stderr


def test_ca_bundle_env_and_flag_and_no_verify(home, tls_aws, local_aws):
    configure(home, session_role_arn=ROLE)
    env = {"AWS_ENDPOINT_URL": tls_aws.endpoint}
    refused = home.run("--code", "123456", env=env)  # TLS fails before any code is looked at
    assert refused.returncode == 8 and "--ca-bundle" in refused.stderr
    by_env = home.run("--code", home.code(), env={**env, "AWS_CA_BUNDLE": tls_aws.ca_bundle})
    assert by_env.returncode == 0, by_env.stderr
    by_flag = home.run("--force", "--ca-bundle", tls_aws.ca_bundle, "--code", home.code(), env=env)
    assert by_flag.returncode == 0, by_flag.stderr
    home.switch_identity(local_aws.new_identity())
    insecure = home.run("--force", "-v", "--code", home.code(), env=env)
    assert insecure.returncode == 0 and "warning: TLS verification is disabled" in insecure.stderr


def test_aws_style_profile_is_refused_in_file_mode(home):
    configure(home, role_arn=ROLE, source_profile="default", mfa_serial=home.identity.serial)
    before = home.credentials.read_bytes()
    result = home.run("--code", home.code())
    assert result.returncode == 3
    assert "AWS tools would assume that role themselves" in result.stderr
    assert home.credentials.read_bytes() == before


def test_written_profile_region_and_keys_work_for_go_sdk_with_config_present(home, go_reader):
    """The remembered keys in [profile terraform_session] must not divert AWS readers."""
    assert home.run("--role", "TerraformRole", "--code", home.code()).returncode == 0
    expected = f"arn:aws:sts::{ACCOUNT}:assumed-role/TerraformRole/{home.identity.user_name}"
    go = go_identity(go_reader, home, "terraform_session")
    assert go.returncode == 0, go.stderr
    assert go.stdout.strip() == expected
    cli = home.aws_cli("sts", "get-caller-identity", "--profile", "terraform_session")
    assert json.loads(cli.stdout)["Arn"] == expected


def test_external_id_and_session_name_flags(home, local_aws):
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    "Action": "sts:AssumeRole",
                    "Condition": {
                        "Bool": {"aws:MultiFactorAuthPresent": "true"},
                        "StringEquals": {"sts:ExternalId": "tenant-42"},
                    },
                }
            ],
        }
    )
    name = f"ExternalRole{home.identity.user_name}"
    local_aws.create_role(name, policy=policy)
    without = home.run("--role", name, "--code", home.code())
    assert without.returncode == 7 and "not allowed to assume" in without.stderr
    result = home.run(
        "--role", name, "--external-id", "tenant-42", "--session-name", "deploy@ci", "--code", home.code()
    )
    assert result.returncode == 0, result.stderr
    assert identity_of(home).endswith(f"assumed-role/{name}/deploy@ci")


def test_several_devices_are_offered_at_a_terminal(local_aws, home):
    import os
    import pty
    import select

    from conftest import TOOL

    two = local_aws.new_identity(devices=2)
    home.credentials.write_text(
        f"[default]\naws_access_key_id = {two.access_key_id}\naws_secret_access_key = {two.secret_access_key}\n"
    )
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(TOOL, [TOOL, "--role", "TerraformRole"], home.env)
    seen = b""

    def until(marker):
        nonlocal seen
        while marker not in seen:
            assert select.select([fd], [], [], 30)[0], seen
            seen += os.read(fd, 1024)

    until(b"MFA device [1-2]: ")
    assert two.serials[0].encode() in seen and two.serials[1].encode() in seen
    os.write(fd, b"2\n")
    until(b"Code: ")
    os.write(fd, two.fresh_code(two.serials[1]).encode() + b"\n")
    until(b"Valid until")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, seen
    assert inifile.parse(home.config.read_text())["profile terraform_session"]["mfa_serial"] == two.serials[1]


def test_a_profile_with_a_device_and_no_role_stays_a_user_session(home, local_aws):
    assert home.run("-p", "me", "--no-role", "--code", home.code()).returncode == 0
    assert inifile.parse(home.config.read_text())["profile me"]["mfa_serial"] == home.identity.serial
    local_aws.reset_requests()
    result = home.run("-p", "me", "--force", "--code", home.code())
    assert result.returncode == 0, result.stderr
    assert local_aws.actions() == ["GetSessionToken"]
    assert identity_of(home, "me") == home.identity.arn


def test_env_keys_as_source_when_there_is_no_default_profile(home):
    keys = inifile.parse(home.credentials.read_text())["default"]
    home.credentials.unlink()
    env = {
        "AWS_ACCESS_KEY_ID": keys["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": keys["aws_secret_access_key"],
        "AWS_PROFILE": "missing",
    }
    result = home.run("--role", "TerraformRole", "--code", home.code(), env=env)
    assert result.returncode == 0, result.stderr
    assert identity_of(home).endswith("/TerraformRole/" + home.identity.user_name)
    assert oct(home.credentials.stat().st_mode & 0o777) == "0o600"


def test_asking_for_another_role_refreshes_a_valid_session(home, local_aws):
    assert home.run("--role", "TerraformRole", "--code", home.code()).returncode == 0
    local_aws.reset_requests()
    assert home.run("--role", "TerraformRole").returncode == 0  # same role: nothing to do
    assert local_aws.actions() == []
    result = home.run("--role", "NoMfaRole", "--code", home.code())
    assert result.returncode == 0, result.stderr
    assert "AssumeRole" in local_aws.actions()
    assert "/NoMfaRole/" in identity_of(home)
