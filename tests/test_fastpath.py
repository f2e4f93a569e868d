"""The hot path: a cached credential-process answered without the parser, and always as the full path would."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

from conftest import TOOL, assert_one_line_failure
from hypothesis import given
from hypothesis import strategies as st

from terraform_session_token import fastpath, sessions


def configure(home, *extra):
    counter = home.root / "codes"
    result = home.run(
        "configure", "-p", "tf", "--role", "TerraformRole", "--serial", home.identity.serial,
        "--mfa-process", home.mfa_process(counter), *extra,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return counter


def imports(home, *argv, env=None):
    """(stdout, the modules the command imported) of one run of the installed command."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", TOOL, *argv],
        capture_output=True,
        text=True,
        env={**home.env, **(env or {})},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    modules = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    return result.stdout, modules


def full_path(home, *argv, env=None):
    """The same command through the full parser (python -m runs cli.entry, never the hot path)."""
    result = subprocess.run(
        [sys.executable, "-m", "terraform_session_token", *argv],
        capture_output=True,
        text=True,
        env={**home.env, **(env or {})},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_hot_path_answers_as_the_full_path_does_without_parser_or_re(home, local_aws):
    counter = configure(home)
    # The first run remembers the role's ARN in the config: the second, full again, records that state.
    for _ in range(2):
        first = home.run("credential-process", "-p", "tf")
        assert first.returncode == 0, first.stderr
    local_aws.reset_requests()
    fast, modules = imports(home, "credential-process", "-p", "tf")
    assert "argparse" not in modules and "re" not in modules and "json" not in modules
    assert "botocore" not in modules and "terraform_session_token.cli" not in modules
    assert fast == first.stdout == full_path(home, "credential-process", "-p", "tf")
    assert fast == imports(home, "-p", "tf", "credential-process")[0]
    assert fast == imports(home, "credential-process", "--profile=tf")[0]
    assert local_aws.actions() == [] and home.codes_asked(counter) == 1


def test_any_change_the_full_path_could_decide_on_sends_it_the_full_way(home, local_aws):
    configure(home)
    for _ in range(2):
        assert home.run("credential-process", "-p", "tf").returncode == 0
    _, modules = imports(home, "credential-process", "-p", "tf")
    assert "argparse" not in modules
    # A byte in the config file, an environment variable, another argument: the full path decides.
    home.config.write_text(home.config.read_text() + "# a comment\n")
    _, modules = imports(home, "credential-process", "-p", "tf")
    assert "argparse" in modules
    _, modules = imports(home, "credential-process", "-p", "tf")
    assert "argparse" not in modules, "the full path recorded the new state"
    _, modules = imports(home, "credential-process", "-p", "tf", env={"AWS_REGION": "eu-west-1"})
    assert "argparse" in modules
    _, modules = imports(home, "credential-process", "-p", "tf", "--timeout", "20")
    assert "argparse" in modules
    # A profile that now names another role is not served the old role's session.
    text = home.config.read_text().replace("TerraformRole", "LongRole")  # session_role_name, and its ARN
    home.config.write_text(text)
    local_aws.reset_requests()
    result = home.run("credential-process", "-p", "tf")
    assert result.returncode == 0, result.stderr
    assert "AssumeRole" in local_aws.actions()


def test_a_session_inside_its_margin_goes_the_full_way(home, local_aws):
    configure(home, "--margin", "3000")  # a 1 h session is inside a 50 min margin after 10 min
    assert home.run("credential-process", "-p", "tf").returncode == 0
    cache = home.cache / "tf.json"
    data = json.loads(cache.read_text())
    data["Expiration"] = sessions.format_time(datetime.now(timezone.utc) + timedelta(seconds=2000), precise=True)
    cache.write_text(json.dumps(data))
    local_aws.reset_requests()
    _, modules = imports(home, "credential-process", "-p", "tf")
    assert "argparse" in modules and "AssumeRole" in local_aws.actions()


def test_an_unsafe_cache_is_refused_by_the_full_path_not_served(home):
    configure(home)
    assert home.run("credential-process", "-p", "tf").returncode == 0
    home.cache.chmod(0o755)
    assert_one_line_failure(home.run("credential-process", "-p", "tf"), 4, "refusing to use")


@given(st.text(max_size=30))
def test_file_names_are_the_full_paths(name):
    assert fastpath.file_name(name) == sessions.file_name(name)


FLAT = st.dictionaries(
    st.text(max_size=12),
    st.one_of(st.text(max_size=40), st.booleans(), st.none(), st.integers(-(10**12), 10**12)),
    max_size=8,
)


@given(FLAT)
def test_the_flat_json_reader_reads_what_json_writes(data):
    beyond_bmp = any(ord(c) > 0xFFFF for item in data.items() for part in item if isinstance(part, str) for c in part)
    for text in (json.dumps(data), json.dumps(data, indent=2)):
        got = fastpath.read_flat_json(text)
        assert got == data or (beyond_bmp and got is None)


@given(st.text(max_size=60))
def test_the_flat_json_reader_never_accepts_what_json_refuses(text):
    try:
        expected = json.loads(text)
    except ValueError:
        expected = None
    got = fastpath.read_flat_json(text)
    assert got is None or got == expected


@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 12, 30)), st.booleans())
def test_times_read_and_written_as_datetime_does(moment, precise):
    moment = moment.replace(tzinfo=timezone.utc)
    text = sessions.format_time(moment, precise=precise)
    parsed = fastpath.parse_utc(text)
    assert parsed is not None and abs(parsed - sessions.parse_time(text).timestamp()) < 1e-6
    assert fastpath.format_utc(parsed) == sessions.format_time(sessions.parse_time(text))


def test_only_the_shape_configure_writes_is_taken():
    assert fastpath.profile_of(["credential-process", "-p", "tf"]) == "tf"
    assert fastpath.profile_of(["-p", "tf", "credential-process"]) == "tf"
    assert fastpath.profile_of(["credential-process"]) == ""
    for argv in (["credential-process", "-p"], ["credential-process", "-p", "tf", "--force"], ["env", "-p", "tf"],
                 ["credential-process", "-p", "-d"], ["credential-process", "--debug"]):  # fmt: skip
        assert fastpath.profile_of(argv) is None, argv


@given(st.sampled_from(["", "/tmp/c", "~/creds", "/a b/c"]), st.sampled_from(["", "/tmp/conf", "~/x/config"]))
def test_cache_file_names_for_other_aws_files_are_the_full_paths(credentials, config):
    env = {k: v for k, v in (("AWS_SHARED_CREDENTIALS_FILE", credentials), ("AWS_CONFIG_FILE", config)) if v}
    assert fastpath.files_key(env) == sessions.files_key(env)
