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
        assert offered.returncode == 2 and "can't store" in offered.stderr, "named after the command too"
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


def test_clear_signs_out_and_keeps_what_configure_was_told(home, local_aws, tmp_path):
    original = b"# mine\n[profile prod]\nregion=eu-west-1\noutput = json\n"
    home.config.write_bytes(original)
    counter = tmp_path / "codes"
    configured = home.run("configure", "-p", "prod", "--role", "TerraformRole", "--mfa-session",
                          "--mfa-process", home.mfa_process(counter), "--region", "us-east-1")  # fmt: skip
    assert configured.returncode == 0, configured.stderr
    assert home.aws_cli("sts", "get-caller-identity", "--profile", "prod").returncode == 0
    after_configure = inifile.parse(home.config.read_text())["profile prod"]
    assert after_configure["session_role_arn"] == ROLE, "remembered by the first run"
    cleared = home.run("clear", "-p", "prod")
    assert cleared.returncode == 0, cleared.stderr
    assert "Removed the cached session of [prod]" in cleared.stdout
    assert "Removed the MFA session of source [default]" in cleared.stdout
    assert "Removed what runs remembered in [profile prod]" in cleared.stdout
    assert "session_role_arn" in cleared.stdout and "mfa_serial" in cleared.stdout
    kept = next(line for line in cleared.stdout.splitlines() if line.startswith("Kept what configure was told"))
    assert "credential_process" in kept and "configure --remove -p prod" in kept
    assert list(home.cache.glob("*.json")) == []
    section = inifile.parse(home.config.read_text())["profile prod"]
    assert section["credential_process"].endswith("credential-process -p prod")
    assert section["session_role_name"] == "TerraformRole" and "session_role_arn" not in section
    # Signed out, not broken: the next call gets a new session (a new code, here from mfa_process).
    assert home.aws_cli("sts", "get-caller-identity", "--profile", "prod").returncode == 0
    assert home.codes_asked(counter) == 2
    assert home.run("clear", "-p", "prod").returncode == 0
    again = home.run("clear", "-p", "prod")
    assert again.returncode == 0 and "Nothing to clear for [prod]" in again.stdout
    removed = home.run("configure", "--remove", "-p", "prod")
    assert removed.returncode == 0, removed.stderr
    assert "Took back what configure wrote into [profile prod]" in removed.stdout
    assert home.config.read_bytes() == original, "region=eu-west-1 back as it was written"
    assert "Nothing to remove" in home.run("configure", "--remove", "-p", "prod").stdout


def test_configure_remove_first_then_clear_gives_back_the_original_bytes(home):
    original = b"[default]\r\nregion = us-east-1\r\n"
    home.config.write_bytes(original)
    assert home.run("configure", "-p", "prod", "--role", "TerraformRole").returncode == 0
    assert home.run("credential-process", "-p", "prod", "--code", home.code()).returncode == 0
    removed = home.run("configure", "--remove", "-p", "prod")
    assert removed.returncode == 0, removed.stderr
    assert "what runs remembered" in removed.stdout and "clear -p prod" in removed.stdout
    assert home.run("clear", "-p", "prod").returncode == 0
    assert home.config.read_bytes() == original
    refused = home.run("configure", "--remove", "-p", "prod", "--region", "eu-west-1")
    assert refused.returncode == 2 and "configure --remove takes only -p" in refused.stderr


def test_files_of_2_0_0_keep_configure_apart_from_what_runs_remembered(home):
    process = f"{TOOL} credential-process -p old"
    home.config.write_text(
        "[profile old]\n# terraform-session-token wrote: credential_process session_role_arn region\n"
        f"credential_process = {process}\nsession_role_arn = TerraformRole\nregion = us-east-1\n\n"
        "[profile classic]\n# terraform-session-token wrote: mfa_serial session_role_arn\n"
        f"mfa_serial = {home.identity.serial}\nsession_role_arn = {ROLE}\n"
    )
    assert home.run("clear", "--all").returncode == 0
    parsed = inifile.parse(home.config.read_text())
    assert "profile classic" not in parsed, "what a run remembered goes"
    assert parsed["profile old"]["credential_process"] == process, "what configure wrote stays"
    # A run on the old profile resolves the name it was given and remembers the ARN apart.
    assert home.run("credential-process", "-p", "old", "--code", home.code()).returncode == 0
    assert inifile.parse(home.config.read_text())["profile old"]["session_role_arn"] == ROLE
    assert home.run("clear", "-p", "old").returncode == 0
    assert inifile.parse(home.config.read_text())["profile old"]["session_role_arn"] == "TerraformRole"
    assert home.run("configure", "--remove", "-p", "old").returncode == 0
    assert home.config.read_text() == ""


