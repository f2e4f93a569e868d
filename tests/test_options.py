"""The one table of options: the parser, the merge and configure all follow it."""

from __future__ import annotations

import pytest
from conftest import assert_one_line_failure

from terraform_session_token import options, profiles
from terraform_session_token.cli import COMMANDS, build_parser

# One value per storable option: a new storable option needs one here, or the walk below fails.
SAMPLES = {
    "duration": "1800",
    "source_profile": "work",
    "role": "arn:aws:iam::123456789012:role/Deploy",
    "serial": "arn:aws:iam::123456789012:mfa/alice",
    "mfa_process": "ykman oath accounts code -s aws",
    "mfa_session": None,
    "mfa_session_duration": "7200",
    "session_name": "alice-terraform",
    "external_id": "ext-42",
    "region": "eu-west-2",
    "endpoint_url": "https://sts.eu-west-2.amazonaws.com",
    "ca_bundle": "/etc/ssl/corporate.pem",
    "margin": "120",
    "mfa_prompt": "zenity",
    "ykman_oath_account": "AWS:alice",
    "ykman_device": "12345678",
    "policy_arns": "arn:aws:iam::aws:policy/ReadOnlyAccess",
    "session_policy": '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}]}',
    "source_identity": "alice",
    "session_tags": "Team=platform",
    "transitive_tag_keys": "Team",
}
# An option whose value checks against another's: configure is given that one too.
WITH = {"transitive_tag_keys": ["--tag", "Team=platform"]}


def resolved(home, profile: str):
    """The settings the tool resolves for `profile` from the files alone (no flags, no endpoint variables)."""
    env = {
        "AWS_SHARED_CREDENTIALS_FILE": str(home.credentials),
        "AWS_CONFIG_FILE": str(home.config),
    }
    files = profiles.AwsFiles.load(env)
    args = build_parser().parse_args(["credential-process", "-p", profile])
    return profiles.resolve(args, files, env=env)


def test_every_storable_option_round_trips_through_configure(home):
    storable = [o for o in options.OPTIONS if o.store]
    assert {o.dest for o in storable} == set(SAMPLES)
    for option in storable:
        profile = f"rt-{option.dest.replace('_', '-')}"
        value = SAMPLES[option.dest]
        argv = [option.flags[-1]] if option.kind == "flag" else [option.flags[-1], value]
        result = home.run("configure", "-p", profile, *argv, *WITH.get(option.dest, []))
        assert result.returncode == 0, (option.dest, result.stderr)
        assert option.store in result.stdout
        expected = True if option.kind == "flag" else int(value) if option.kind == "int" else value
        expected = [value] if option.kind == "list" else expected
        assert getattr(resolved(home, profile), option.setting) == expected, option.dest


@pytest.mark.parametrize("option", [o for o in options.OPTIONS if o.refuse], ids=lambda o: o.dest)
def test_configure_refuses_what_it_cannot_store(home, option):
    argv = [option.flags[-1]] if option.kind == "flag" else [option.flags[-1], "123456"]
    result = home.run(*argv, "configure", "-p", "x")  # before the command name: the top level takes all
    assert_one_line_failure(result, 2, "configure can't store", option.refuse)
    assert not home.config.exists()


@pytest.mark.parametrize("command", options.SESSION_COMMANDS)
def test_each_command_offers_exactly_its_options(command):
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    sub.populate()
    offered = {flag for action in sub._actions for flag in action.option_strings}
    for option in options.OPTIONS:
        assert (option.flags[-1] in offered) == (command in option.commands), (command, option.dest)


def test_the_table_names_only_known_commands():
    for option in options.OPTIONS:
        assert option.commands <= set(COMMANDS), option.dest
        assert option.help and option.flags[-1].startswith("--")


@pytest.mark.parametrize(
    ("where", "code", "named"),
    [("flag", 2, "--prompt"), ("env", 2, "TERRAFORM_SESSION_TOKEN_PROMPT"), ("config", 3, "[profile p] of")],
)
def test_an_unknown_prompt_driver_is_refused_before_anything_else(home, local_aws, where, code, named):
    home.config.write_text("[profile p]\nrole_arn = arn:aws:iam::123456789012:role/TerraformRole\n")
    argv, env = ["credential-process", "-p", "p"], {}
    if where == "flag":
        argv += ["--prompt", "popup"]
    elif where == "env":
        env["TERRAFORM_SESSION_TOKEN_PROMPT"] = "popup"
    else:
        home.config.write_text(home.config.read_text() + "mfa_prompt = popup\n")
    local_aws.reset_requests()
    result = home.run(*argv, env=env)
    assert_one_line_failure(result, code, "unknown MFA prompt 'popup'", named, "zenity, kdialog, osascript, ykman")
    assert local_aws.actions() == []
