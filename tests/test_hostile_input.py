"""Hostile: input checks that hold for every character, and output that never drives the terminal."""

from __future__ import annotations

import json

import pytest
from conftest import assert_one_line_failure


def test_a_profile_name_with_a_trailing_newline_is_refused_before_any_call(home, local_aws):
    local_aws.reset_requests()
    result = home.run("-p", "prod\n", "--role", "TerraformRole", "--code", "123456")
    assert_one_line_failure(result, 2, "invalid profile name", "\\x0a")
    assert local_aws.actions() == []


@pytest.mark.parametrize("code", ["١٢٣٤٥٦", "１２３４５６", "12345", "1234567", "12 456"])
def test_a_code_is_six_ascii_digits(home, local_aws, code):
    local_aws.reset_requests()
    result = home.run("--role", "arn:aws:iam::123456789012:role/TerraformRole", "--serial", home.identity.serial,
                      "--code", code)  # fmt: skip
    assert_one_line_failure(result, 6, "is not 6 digits")
    assert local_aws.actions() == []


def test_a_negative_margin_is_refused(home):
    assert_one_line_failure(home.run("--margin", "-5", "--code", "123456"), 2, "negative")


@pytest.mark.parametrize("value", ["two\nlines", " padded", "trailing ", "cr\rhere"])
def test_configure_values_are_one_line_without_surrounding_spaces(home, value):
    result = home.run("configure", "-p", "tf", "--role", "TerraformRole", "--session-name", value)
    assert_one_line_failure(result, 2)
    assert not home.config.exists()


def test_terminal_escapes_from_config_are_shown_escaped(home):
    home.config.write_text("[profile x]\nregion = \x1b]0;owned\x07\x1b[2J\n")
    result = home.run("-p", "x", "--role", "TerraformRole", "--code", "123456")
    assert_one_line_failure(result, 3, "\\x1b")
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr


def test_terminal_escapes_from_a_cache_file_are_shown_escaped_by_status(home):
    assert home.run("credential-process", "-p", "x", "--role", "TerraformRole", "--code", home.code()).returncode == 0
    path = home.cache / "x.json"
    document = json.loads(path.read_text())
    document["Arn"] = "arn:\x1b[31mred\x1b[0m\u202e"
    path.write_text(json.dumps(document))
    result = home.run("status")
    assert result.returncode == 0
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout and "\\x1b[31mred" in result.stdout


def test_no_such_user_from_list_mfa_devices_is_not_a_missing_role(home, local_aws):
    local_aws.inject_fault(404, "NoSuchEntity", "The user with name x cannot be found.", "ListMFADevices")
    result = home.run("--role", "TerraformRole", "--code", "123456")
    assert_one_line_failure(result, 5, "IAM does not know the user")
    assert "role" not in result.stderr.split("(")[0]