def test_a_classic_refresh_of_a_configured_profile_refreshes_its_cache_not_the_file(home, local_aws):
    assert home.run("configure", "-p", "prod", "--role", "TerraformRole").returncode == 0
    credentials = home.credentials.read_bytes()
    result = home.run("-p", "prod", "--code", home.code())
    assert result.returncode == 0, result.stderr
    assert "Refreshed the cached session of [prod]" in result.stdout
    assert home.credentials.read_bytes() == credentials, "nothing written over credential_process"
    cached = json.loads((home.cache / "prod.json").read_text())
    local_aws.reset_requests()
    served = home.run("credential-process", "-p", "prod")
    assert served.returncode == 0 and json.loads(served.stdout)["AccessKeyId"] == cached["AccessKeyId"]
    assert local_aws.actions() == [], "the session the classic command refreshed, from the cache"
    again = home.run("-p", "prod", "--min-left", "10m")
    assert again.returncode == 0 and "nothing to do" in again.stdout


def test_a_session_an_earlier_version_wrote_over_credential_process_is_taken_back(home):
    assert home.run("-p", "prod", "--role", "TerraformRole", "--code", home.code()).returncode == 0
    written = inifile.parse(home.credentials.read_text())["prod"]["aws_access_key_id"]
    assert home.run("configure", "-p", "prod", "--role", "TerraformRole").returncode == 0
    doctor = home.run("doctor", "--offline", "-p", "prod")
    assert "AWS tools use the keys first" in doctor.stdout and "clear -p prod" in doctor.stdout
    result = home.run("-p", "prod")
    assert result.returncode == 0, result.stderr
    assert "Took back the session an earlier run wrote into [prod]" in result.stdout
    assert "[prod]" not in home.credentials.read_text()
    assert json.loads((home.cache / "prod.json").read_text())["AccessKeyId"] == written, "moved, not lost"


def test_a_classic_refresh_never_shadows_another_programs_credential_process(home):
    home.config.write_text("[profile sso]\ncredential_process = other-tool get --profile sso\n")
    before = home.credentials.read_bytes()
    result = home.run("-p", "sso", "--role", "TerraformRole", "--code", "123456")
    assert result.returncode == 3 and "would shadow it" in result.stderr
    assert home.credentials.read_bytes() == before


def test_a_role_name_given_to_configure_is_kept_apart_from_its_arn(home):
    assert home.run("configure", "-p", "n", "--role", "TerraformRole").returncode == 0
    section = inifile.parse(home.config.read_text())["profile n"]
    assert section["session_role_name"] == "TerraformRole" and "session_role_arn" not in section
    assert home.run("credential-process", "-p", "n", "--code", home.code()).returncode == 0
    assert inifile.parse(home.config.read_text())["profile n"]["session_role_arn"] == ROLE
    # The name edited by hand: it wins over the ARN remembered for the old name.
    home.config.write_text(home.config.read_text().replace("session_role_name = TerraformRole",
                                                           "session_role_name = LongRole"))  # fmt: skip
    result = home.run("credential-process", "-p", "n", "--force", "--code", home.code())
    assert result.returncode == 0, result.stderr
    assert "/LongRole/" in json.loads((home.cache / "n.json").read_text())["Arn"]
    assert inifile.parse(home.config.read_text())["profile n"]["session_role_arn"] == OTHER, "the stale ARN replaced"
    assert home.run("configure", "-p", "n", "--role", OTHER).returncode == 0
    section = inifile.parse(home.config.read_text())["profile n"]
    assert section["session_role_arn"] == OTHER and "session_role_name" not in section
