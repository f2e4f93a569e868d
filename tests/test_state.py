"""What the tool remembers: one model (credentials file, config file, cache), every write named,
and clear --all restoring both files byte for byte."""

from __future__ import annotations

import json

from conftest import TOOL

from local_aws import ACCOUNT
from terraform_session_token import inifile

ROLE = f"arn:aws:iam::{ACCOUNT}:role/TerraformRole"
OTHER = f"arn:aws:iam::{ACCOUNT}:role/LongRole"


def test_a_one_off_role_is_not_served_to_the_profiles_configured_role(home, local_aws):
    assert home.run("configure", "-p", "daily", "--role", ROLE, "--serial", home.identity.serial).returncode == 0
    one_off = home.run("exec", "-p", "daily", "--role", OTHER, "--force", "--code", home.code(), "--", "true")
    assert one_off.returncode == 0, one_off.stderr
    assert "LongRole" in json.loads((home.cache / "daily.json").read_text())["Arn"]
    local_aws.reset_requests()
    # What `aws --profile daily` runs: the configured role, so the one-off session is not used.
    result = home.run("credential-process", "-p", "daily", "--code", home.code())
    assert result.returncode == 0, result.stderr
    assert local_aws.actions() == ["AssumeRole"]
    cached = json.loads((home.cache / "daily.json").read_text())
    assert "/TerraformRole/" in cached["Arn"]


def test_a_user_session_is_not_served_to_a_role_profile(home, local_aws):
    assert (
        home.run("env", "-p", "k", "--no-role", "--serial", home.identity.serial, "--code", home.code()).returncode == 0
    )
    local_aws.reset_requests()
    result = home.run("env", "-p", "k", "--role", ROLE, "--serial", home.identity.serial, "--code", home.code())
    assert result.returncode == 0 and local_aws.actions() == ["AssumeRole"]


def test_source_profile_given_once_is_remembered(home):
    text = home.credentials.read_text().replace("[default]", "[work]")
    home.credentials.write_text(text)
    first = home.run("--source-profile", "work", "--role", "TerraformRole", "--code", home.code())
    assert first.returncode == 0, first.stderr
    assert inifile.parse(home.config.read_text())["profile terraform_session"]["session_source_profile"] == "work"
    again = home.run("--force", "--code", home.code())
    assert again.returncode == 0, again.stderr


def test_every_config_write_is_named_in_the_output(home):
    result = home.run("--role", "TerraformRole", "--code", home.code())
    assert result.returncode == 0
    line = next(line for line in result.stdout.splitlines() if line.startswith("Remembered in"))
    assert "[profile terraform_session]" in line and str(home.config) in line
    for key in ("mfa_serial", "session_role_arn", "session_source_profile"):
        assert key in line
    env = home.run("env", "-p", "e", "--role", "TerraformRole", "--code", home.code())
    assert "Remembered in [profile e]" in env.stderr and "Remembered" not in env.stdout


def test_clear_all_restores_both_files_byte_for_byte(home, local_aws):
    home.config.write_text("# my config\r\n[profile mine]\r\nregion = eu-west-1\r\n")
    # A second source user for the third code: a user's previous-step code may expire in flight.
    other = local_aws.new_identity()
    with home.credentials.open("a") as f:
        f.write(
            f"[other]\naws_access_key_id = {other.access_key_id}\naws_secret_access_key = {other.secret_access_key}\n"
        )
    credentials, config = home.credentials.read_bytes(), home.config.read_bytes()
    for profile in ("one", "two"):
        assert home.run("-p", profile, "--role", "TerraformRole", "--code", home.code()).returncode == 0
    cp = ("credential-process", "-p", "cp", "--source-profile", "other", "--role", "TerraformRole")
    assert home.run(*cp, "--code", other.fresh_code()).returncode == 0
    assert home.run("configure", "-p", "mine", "--role", "TerraformRole", "--mfa-session").returncode == 0
    assert home.credentials.read_bytes() != credentials and home.config.read_bytes() != config
    result = home.run("clear", "--all")
    assert result.returncode == 0, result.stderr
    assert home.credentials.read_bytes() == credentials
    assert "Kept what configure was told in [profile mine]" in result.stdout
    assert list(home.cache.iterdir()) == [], "no session, lock or temporary file left"
    removed = home.run("configure", "--remove", "-p", "mine")
    assert removed.returncode == 0, removed.stderr
    assert home.config.read_bytes() == config, "keys added to the user's own [profile mine] taken back too"


def test_clear_one_profile_takes_back_its_config_and_cache(home):
    before = home.credentials.read_bytes()
    assert home.run("-p", "solo", "--role", "TerraformRole", "--code", home.code()).returncode == 0
    assert home.run("credential-process", "-p", "solo", "--code", home.code(), "--force").returncode == 0
    result = home.run("clear", "-p", "solo")
    assert result.returncode == 0, result.stderr
    assert "[profile solo]" in result.stdout
    assert home.credentials.read_bytes() == before
    assert home.config.read_text() == ""
    assert not (home.cache / "solo.json").exists() and not (home.cache / "solo.lock").exists()


def test_configure_round_trip_stores_every_option_it_is_given(home, local_aws):
    args = [
        "configure", "-p", "rt", "--role", ROLE, "--serial", home.identity.serial, "-d", "1800",
        "--margin", "120", "--mfa-session", "--mfa-session-duration", "7200", "--session-name", "ci-bot",
        "--external-id", "ext-1", "--region", "eu-west-1", "--endpoint-url", local_aws.endpoint,
        "--mfa-process", "echo 000000", "--source-profile", "default",
    ]  # fmt: skip
    result = home.run(*args)
    assert result.returncode == 0, result.stderr
    section = inifile.parse(home.config.read_text())["profile rt"]
    assert section == {
        "credential_process": f"{TOOL} credential-process -p rt",
        "session_role_arn": ROLE,
        "session_source_profile": "default",
        "mfa_serial": home.identity.serial,
        "duration_seconds": "1800",
        "region": "eu-west-1",
        "mfa_process": "echo 000000",
        "mfa_session": "true",
        "mfa_session_duration": "7200",
        "session_refresh_margin": "120",
        "role_session_name": "ci-bot",
        "endpoint_url": local_aws.endpoint,
        "external_id": "ext-1",
    }
    assert "Wrote into [profile rt]" in result.stdout and "external_id" in result.stdout
    for refused in (["--code", "123456"], ["-v"], ["--force"]):
        offered = home.run("configure", "-p", "rt2", *refused)  # not among configure's options
        assert offered.returncode == 2 and "unrecognized arguments" in offered.stderr
        before = home.run(*refused, "configure", "-p", "rt2")  # given before the command name
        assert before.returncode == 2 and "can't store" in before.stderr


def test_configure_no_role_makes_a_user_session_profile(home, local_aws):
    result = home.run("configure", "-p", "user", "--no-role", "--serial", home.identity.serial)
    assert result.returncode == 0, result.stderr
    local_aws.reset_requests()
    result = home.run("credential-process", "-p", "user", "--code", home.code())
    assert result.returncode == 0, result.stderr
    assert local_aws.actions() == ["GetSessionToken"]


def test_nothing_to_do_says_which_role_the_session_is(home):
    assert home.run("--role", "TerraformRole", "--code", home.code()).returncode == 0
    result = home.run()
    assert "nothing to do" in result.stdout
    assert f"as arn:aws:sts::{ACCOUNT}:assumed-role/TerraformRole/{home.identity.user_name}" in result.stdout
