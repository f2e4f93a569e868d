"""What a new user met first: typos that created profiles, misleading words, the banner, status -p."""

from __future__ import annotations

import json
import os

from conftest import TOOL, assert_one_line_failure, on_terminal, read_until

from local_aws import ACCOUNT

ROLE = f"arn:aws:iam::{ACCOUNT}:role/TerraformRole"


def test_a_typo_in_a_profile_name_is_refused_before_any_question(home, local_aws):
    home.config.write_text("[profile prod]\nsession_role_arn = arn:aws:iam::210987654321:role/TerraformRole\n")
    config_before = home.config.read_bytes()
    local_aws.reset_requests()
    for command in (["env"], ["credential-process"], ["exec", "--", "true"], ["console", "--print"], [], ["doctor"]):
        result = home.run("-p", "prdo", *command)
        assert_one_line_failure(result, 2, "profile [prdo] is not in the credentials", "did you mean -p prod?")
    assert local_aws.actions() == []
    assert home.config.read_bytes() == config_before, "nothing remembered for the typo"
    assert not home.cache.exists() or not list(home.cache.iterdir())


def test_a_new_profile_is_made_when_its_role_is_given(home):
    result = home.run("env", "-p", "fresh", "--role", "TerraformRole", "--code", home.code())
    assert result.returncode == 0, result.stderr
    assert "[profile fresh]" in home.config.read_text()
    assert home.run("env", "-p", "fresh").returncode == 0, "known from then on"
    far = home.run("env", "-p", "zzzzzz")
    assert_one_line_failure(far, 2, "to create [zzzzzz], give its role: --role NAME")


def test_the_default_profile_needs_no_role_flag_on_a_first_run(home):
    result = home.run(input=f"\n{home.code()}\n")
    assert result.returncode == 0, result.stderr
    assert "Terraform Session Token" in result.stdout and "Role[TerraformRole]:" in result.stdout


def test_status_takes_p_after_the_command(home):
    assert home.run("--role", "TerraformRole", "--code", home.code()).returncode == 0
    assert home.run("-p", "other", "--role", "TerraformRole", "--code", home.code()).returncode == 0
    after = home.run("status", "-p", "other")
    before = home.run("-p", "other", "status")
    assert after.returncode == 0, after.stderr
    assert after.stdout == before.stdout
    assert "other" in after.stdout and "terraform_session" not in after.stdout


def test_policy_warns_about_the_placeholder_only_without_account(home):
    given = home.run("policy", "--account", "123456789012")
    assert given.returncode == 0 and given.stderr.count("placeholder") == 0
    missing = home.run("policy")
    assert "no --account" in missing.stderr


def test_no_banner_with_a_code_or_on_errors(home):
    with_code = home.run("--role", "TerraformRole", "--code", home.code())
    assert with_code.returncode == 0 and "Terraform Session Token" not in with_code.stdout
    failing = home.run("--role", "TerraformRole", "--code", "000000", "-p", "bad")
    assert failing.returncode == 6 and "Terraform Session Token" not in failing.stdout


def test_ctrl_c_at_the_prompt_puts_the_error_on_its_own_line(home):
    proc, master = on_terminal(["terraform-session-token"], {**home.env})
    try:
        read_until(master, b"Role[TerraformRole]: ")
        os.write(master, b"\x03")
        seen = read_until(master, b"interrupted")
        seen += read_until(master, b"\n")
    finally:
        proc.wait(timeout=30)
        os.close(master)
    assert proc.returncode == 130
    line = next(x for x in seen.replace(b"\r", b"").split(b"\n") if b"interrupted" in x)
    assert line.startswith(b"terraform-session-token: error: interrupted"), seen


def mfa_session_profile(home, tmp_path, name="chained"):
    counter = tmp_path / "codes"
    home.config.write_text(
        f"[profile {name}]\nsession_role_arn = {ROLE}\nmfa_serial = {home.identity.serial}\n"
        f"mfa_session = true\nmfa_process = {home.mfa_process(counter)}\n"
    )
    return counter


def test_a_dead_mfa_session_is_told_apart_from_the_source_keys_and_replaced_once(home, local_aws, tmp_path):
    counter = mfa_session_profile(home, tmp_path)
    assert home.run("credential-process", "-p", "chained").returncode == 0
    mfa_file = next(home.cache.glob("mfa-session--*.json"))
    dead = json.loads(mfa_file.read_text())["AccessKeyId"]
    local_aws.rules.temporary.pop(dead)  # revoked: AWS no longer knows the key
    doctor = home.run("doctor", "-p", "chained")
    assert "FAIL  AWS no longer accepts the cached MFA session of [default]" in doctor.stdout
    assert "AWS did not accept the keys of source profile" not in doctor.stdout
    result = home.run("credential-process", "-p", "chained", "--force")
    assert result.returncode == 0, result.stderr
    assert home.codes_asked(counter) == 2, "one new code for the new MFA session"
    assert json.loads(mfa_file.read_text())["AccessKeyId"] != dead
    assert "AWS accepts the cached MFA session" in home.run("doctor", "-p", "chained").stdout


