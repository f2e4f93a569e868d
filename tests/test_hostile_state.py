"""Round two of hostile state: expiries that are not times, numbers that are not finite, keys where the
tool's sections were, other tools' files in the cache directory, keyrings that are no keyring."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import TOOL, assert_one_line_failure, read_until, sts_as

from terraform_session_token import inifile


def cached_profile(home):
    result = home.run("env", "-p", "p", "--role", "TerraformRole", "--code", home.code())
    assert result.returncode == 0, result.stderr
    return home.cache / "p.json"


@pytest.mark.parametrize("expiry", [float("nan"), "", None, "not a date", "9999-12-31T23:59:59-01:00", 12])
def test_an_unreadable_expiry_in_the_cache_is_an_expired_session(home, local_aws, expiry):
    cache = cached_profile(home)
    data = json.loads(cache.read_text())
    data["Expiration"] = expiry
    cache.write_text(json.dumps(data))
    status = home.run("status")
    assert status.returncode == 0, status.stderr
    local_aws.reset_requests()
    result = home.run("credential-process", "-p", "p", "--code", home.code())
    assert result.returncode == 0, result.stderr
    assert "AssumeRole" in local_aws.actions(), "refreshed, as for an expired session"


def test_an_absurd_expiry_in_the_credentials_file_is_an_expired_session(home):
    assert home.run("--role", "TerraformRole", "--code", home.code()).returncode == 0
    text = home.credentials.read_text()
    line = next(x for x in text.splitlines() if x.startswith("expiration"))
    home.credentials.write_text(text.replace(line, "expiration = 9999-12-31T23:59:59-01:00"))
    assert home.run("status").returncode == 0
    doctor = home.run("doctor", "--offline")
    assert "unexpected" not in doctor.stderr
    assert home.run("--code", home.code()).returncode == 0


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_non_finite_timeouts_are_refused(home, value):
    result = home.run("credential-process", "-p", "p", "--role", "TerraformRole", "--timeout", value)
    assert_one_line_failure(result, 2, "--timeout")


def test_long_term_keys_put_into_a_managed_section_are_never_overwritten_or_cleared(home, identity):
    assert home.run("--role", "TerraformRole", "--code", home.code()).returncode == 0
    # `aws configure --profile terraform_session` puts long-term keys there; the marker stays.
    text = home.credentials.read_text()
    values = inifile.parse(text)["terraform_session"]
    text = text.replace(values["aws_access_key_id"], identity.access_key_id)
    text = text.replace(values["aws_secret_access_key"], identity.secret_access_key)
    text = text.replace(f"aws_session_token = {values['aws_session_token']}\n", "")
    home.credentials.write_text(text)
    refresh = home.run("--force", "--code", home.code())
    assert_one_line_failure(refresh, 4, "holds long-term keys")
    cleared = home.run("clear", "--all")
    assert cleared.returncode == 0 and "holds long-term keys now" in cleared.stdout
    assert home.credentials.read_text() == text


def test_other_tools_json_in_the_cache_directory_is_neither_listed_nor_deleted(home):
    cached_profile(home)
    foreign = home.cache / "0123abcd.json"
    foreign.write_text(json.dumps({"Credentials": {"AccessKeyId": "ASIAX"}, "AssumedRoleUser": {}}))
    foreign.chmod(0o600)
    (home.cache / "0123abcd.lock").write_text("")
    status = home.run("status", "--json")
    assert [row["profile"] for row in json.loads(status.stdout)] == ["p"]
    assert home.run("clear", "--all").returncode == 0
    assert foreign.exists() and (home.cache / "0123abcd.lock").exists()
    assert not (home.cache / "p.json").exists()


def test_reserved_names_are_refused(home):
    assert_one_line_failure(home.run("env", "-p", "mfa-session--x", "--role", "R"), 2, "reserved")
    assert_one_line_failure(home.run("keys", "import", "--source-profile", "__profiles__"), 2, "own keyring item")


def keyring_env(home, secret_service):
    return {**home.env, **secret_service}


def test_keys_import_never_overwrites_a_different_key_in_the_keyring(home, secret_service, local_aws):
    env = keyring_env(home, secret_service)
    assert home.run("keys", "import", env=env).returncode == 0
    backup = local_aws.new_identity()  # a restored backup brings another key back into the file
    home.credentials.write_text(
        f"[default]\naws_access_key_id = {backup.access_key_id}\naws_secret_access_key = {backup.secret_access_key}\n"
    )
    result = home.run("keys", "import", env=env)
    assert_one_line_failure(
        result, 2, "already holds the key", backup.access_key_id[-4:], home.identity.access_key_id[-4:]
    )
    assert backup.secret_access_key not in result.stderr
    code = (
        "import keyring, json; "
        "print(json.loads(keyring.get_password('terraform-session-token', 'default'))['AccessKeyId'])"
    )
    held = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, **secret_service}, capture_output=True, text=True
    )
    assert held.stdout.strip() == home.identity.access_key_id


def test_keys_in_the_config_file_are_seen_and_imported(home, secret_service):
    creds = inifile.parse(home.credentials.read_text())["default"]
    home.credentials.write_text("")
    home.config.write_text(
        "[default]\nregion = us-east-1\n"
        f"aws_access_key_id = {creds['aws_access_key_id']}\naws_secret_access_key = {creds['aws_secret_access_key']}\n"
    )
    doctor = home.run("doctor", "--offline")
    assert f"plaintext in {home.config}" in doctor.stdout
    keys = json.loads(home.run("status", "--json", "--keys").stdout)["long_term_keys"]
    assert keys == [{"profile": "default", "keys": f"plaintext in {home.config}"}]
    env = keyring_env(home, secret_service)
    imported = home.run("keys", "import", env=env)
    assert imported.returncode == 0, imported.stderr
    assert creds["aws_secret_access_key"] not in home.config.read_text()
    result = home.run("env", "-p", "x", "--role", "TerraformRole", "--code", home.code(), env=env)
    assert result.returncode == 0, result.stderr


def test_a_plaintext_file_keyring_is_not_taken_for_the_os_keyring(home):
    env = {k: v for k, v in home.env.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    before = home.credentials.read_bytes()
    result = subprocess.run([TOOL, "keys", "import"], env=env, capture_output=True, text=True)
    assert_one_line_failure(result, 10, "keeps secrets in a file", "PYTHON_KEYRING_BACKEND")
    assert home.credentials.read_bytes() == before
    assert not list(home.root.rglob("keyring_pass.cfg"))


def test_a_locked_keyring_is_said_to_be_locked(home, secret_service):
    env = keyring_env(home, secret_service)
    assert home.run("keys", "import", env=env).returncode == 0
    lock_keyring(secret_service)
    result = home.run("env", "-p", "x", "--role", "TerraformRole", "--code", home.code(), env=env)
    assert_one_line_failure(result, 10, "locked", "unlock")
    assert "run a Secret Service" not in result.stderr


def lock_keyring(secret_service):
    lock = (
        "import secretstorage; c = secretstorage.dbus_init(); "
        "[col.lock() for col in secretstorage.get_all_collections(c)]"
    )
    subprocess.run([sys.executable, "-c", lock], env={**os.environ, **secret_service}, check=True)


def test_a_locked_keyring_does_not_stop_refreshes_while_the_mfa_session_lasts(home, secret_service, local_aws):
    env = keyring_env(home, secret_service)
    assert home.run("keys", "import", env=env).returncode == 0
    counter = home.root / "codes"
    home.config.write_text(
        f"[profile m]\nsession_role_arn = arn:aws:iam::123456789012:role/TerraformRole\n"
        f"mfa_serial = {home.identity.serial}\nmfa_session = true\nmfa_process = {home.mfa_process(counter)}\n"
    )
    assert home.run("credential-process", "-p", "m", env=env).returncode == 0
    lock_keyring(secret_service)  # locked mid-apply: the screen locked, the session timed out
    local_aws.reset_requests()
    result = home.run("credential-process", "-p", "m", "--force", env=env)
    assert result.returncode == 0, result.stderr
    assert local_aws.actions() == ["AssumeRole"] and home.codes_asked(counter) == 1


OTHER = "arn:aws:iam::210987654321:role/TerraformRole"


def caller_account(local_aws, document: dict) -> str:
    return sts_as(local_aws.endpoint, document).get_caller_identity()["Account"]


@pytest.mark.parametrize("with_serial", [True, False], ids=["serial-known", "serial-discovered"])
def test_a_session_of_another_account_never_serves_a_profile_whose_role_is_a_name(home, local_aws, with_serial):
    counter = home.root / "codes"
    serial = ["--serial", home.identity.serial] if with_serial else []
    # mfa_session: one code for the whole test (a user's third code in a row may expire in flight).
    mfa = ["--mfa-process", home.mfa_process(counter), "--mfa-session"]
    assert home.run("configure", "-p", "daily", "--role", "TerraformRole", *serial, *mfa).returncode == 0
    one_off = home.run("exec", "-p", "daily", "--role", OTHER, "--", "true")
    assert one_off.returncode == 0, one_off.stderr
    result = home.run("credential-process", "-p", "daily")
    assert result.returncode == 0, result.stderr
    assert caller_account(local_aws, json.loads(result.stdout)) == "123456789012"
    # The same through a session the classic flow wrote for that profile.
    classic = home.run("-p", "daily", "--role", OTHER, "--force")
    assert classic.returncode == 0, classic.stderr
    again = home.run("credential-process", "-p", "daily")
    assert caller_account(local_aws, json.loads(again.stdout)) == "123456789012"


def test_same_named_profiles_of_other_files_never_share_a_session(home, local_aws, tmp_path):
    counter = home.root / "codes"
    mfa = home.mfa_process(counter)
    for name, role in (("a", "arn:aws:iam::123456789012:role/TerraformRole"), ("b", OTHER)):
        (tmp_path / f"config-{name}").write_text(
            f"[profile x]\nsession_role_arn = {role}\nmfa_serial = {home.identity.serial}\nmfa_process = {mfa}\n"
        )
    accounts = []
    for name in ("a", "b", "a"):
        result = home.run("credential-process", "-p", "x", env={"AWS_CONFIG_FILE": str(tmp_path / f"config-{name}")})
        assert result.returncode == 0, result.stderr
        accounts.append(caller_account(local_aws, json.loads(result.stdout)))
    assert accounts == ["123456789012", "210987654321", "123456789012"]
    assert home.codes_asked(counter) == 2, "the third call is the first file's cached session"


def test_clear_gives_back_a_session_section_the_user_had(home):
    mine = "# my settings for terraform\n[terraform_session]\nregion = eu-west-1\noutput = json\n"
    original = home.credentials.read_text() + mine
    home.credentials.write_text(original)
    assert home.run("--role", "TerraformRole", "--code", home.code()).returncode == 0
    assert "aws_session_token" in home.credentials.read_text()
    cleared = home.run("clear", "-p", "terraform_session")
    assert cleared.returncode == 0 and "the rest of it is yours" in cleared.stdout
    assert home.credentials.read_text() == original


def test_clear_keeps_what_the_user_added_to_a_section_the_tool_made(home):
    assert home.run("--role", "TerraformRole", "--code", home.code()).returncode == 0
    text = home.credentials.read_text()
    home.credentials.write_text(text + "output = json\n# my note\n")
    assert home.run("clear", "--all").returncode == 0
    left = inifile.parse(home.credentials.read_text())["terraform_session"]
    assert left == {"output": "json"} and "# my note" in home.credentials.read_text()


def test_configure_remove_puts_back_a_region_configure_replaced(home):
    original = "[profile prod]\nregion = eu-west-1\noutput = json\n"
    home.config.write_text(original)
    assert home.run("configure", "-p", "prod", "--role", "TerraformRole", "--region", "us-west-2").returncode == 0
    assert inifile.parse(home.config.read_text())["profile prod"]["region"] == "us-west-2"
    assert home.run("clear", "-p", "prod").returncode == 0
    assert inifile.parse(home.config.read_text())["profile prod"]["region"] == "us-west-2", "clear keeps it"
    assert home.run("configure", "--remove", "-p", "prod").returncode == 0
    assert home.config.read_text() == original


def test_no_core_dump_can_carry_the_long_term_keys(home):
    # A role by name: the tool looks it up (its keys are loaded) before it asks for the code.
    proc = subprocess.Popen(
        [TOOL, "-p", "x", "--role", "TerraformRole", "--serial", home.identity.serial],
        env=home.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        seen = read_until(proc.stdout.fileno(), b"Code:").decode()
        assert "Code:" in seen, f"the prompt never came: {seen!r}"
        with open(f"/proc/{proc.pid}/limits") as f:
            core = next(line for line in f if line.startswith("Max core file size"))
        assert core.split()[4:6] == ["0", "0"], core
    finally:
        proc.communicate(home.code() + "\n", timeout=60)
    assert proc.returncode == 0
