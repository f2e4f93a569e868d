"""A command line argparse refuses: each mistake named, with the option meant or the place it belongs."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import TOOL, assert_one_line_failure

CASES = [
    (["--profle", "prod"], "unknown option --profle (did you mean --profile?)"),
    (["--timeout", "5", "credential-process"],
     "--timeout is an option of credential-process: it goes after the command "
     "(terraform-session-token credential-process --timeout 5)"),
    (["--timeout", "5"], "--timeout is an option of credential-process: it goes after the command"),
    (["status", "-d", "900"], "-d does not apply to status (see: terraform-session-token status --help)"),
    (["-d", "900", "status"], "-d does not apply to status (see: terraform-session-token status --help)"),
    (["configure", "--code", "123456"], "configure can't store --code: a code is good once"),
    (["configure", "--force", "-v"], "configure can't store --force; -v/--no-verify-ssl: give the CA"),
    (["status", "--timeout", "3"], "--timeout is an option of credential-process, not of status"),
    (["status", "--jsn"], "unknown option --jsn for status (did you mean --json?)"),
    (["keys", "import", "--source-profle", "x"], "unknown option --source-profle for keys import (did you mean"),
    (["stauts"], "unknown command 'stauts' (did you mean status?)"),
    (["--no-such-flag"], "unknown option --no-such-flag (see: terraform-session-token --help)"),
    (["exec", "--profle", "x", "--", "true"], "unknown option --profle for exec (did you mean --profile?)"),
]  # fmt: skip


@pytest.mark.parametrize("argv,line", CASES, ids=[" ".join(argv) for argv, _ in CASES])
def test_a_mistake_is_named_with_what_was_meant(home, argv, line):
    result = home.run(*argv)
    assert_one_line_failure(result, 2, line)
    assert "invalid choice" not in result.stderr and "unrecognized arguments" not in result.stderr


def test_a_profile_name_given_as_a_command_is_pointed_at_p(home):
    home.config.write_text("[profile staging]\nregion = us-east-1\n")
    assert_one_line_failure(home.run("staging"), 2, "unknown command 'staging' (for the profile [staging], give -p")


def test_the_command_of_exec_keeps_its_own_options(home):
    result = home.run("exec", "--", "sh", "-c", "exit 3", "--profle")
    assert "unknown option" not in result.stderr


def test_a_run_that_parses_never_loads_the_explanations(home):
    for argv in (["--help"], ["status"]):
        result = subprocess.run(
            [sys.executable, "-X", "importtime", TOOL, *argv], capture_output=True, text=True, env=home.env
        )
        assert result.returncode == 0, result.stderr
        loaded = {line.split("|")[-1].strip() for line in result.stderr.splitlines()}
        assert "difflib" not in loaded and "terraform_session_token.mistakes" not in loaded, argv
