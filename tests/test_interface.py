"""The interface a new user meets: help, -v, -p before a command, doctor, errors before questions, completion."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from conftest import TOOL, assert_one_line_failure, bash_complete, blocking

from local_aws import OTHER_ACCOUNT


def test_v_warns_on_every_run_that_uses_it_even_with_nothing_to_do(home):
    assert home.run("--role", "TerraformRole", "--code", home.code()).returncode == 0
    for args in (("-v",), ("-v", "credential-process", "-p", "terraform_session"), ("doctor", "--offline", "-v")):
        result = home.run(*args)
        assert "TLS verification is disabled (-v)" in result.stderr, args
    assert "NOT 'verbose'" in home.run("--help").stdout


@pytest.mark.parametrize("command", ["env", "exec", "credential-process", "configure", "doctor", "refresh"])
def test_subcommand_help_has_its_own_usage_and_only_its_options(home, command):
    text = home.run(command, "--help").stdout
    assert text.startswith(f"usage: terraform-session-token {command} ")
    assert "[command ...]" not in text.split("\n\n")[0], "not the top-level usage again"
    if command != "refresh":
        assert "--overwrite-keys" not in text
    if command in ("configure", "doctor"):
        assert "--code" not in text and "--force" not in text


def test_format_and_exec_command_have_help(home):
    assert "the shell to quote for" in home.run("env", "--help").stdout
    assert "the command to run, after --" in home.run("exec", "--help").stdout


def test_p_before_a_command_means_the_same_everywhere(home):
    assert home.run("--role", "TerraformRole", "--code", home.code()).returncode == 0
    assert home.run("-p", "other", "--role", "TerraformRole", "--code", home.code()).returncode == 0
    status = home.run("-p", "other", "status").stdout
    assert "other" in status and "terraform_session " not in status
    assert home.run("-p", "other", "clear").returncode == 0
    assert "[other]" not in home.credentials.read_text() and "[terraform_session]" in home.credentials.read_text()
    for command in ("policy", "keys list", "completion bash"):
        result = home.run("-p", "x", *command.split())
        assert_one_line_failure(result, 2, f"-p does not apply to {command.split()[0]}")


def test_doctor_does_not_send_an_assume_role_profile_to_a_command_that_refuses(home):
    home.config.write_text(
        "[profile ar]\nrole_arn = arn:aws:iam::123456789012:role/TerraformRole\nsource_profile = default\n"
    )
    out = home.run("doctor", "--offline", "-p", "ar").stdout
    assert "exec -p ar" in out and "run: terraform-session-token -p ar" not in out


def test_doctor_does_not_check_a_same_named_role_in_the_source_account(home):
    role = f"arn:aws:iam::{OTHER_ACCOUNT}:role/TerraformRole"
    out = home.run("doctor", "-p", "x", "--role", role, "--serial", home.identity.serial).stdout
    assert f"is in account {OTHER_ACCOUNT}, not the source's" in out
    assert "arn:aws:iam::123456789012:role/TerraformRole requires MFA" not in out


def test_a_source_profile_typo_gets_did_you_mean_before_any_question(home):
    home.credentials.write_text(home.credentials.read_text().replace("[default]", "[production]"))
    result = home.run("--source-profile", "prodution")
    assert_one_line_failure(result, 5, "did you mean --source-profile production?")
    assert "Role[" not in result.stdout


def test_no_keys_at_all_is_said_before_asking_for_the_role(home):
    home.credentials.unlink()
    result = home.run(input="\n123456\n")
    assert_one_line_failure(result, 5, "source profile [default] not found")
    assert "Role[" not in result.stdout


def test_a_piped_five_digit_code_says_it_is_not_six_digits(home, local_aws):
    local_aws.reset_requests()
    result = home.run("--role", "arn:aws:iam::123456789012:role/TerraformRole", "--serial", home.identity.serial,
                      input="12345\n")  # fmt: skip
    assert_one_line_failure(result, 6, "is not 6 digits")
    assert local_aws.actions() == []


def test_fish_completion_offers_commands_and_profile_names(home):
    if shutil.which("fish") is None:
        if os.environ.get("CI"):
            pytest.fail("fish missing in CI: scripts/setup installs it")
        pytest.skip("fish is not installed")
    script = home.root / "tst.fish"
    script.write_text(home.run("completion", "fish").stdout)
    home.config.write_text("[profile staging]\nregion = us-east-1\n")

    def complete(line: str) -> list[str]:
        result = subprocess.run(
            ["fish", "--no-config", "-c", f"source {script}; complete -C '{line}'"],
            capture_output=True,
            text=True,
            env=home.env,
        )
        return [candidate.split("\t")[0] for candidate in result.stdout.splitlines()]

    assert {"exec", "credential-process", "keys"} <= set(complete(f"{TOOL} "))
    assert set(complete(f"{TOOL} -p ")) == {"staging"}, "no source profile: [default] holds the keys"
    assert {"default", "staging"} <= set(complete(f"{TOOL} --source-profile "))


def test_bash_completion_offers_profile_names(home):
    script = home.root / "tst.bash"
    script.write_text(home.run("completion", "bash").stdout)
    assert "default" in bash_complete(home, script, ["terraform-session-token", "exec", "--source-profile", ""])
    assert "default" not in bash_complete(home, script, ["terraform-session-token", "exec", "-p", ""])


def test_completion_without_shtab_names_the_pipx_way(home, tmp_path):
    result = home.run("completion", "bash", env=blocking(tmp_path, "shtab"))
    assert_one_line_failure(result, 11, "pipx inject terraform-session-token shtab")


def test_a_missing_keyring_package_has_the_same_exit_code_as_a_missing_shtab(home, tmp_path):
    result = home.run("keys", "list", env=blocking(tmp_path, "keyring"))
    assert_one_line_failure(result, 11, "the keyring package is not installed")
