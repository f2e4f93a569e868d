"""Long-term keys in the OS keyring: a real Secret Service (gnome-keyring on a private D-Bus)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from conftest import TOOL, assert_one_line_failure, on_terminal, read_until, sts_as
from moto.iam.models import iam_backends

from local_aws import ACCOUNT
from terraform_session_token import inifile
from terraform_session_token.profiles import KEYRING_MARKER

ROLE = f"arn:aws:iam::{ACCOUNT}:role/TerraformRole"


def keyring_env(home, secret_service):
    return {**home.env, **secret_service}


def run(home, secret_service, *args, **kwargs):
    env = {**keyring_env(home, secret_service), **kwargs.pop("env", {})}
    return home.run(*args, env=env, **kwargs)


def stored(secret_service, profile):
    """What the keyring holds for `profile`, read by another client (keyring itself, in a subprocess)."""
    code = f"import keyring, sys; print(keyring.get_password('terraform-session-token', {profile!r}) or '')"
    env = {**os.environ, **secret_service}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out) if out.strip() else None


def iam_keys(identity):
    return [k.access_key_id for k in iam_backends[ACCOUNT]["global"].users[identity.user_name].access_keys]


def test_import_moves_the_keys_and_a_refresh_reads_them_from_the_keyring(home, secret_service, local_aws):
    before = home.credentials.read_text()
    result = run(home, secret_service, "keys", "import")
    assert result.returncode == 0, result.stderr
    after = home.credentials.read_text()
    secret = home.identity.secret_access_key
    assert secret not in after and home.identity.access_key_id not in after
    kept = [line for line in before.splitlines(keepends=True) if not line.startswith("aws_")]
    assert [line for line in after.splitlines(keepends=True) if line.strip() != KEYRING_MARKER] == kept
    assert KEYRING_MARKER in after
    assert stored(secret_service, "default")["SecretAccessKey"] == secret

    local_aws.reset_requests()
    result = run(
        home, secret_service, "--role", "TerraformRole", "--serial", home.identity.serial, "--code", home.code()
    )
    assert result.returncode == 0, result.stderr
    assert [(r["action"], r["key"]) for r in local_aws.requests()] == [
        ("GetRole", home.identity.access_key_id),
        ("AssumeRole", home.identity.access_key_id),
    ]
    assert secret not in home.credentials.read_text()


def test_the_secret_appears_nowhere_after_every_command(home, secret_service, tmp_path):
    assert run(home, secret_service, "keys", "import").returncode == 0
    outputs = [
        run(home, secret_service, "--role", "TerraformRole", "--serial", home.identity.serial, "--code", home.code()),
        run(
            home,
            secret_service,
            "exec",
            "-p",
            "x",
            "--role",
            "TerraformRole",
            "--serial",
            home.identity.serial,
            "--code",
            home.code(),
            "--",
            "env",
        ),  # fmt: skip
        run(home, secret_service, "exec", "-p", "x", "--static-keys", "--", "env"),
        run(home, secret_service, "env", "-p", "x"),
        run(home, secret_service, "credential-process", "-p", "x"),
        run(home, secret_service, "status"),
        run(home, secret_service, "doctor", "--offline"),
        run(home, secret_service, "keys", "list"),
        # a forced error with --debug, after the keys were read from the keyring
        run(
            home,
            secret_service,
            "-p",
            "y",
            "--role",
            "NoSuchRole",
            "--serial",
            home.identity.serial,
            "--code",
            "000000",
            "--debug",
        ),  # fmt: skip
    ]
    assert outputs[-1].returncode != 0 and "Traceback" in outputs[-1].stderr
    secret = home.identity.secret_access_key
    for result in outputs:
        assert secret not in result.stdout and secret not in result.stderr, result.args
    for path in home.root.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_rotate_replaces_the_key_in_iam_and_the_keyring(home, secret_service, local_aws):
    assert run(home, secret_service, "keys", "import").returncode == 0
    old = home.identity.access_key_id
    # A new key takes a moment to work on AWS: the first check is refused, the retry accepted.
    local_aws.inject_fault(403, "InvalidClientTokenId", "The security token is invalid.", "GetCallerIdentity")
    result = run(home, secret_service, "keys", "rotate")
    assert result.returncode == 0, result.stderr
    new = stored(secret_service, "default")
    assert new["AccessKeyId"] != old
    assert iam_keys(home.identity) == [new["AccessKeyId"]], "the old key is deleted in IAM"
    assert sts_as(local_aws.endpoint, new).get_caller_identity()["Arn"].endswith(f":user/{home.identity.user_name}")
    assert new["SecretAccessKey"] not in result.stdout + result.stderr


def test_a_failed_delete_leaves_the_new_key_stored_and_says_so(home, secret_service, local_aws):
    assert run(home, secret_service, "keys", "import").returncode == 0
    old = home.identity.access_key_id
    local_aws.inject_fault(500, "ServiceFailure", "try later", "DeleteAccessKey")
    local_aws.inject_fault(500, "ServiceFailure", "try later", "DeleteAccessKey")
    local_aws.inject_fault(500, "ServiceFailure", "try later", "DeleteAccessKey")
    result = run(home, secret_service, "keys", "rotate")
    assert result.returncode == 9
    assert "is stored and works, but deleting the old key" in result.stderr and result.stderr.count("\n") == 1
    new = stored(secret_service, "default")["AccessKeyId"]
    assert sorted(iam_keys(home.identity)) == sorted([old, new])


def test_a_failed_create_leaves_the_old_key_stored(home, secret_service, local_aws):
    assert run(home, secret_service, "keys", "import").returncode == 0
    local_aws.inject_fault(409, "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2", "CreateAccessKey")
    result = run(home, secret_service, "keys", "rotate")
    assert result.returncode == 9
    assert "could not create a new key" in result.stderr and "is still stored" in result.stderr
    assert stored(secret_service, "default")["AccessKeyId"] == home.identity.access_key_id
    assert iam_keys(home.identity) == [home.identity.access_key_id]


def test_no_backend_is_one_line_and_changes_nothing(home, local_aws):
    before = home.credentials.read_bytes()
    env = {k: v for k, v in home.env.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    result = subprocess.run([TOOL, "keys", "import"], env=env, capture_output=True, text=True)
    assert result.returncode == 10
    assert result.stderr.count("\n") == 1 and "no usable OS keyring" in result.stderr
    assert "docs/keyring.md" in result.stderr
    assert home.credentials.read_bytes() == before


def test_a_keyring_source_without_backend_fails_before_a_code_is_spent(home, secret_service, local_aws):
    assert run(home, secret_service, "keys", "import").returncode == 0
    local_aws.reset_requests()
    result = home.run("--role", "TerraformRole", "--serial", home.identity.serial, "--code", home.code())
    assert result.returncode == 10 and "no usable OS keyring" in result.stderr
    assert local_aws.actions() == []


def test_import_refuses_a_profile_holding_a_session(home, secret_service):
    assert home.run("--role", "TerraformRole", "--code", home.code()).returncode == 0
    before = home.credentials.read_bytes()
    result = run(home, secret_service, "keys", "import", "--source-profile", "terraform_session")
    assert result.returncode == 2 and "holds a session" in result.stderr
    assert home.credentials.read_bytes() == before


def test_add_from_json_list_and_remove(home, secret_service, local_aws):
    identity = local_aws.new_identity()
    document = json.dumps({"AccessKeyId": identity.access_key_id, "SecretAccessKey": identity.secret_access_key})
    result = run(home, secret_service, "keys", "add", "ci", "--json", input=document)
    assert result.returncode == 0, result.stderr
    assert identity.secret_access_key not in result.stdout + home.credentials.read_text()
    assert stored(secret_service, "ci")["AccessKeyId"] == identity.access_key_id
    # 100 days old, as IAM says: list --check warns.
    key = iam_backends[ACCOUNT]["global"].users[identity.user_name].access_keys[0]
    key.create_date = datetime.now(timezone.utc) - timedelta(days=100)
    listing = run(home, secret_service, "keys", "list", "--check")
    assert listing.returncode == 0, listing.stderr
    line = next(line for line in listing.stdout.splitlines() if line.startswith("ci "))
    assert identity.access_key_id not in line and identity.access_key_id[-4:] in line
    assert "100 days old - older than 90 days" in line
    assert "older than 90 days" in listing.stderr
    # The profile works as a source from the keyring.
    result = run(home, secret_service, "-p", "ci-tf", "--source-profile", "ci", "--role", "TerraformRole",
                 "--serial", identity.serial, "--code", identity.fresh_code())  # fmt: skip
    assert result.returncode == 0, result.stderr
    refused = run(home, secret_service, "keys", "remove", "ci")  # no terminal: the only copy stays
    assert refused.returncode == 2 and "only copy" in refused.stderr and "keys export ci" in refused.stderr
    assert stored(secret_service, "ci")["AccessKeyId"] == identity.access_key_id
    removed = run(home, secret_service, "keys", "remove", "--source-profile", "ci", "--yes")  # 2.0.0's spelling too
    assert removed.returncode == 0, removed.stderr
    assert stored(secret_service, "ci") is None
    assert KEYRING_MARKER not in home.credentials.read_text()
    assert "[ci]" not in home.credentials.read_text(), "the section keys add made, with nothing left in it, goes"
    assert "Removed [ci] of" in removed.stdout
    assert "ci " not in run(home, secret_service, "keys", "list").stdout


def test_status_and_doctor_say_where_the_keys_live(home, secret_service):
    doctor = home.run("doctor", "--offline")
    assert "long-term keys of source profile [default] are in plaintext" in doctor.stdout
    assert "keys import default" in doctor.stdout
    assert run(home, secret_service, "keys", "import").returncode == 0
    assert "Long-term keys in the OS keyring: [default]" in home.run("status").stdout
    assert "long-term keys of source profile [default] are in the OS keyring" in (
        home.run("doctor", "--offline").stdout
    )


@pytest.mark.parametrize("command", [("status",), ("--help",), ("credential-process", "-p", "cached")])
def test_paths_without_source_keys_do_not_import_keyring(home, secret_service, command):
    assert run(home, secret_service, "keys", "import").returncode == 0
    cached = run(home, secret_service, "credential-process", "-p", "cached", "--role", "TerraformRole",
                 "--serial", home.identity.serial, "--code", home.code())  # fmt: skip
    assert cached.returncode == 0, cached.stderr
    result = subprocess.run(
        [sys.executable, "-X", "importtime", TOOL, *command], capture_output=True, text=True, env=home.env
    )
    assert result.returncode == 0
    assert "keyring" not in result.stderr and "botocore" not in result.stderr


def test_add_shows_the_key_id_as_typed_and_never_the_secret(home, secret_service, local_aws):
    identity = local_aws.new_identity()
    proc, master = on_terminal([TOOL, "keys", "add", "typed"], keyring_env(home, secret_service))
    try:
        seen = read_until(master, b"access key id: ")
        os.write(master, identity.access_key_id.encode() + b"\n")
        seen += read_until(master, b"secret access key (not shown): ")
        assert identity.access_key_id.encode() in seen, "the key id is echoed, as aws configure does"
        os.write(master, identity.secret_access_key.encode() + b"\n")
        seen += read_until(master, b"OS keyring.")
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert identity.secret_access_key.encode() not in seen
    assert stored(secret_service, "typed")["SecretAccessKey"] == identity.secret_access_key


def test_remove_asks_at_a_terminal_and_export_is_the_way_out(home, secret_service):
    assert run(home, secret_service, "keys", "import").returncode == 0
    env = keyring_env(home, secret_service)
    proc, master = on_terminal([TOOL, "keys", "remove", "default"], env)
    try:
        seen = read_until(master, b"Type default to delete it: ")
        os.write(master, b"no\r")
        read_until(master, b"were not deleted")
    finally:
        proc.wait(timeout=30)
        os.close(master)
    assert proc.returncode == 2
    assert b"holds the only copy of the key" in seen and b"keys export default" in seen
    assert stored(secret_service, "default")["AccessKeyId"] == home.identity.access_key_id

    exported = run(home, secret_service, "keys", "export", "default")
    assert exported.returncode == 0, exported.stderr
    values = inifile.parse(home.credentials.read_text())["default"]
    assert values["aws_access_key_id"] == home.identity.access_key_id
    assert values["aws_secret_access_key"] == home.identity.secret_access_key
    assert KEYRING_MARKER not in home.credentials.read_text()
    assert home.identity.secret_access_key not in exported.stdout
    # With a copy in the file, removing the keyring's copy destroys nothing: no question.
    removed = run(home, secret_service, "keys", "remove", "default")
    assert removed.returncode == 0, removed.stderr
    assert stored(secret_service, "default") is None


def test_remove_clears_an_item_deleted_behind_the_tools_back(home, secret_service):
    assert run(home, secret_service, "keys", "import").returncode == 0
    code = "import keyring; keyring.delete_password('terraform-session-token', 'default')"
    subprocess.run([sys.executable, "-c", code], env={**os.environ, **secret_service}, check=True)
    assert "keys remove default" in run(home, secret_service, "keys", "list").stdout
    assert run(home, secret_service, "keys", "remove", "default").returncode == 0
    listing = run(home, secret_service, "keys", "list").stdout
    assert "default" not in listing


def test_keys_without_an_action_says_which(home):
    result = home.run("keys")
    assert (
        result.returncode == 2 and "keys needs an action: import, add, list, rotate, remove or export" in result.stderr
    )


def test_a_throttled_check_of_the_new_key_deletes_it_again(home, secret_service, local_aws):
    assert run(home, secret_service, "keys", "import").returncode == 0
    old = home.identity.access_key_id
    local_aws.inject_fault(400, "Throttling", "Rate exceeded", "GetCallerIdentity")
    result = run(home, secret_service, "keys", "rotate")
    assert result.returncode == 9 and "throttling" in result.stderr and "was deleted in IAM" in result.stderr
    assert iam_keys(home.identity) == [old], "no orphaned key: IAM's limit of two stays free"
    assert stored(secret_service, "default")["AccessKeyId"] == old


def replacing_keyring(home, tmp_path, fail_all=False):
    env = {
        "PYTHON_KEYRING_BACKEND": "replacing_keyring.DeleteThenAdd",
        "PYTHONPATH": os.path.dirname(__file__),
        "REPLACING_KEYRING_FILE": str(tmp_path / "keychain.json"),
    }
    assert home.run("keys", "import", env=env).returncode == 0
    env["REPLACING_KEYRING_FAIL"] = "default"
    if fail_all:
        env["REPLACING_KEYRING_FAIL_ALL"] = "1"
    return env


def held(tmp_path):
    items = json.loads((tmp_path / "keychain.json").read_text())
    value = items.get("terraform-session-token/default")
    return json.loads(value)["AccessKeyId"] if value else None


def test_a_keychain_that_drops_the_item_while_replacing_it_gets_the_old_key_back(home, local_aws, tmp_path):
    env = replacing_keyring(home, tmp_path)
    old = home.identity.access_key_id
    result = home.run("keys", "rotate", env=env)
    assert result.returncode == 10, result.stderr
    assert "dropped the old key" in result.stderr and "stored again" in result.stderr
    assert "was deleted in IAM" in result.stderr
    assert held(tmp_path) == old and iam_keys(home.identity) == [old]


def test_a_keychain_that_takes_nothing_leaves_the_old_key_in_the_file_not_lost(home, local_aws, tmp_path):
    env = replacing_keyring(home, tmp_path, fail_all=True)
    old = home.identity.access_key_id
    result = home.run("keys", "rotate", env=env)
    assert result.returncode == 10, result.stderr
    assert "written to [default]" in result.stderr and home.identity.secret_access_key not in result.stderr
    values = inifile.parse(home.credentials.read_text())["default"]
    assert values["aws_access_key_id"] == old and values["aws_secret_access_key"] == home.identity.secret_access_key
    assert iam_keys(home.identity) == [old]


def test_every_action_takes_the_profile_as_name_or_source_profile(home, secret_service):
    home.credentials.write_text(home.credentials.read_text().replace("[default]", "[work]"))
    assert run(home, secret_service, "keys", "import", "work").returncode == 0
    assert stored(secret_service, "work")["AccessKeyId"] == home.identity.access_key_id
    exported = run(home, secret_service, "keys", "export", "--source-profile", "work")
    assert exported.returncode == 0, exported.stderr
    again = run(home, secret_service, "keys", "import", "--source-profile", "work")  # 2.0.0's spelling
    assert again.returncode == 0, again.stderr
    both = home.run("keys", "import", "work", "--source-profile", "other")
    assert_one_line_failure(both, 2, "two profiles given: work and --source-profile other")
    missing = home.run("keys", "export")
    assert_one_line_failure(missing, 2, "keys export needs a profile name", "keys export NAME")
    helped = home.run("keys", "--help").stdout
    assert "remove, export)" in helped and "export" in helped.split("positional arguments")[1]
