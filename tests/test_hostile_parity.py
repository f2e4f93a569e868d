"""Hostile: the files mean to the tool what they mean to botocore and the AWS CLI."""

from __future__ import annotations

from conftest import assert_one_line_failure

from local_aws import ACCOUNT
from terraform_session_token import inifile

ROLE = f"arn:aws:iam::{ACCOUNT}:role/TerraformRole"


def test_a_quoted_profile_section_is_that_profile(home, local_aws):
    home.config.write_text(f'[profile "qp"]\nsession_role_arn = {ROLE}\nregion = eu-west-1\n')
    result = home.run("-p", "qp", "--code", home.code())
    assert result.returncode == 0, result.stderr
    assert "Role[" not in result.stdout, 'the role came from [profile "qp"]'
    config = home.config.read_text()
    assert config.count("qp") == 1, "discoveries remembered in the same section, not a second one"
    assert inifile.parse(config)['profile "qp"']["mfa_serial"] == home.identity.serial
    assert inifile.parse(home.credentials.read_text())["qp"]["region"] == "eu-west-1"


def test_variables_in_the_file_path_are_expanded_as_the_cli_does(home, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    where = tmp_path / "elsewhere" / "creds"
    where.write_bytes(home.credentials.read_bytes())
    env = {"AWS_SHARED_CREDENTIALS_FILE": "$SOMEWHERE/creds", "SOMEWHERE": str(tmp_path / "elsewhere")}
    result = home.run("--role", "TerraformRole", "--code", home.code(), env=env)
    assert result.returncode == 0, result.stderr
    assert "terraform_session" in inifile.parse(where.read_text())
    cli = home.aws_cli("sts", "get-caller-identity", "--profile", "terraform_session", env=env)
    assert cli.returncode == 0 and "assumed-role/TerraformRole" in cli.stdout


def test_a_role_in_the_credentials_file_section_counts_like_one_in_the_config(home, local_aws):
    home.credentials.write_text(
        home.credentials.read_text() + f"\n[terraform_session]\nrole_arn = {ROLE}\nsource_profile = default\n"
    )
    before = home.credentials.read_bytes()
    local_aws.reset_requests()
    result = home.run("--code", home.code())
    assert_one_line_failure(result, 3, "has role_arn and source_profile")
    assert home.credentials.read_bytes() == before and local_aws.actions() == []


def test_the_users_own_region_in_the_session_profile_is_kept(home):
    home.credentials.write_text(home.credentials.read_text() + "\n[terraform_session]\nregion = ap-southeast-2\n")
    result = home.run("--role", "TerraformRole", "--code", home.code(), "--overwrite-keys")
    assert result.returncode == 0, result.stderr
    assert inifile.parse(home.credentials.read_text())["terraform_session"]["region"] == "ap-southeast-2"
    result = home.run("--force", "--code", home.code())
    assert inifile.parse(home.credentials.read_text())["terraform_session"]["region"] == "ap-southeast-2"


def test_configure_refuses_a_config_botocore_cannot_parse(home):
    home.config.write_text("[profile ok]\nregion = us-east-1\nno equals sign here\n")
    before = home.config.read_bytes()
    result = home.run("configure", "-p", "tf", "--role", "TerraformRole")
    assert_one_line_failure(result, 3, "can't parse")
    assert home.config.read_bytes() == before