def test_clear_takes_back_the_mfa_session_the_profile_used_and_status_shows_it_apart(home, tmp_path):
    mfa_session_profile(home, tmp_path)
    assert home.run("credential-process", "-p", "chained").returncode == 0
    status = home.run("status")
    assert "MFA sessions (mfa_session = true" in status.stdout
    profiles_part, mfa_part = status.stdout.split("MFA sessions")
    assert "mfa-session--" not in status.stdout and "chained" in profiles_part
    assert "[default]" in mfa_part and f"user/{home.identity.user_name}" in mfa_part
    assert max(len(line) for line in status.stdout.splitlines() if "Long-term keys" not in line) < 130
    cleared = home.run("clear", "-p", "chained")
    assert cleared.returncode == 0, cleared.stderr
    assert "Removed the MFA session of source [default]" in cleared.stdout
    assert not list(home.cache.glob("mfa-session--*.json"))


def test_a_duration_above_a_remembered_roles_maximum_is_refused_before_the_code(home, tmp_path):
    counter = tmp_path / "codes"
    mfa = home.mfa_process(counter)
    for extra in (["-d", "7200"], ["--min-left", "2h", "-d", "10800"]):
        result = home.run("-p", "x", "--role", ROLE, "--serial", home.identity.serial, "--mfa-process", mfa, *extra)
        assert_one_line_failure(result, 7, "above TerraformRole's maximum session duration of 3600 s")
    assert home.codes_asked(counter) == 0
    long_role = ROLE.replace("TerraformRole", "LongRole")
    ok = home.run("-p", "y", "--role", long_role, "--serial", home.identity.serial, "--mfa-process", mfa, "-d", "7200")
    assert ok.returncode == 0, ok.stderr


def test_options_a_command_does_not_use_are_refused_and_help_says_what_commands_do(home):
    for argv, flag in (
        (["-d", "900", "status"], "-d"),
        (["-p", "x", "policy"], "-p"),
        (["--force", "doctor"], "--force"),
    ):
        assert_one_line_failure(home.run(*argv), 2, f"{flag} does not apply to")
    top = home.run("--help").stdout
    assert "run a command with credentials served to it" in top and "in its environment" not in top
    assert "{bash,zsh,fish}" in home.run("completion", "--help").stdout.splitlines()[0]
    assert "[{bash,zsh,fish}]" not in home.run("completion", "--help").stdout
    assert "the only copy" in home.run("keys", "remove", "--help").stdout
    assert "also written into the profile" not in home.run("exec", "--help").stdout


def test_clear_after_several_configures_gives_back_the_original_bytes(home):
    original = b"[default]\r\nregion = us-east-1\r\n\r\n# mine\r\n[profile x]\r\noutput = json\r\n"
    home.config.write_bytes(original)
    for name in ("a", "b", "c"):
        assert home.run("configure", "-p", name, "--role", "TerraformRole").returncode == 0
    assert home.run("clear", "--all").returncode == 0
    assert home.config.read_bytes() != original, "clear keeps what configure was told"
    for name in ("b", "a", "c"):
        assert home.run("configure", "--remove", "-p", name).returncode == 0
    assert home.config.read_bytes() == original


def test_configure_refuses_a_config_file_botocore_cannot_parse(home):
    broken = b"[profile x]\ns3 =\n  max_concurrent_requests\nregion = us-east-1\n"
    home.config.write_bytes(broken)
    result = home.run("configure", "-p", "y", "--role", "TerraformRole")
    assert_one_line_failure(result, 3, "can't parse", "nested line is not key = value")
    assert home.config.read_bytes() == broken


def test_the_version_is_the_changelogs_latest(home):
    from pathlib import Path

    import terraform_session_token

    printed = home.run("--version").stdout.split()[-1]
    assert printed == terraform_session_token.__version__
    changelog = (Path(__file__).parents[1] / "CHANGELOG.md").read_text()
    released = [line for line in changelog.splitlines() if line.startswith("## [") and "Unreleased" not in line]
    assert released[0].startswith(f"## [{printed}] - ")


def _at_terminal(home, argv, answers):
    """Run the installed command at a pseudo-terminal, typing each answer after its prompt; (exit code, screen)."""
    proc, master = on_terminal([TOOL, *argv], home.env)
    seen = b""
    try:
        for prompt, answer in answers:
            seen += read_until(master, prompt)
            os.write(master, answer)
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        proc.wait(timeout=60)
        os.close(master)
    return proc.returncode, seen.replace(b"\r\n", b"\n").decode()


def test_a_new_profile_at_a_terminal_is_made_by_its_role_prompt(home):
    code, screen = _at_terminal(
        home, ["-p", "dev"], [(b"Role[TerraformRole]: ", b"\r"), (b"Code: ", home.code().encode() + b"\r")]
    )
    assert code == 0, screen
    assert screen.index("Terraform Session Token") < screen.index("[dev] is a new profile") < screen.index("Role[")
    assert "Adding the profile [dev]" in screen
    assert "[profile dev]" in home.config.read_text()


