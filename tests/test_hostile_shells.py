"""Hostile: env's output is eval-safe in each shell, whatever the values, run in the real shells."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from conftest import assert_one_line_failure
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from terraform_session_token.commands.env import quote_powershell, render

HOSTILE = [
    "a'b",
    "trailing\\",
    "a\\'b",
    "$(touch PWNED)",
    "`touch PWNED`",
    "x';touch PWNED;'",
    "\\';touch PWNED;#",
    "\u2018;touch PWNED;\u2019",
    "%PATH%!event{a,b}*~",
    "line\nbreak;touch PWNED",
]
SHELLS = ["sh", "bash", "dash", "fish"]


def shell_available(shell: str) -> None:
    if shutil.which(shell) is None:
        if shell == "fish" and os.environ.get("CI"):
            pytest.fail("fish missing in CI: scripts/setup installs it")
        pytest.skip(f"{shell} is not installed")


def evaluate(shell: str, script: str, names: list[str], cwd) -> list[str]:
    """Source `script` in the real shell, print each variable between markers."""
    path = cwd / "env-script"
    path.write_text(script)
    show = "".join(f'printf "<%s>" "${name}"; ' for name in names)
    if shell == "fish":
        argv = ["fish", "--no-config", "-c", f"source {path}; {show}"]
    else:
        argv = [shell, "-c", f'. "{path}"; {show}']
    result = subprocess.run(argv, cwd=cwd, capture_output=True, timeout=30, env={"LANG": "C.UTF-8"})
    assert result.returncode == 0, result.stderr
    return result.stdout.decode()[1:-1].split("><")  # bytes: a \r must not become \n


@pytest.mark.parametrize("shell", SHELLS)
def test_hostile_values_come_out_unchanged_and_run_nothing(shell, tmp_path):
    shell_available(shell)
    env = {f"V{n}": value for n, value in enumerate(HOSTILE)}
    fmt = "fish" if shell == "fish" else "sh"
    assert evaluate(shell, render(env, fmt), list(env), tmp_path) == HOSTILE
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("shell", SHELLS)
def test_hostile_credentials_from_a_lying_sts_are_eval_safe(home, local_aws, tmp_path, shell):
    shell_available(shell)
    # Whatever AWS never sends (spaces, control characters) is refused; quotes and backslashes get through.
    secret, token = "s3cr3t\\'$(touch${IFS}PWNED)`touch${IFS}PWNED`\\", "tok';touch${IFS}PWNED;'\\"
    local_aws.rules.credential_override.update(SecretAccessKey=secret, SessionToken=token)
    try:
        result = home.run("env", "-p", "x", "--role", "TerraformRole", "--code", home.code())
    finally:
        local_aws.rules.credential_override.clear()
    assert result.returncode == 0, result.stderr
    fmt = "fish" if shell == "fish" else "sh"
    output = home.run("env", "-p", "x", "--format", fmt).stdout
    values = evaluate(shell, output, ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"], tmp_path)
    assert values == [secret, token]
    assert not (tmp_path / "PWNED").exists()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30))
@pytest.mark.parametrize("shell", ["dash", "fish"])
def test_any_value_survives_the_round_trip(shell, tmp_path, value):
    shell_available(shell)
    script = render({"V": value}, "fish" if shell == "fish" else "sh")
    assert evaluate(shell, script, ["V"], tmp_path) == [value]


def test_credentials_with_white_space_or_controls_are_not_aws_credentials(home, local_aws):
    before = home.credentials.read_bytes()
    for value in ("with space", "with\nnewline", "esc\x1b[2J"):
        local_aws.rules.credential_override.update(SecretAccessKey=value)
        try:
            result = home.run("--role", "TerraformRole", "--code", home.code())
        finally:
            local_aws.rules.credential_override.clear()
        assert_one_line_failure(result, 8)
        assert "not AWS's" in result.stderr or "not an AWS response" in result.stderr  # (XML can't carry ESC)
        assert home.credentials.read_bytes() == before


@pytest.mark.parametrize(
    ("where", "exit_code"),
    [("flag", 2), ("env", 2), ("config", 3)],
)
def test_a_hostile_region_is_refused_wherever_it_comes_from(home, where, exit_code):
    region = "x';touch PWNED;'"
    args, env = ["env", "-p", "x", "--role", "TerraformRole", "--code", "123456"], {}
    if where == "flag":
        args += ["--region", region]
    elif where == "env":
        env = {"AWS_REGION": region}
    else:
        home.config.write_text(f"[profile x]\nregion = {region}\n")
    result = home.run(*args, env=env)
    assert_one_line_failure(result, exit_code, "is not a region name")
    assert result.stdout == ""


def test_powershell_quoting_doubles_every_quote_it_knows():
    # PowerShell is not installable here; its rule (about_Quoting_Rules): inside '...' the
    # single quotes ' \u2018 \u2019 \u201a \u201b are escaped by doubling, nothing else is special.
    value = "a'b\u2018c\u2019d\u201ae\u201bf$(x)`n\\"
    assert quote_powershell(value) == "'a''b\u2018\u2018c\u2019\u2019d\u201a\u201ae\u201b\u201bf$(x)`n\\'"