def test_a_typo_at_a_terminal_shows_the_close_name_and_enter_stops(home, local_aws):
    home.config.write_text("[profile prod]\nregion = us-east-1\n")
    before = (home.credentials.read_bytes(), home.config.read_bytes())
    local_aws.reset_requests()
    code, screen = _at_terminal(home, ["-p", "prdo"], [(b"Role: ", b"\r")])
    assert code == 2, screen
    assert "There is no profile [prdo]. Did you mean -p prod?" in screen
    assert "error: [prdo] was not created: no role was given (did you mean -p prod?)" in screen
    assert (home.credentials.read_bytes(), home.config.read_bytes()) == before and local_aws.actions() == []
    code, screen = _at_terminal(
        home, ["-p", "prdo"], [(b"Role: ", b"TerraformRole\r"), (b"Code: ", home.code().encode() + b"\r")]
    )
    assert code == 0 and "Adding the profile [prdo]" in screen, screen


def test_a_new_profile_from_piped_answers_and_none_without(home):
    refused = home.run("-p", "dev")  # no terminal, no input
    assert_one_line_failure(refused, 2, "profile [dev] is not in the credentials", "give its role: --role NAME")
    assert refused.stdout == "", "no banner when no prompt follows"
    with_code = home.run("-p", "dev", "--code", home.code())  # --code: no questions
    assert_one_line_failure(with_code, 2, "profile [dev] is not in the credentials")
    piped = home.run("-p", "dev", input=f"\n{home.code()}\n")
    assert piped.returncode == 0, piped.stderr
    assert "Role[TerraformRole]:" in piped.stdout and "Adding the profile [dev]" in piped.stdout


def test_the_classic_flow_with_no_input_says_what_credential_process_says(home):
    result = home.run("--role", "TerraformRole")
    assert_one_line_failure(result, 6, "input ended", "pass --code, set mfa_process", "mfa_prompt")
    assert result.stdout == "", "no banner and no Code: when no prompt follows"
    no_role = home.run()
    assert_one_line_failure(no_role, 6, "a role and an MFA code are needed", "pass --role", "mfa_process")
    assert no_role.stdout == ""


def test_the_third_bad_code_ends_without_try_again(home):
    code, screen = _at_terminal(
        home, ["--role", "TerraformRole"], [(b"Code: ", b"1\r"), (b"Code: ", b"2\r"), (b"Code: ", b"3\r")]
    )
    assert code == 6, screen
    assert screen.count("try again") == 2
    assert "no valid MFA code was given in 3 tries" in screen


def test_bad_values_are_refused_even_while_a_session_is_valid(home):
    assert home.run("--role", "TerraformRole", "--code", home.code()).returncode == 0
    assert "nothing to do" in home.run().stdout
    for argv, line in (
        (["-d", "10"], "duration 10 s is out of range"),
        (["-d", "99999"], "duration 99999 s is out of range"),
        (["--min-left", "2"], "--min-left 2 is 2 s, less than the 300 s refresh margin"),
    ):
        assert_one_line_failure(home.run(*argv), 2, line)


def test_status_of_an_unknown_profile_and_status_keys(home):
    home.config.write_text("[profile prod]\nregion = us-east-1\n")
    assert_one_line_failure(home.run("status", "-p", "prdo"), 2, "profile [prdo] is not", "did you mean -p prod?")
    known = home.run("status", "-p", "prod")
    assert known.returncode == 0 and "No session for [prod]." in known.stdout
    keys = home.run("status", "--keys")
    assert keys.returncode == 0
    assert "[default]" in keys.stdout and f"plaintext in {home.credentials}" in keys.stdout


def test_env_takes_the_name_of_the_shell(home):
    assert home.run("env", "-p", "x", "--role", "TerraformRole", "--code", home.code()).returncode == 0
    sh = home.run("env", "-p", "x", "--format", "sh").stdout
    for shell in ("bash", "zsh"):
        assert home.run("env", "-p", "x", "--format", shell).stdout == sh
    assert home.run("env", "-p", "x", "--format", "pwsh").stdout.startswith("$Env:")


def test_what_a_first_run_remembers_stays_out_of_the_sdks_stderr(home):
    home.config.write_text("[profile tf]\ncredential_process = terraform-session-token credential-process -p tf\n")
    result = home.run("credential-process", "-p", "tf", "--role", "TerraformRole", "--code", home.code())
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", "Terraform shows this stream in the middle of its init output"
    assert "session_role_arn" in home.config.read_text(), "remembered all the same"
    # With a prompt on the terminal, it is said there, once, after the code.
    code, screen = _at_terminal(
        home,
        ["credential-process", "-p", "n2", "--role", "TerraformRole"],
        [(b"): ", home.code().encode() + b"\r")],
    )
    assert code == 0, screen
    assert screen.count("terraform-session-token: remembered in [profile n2]") == 1


def test_completion_offers_no_source_profile_for_p(home):
    home.config.write_text("[profile staging]\nregion = us-east-1\n")
    sessions = home.run("completion", "--list-profiles", "sessions").stdout.split()
    assert sessions == ["staging"], "default holds the long-term keys: -p default is refused"
    assert {"default", "staging"} <= set(home.run("completion", "--list-profiles").stdout.split())
