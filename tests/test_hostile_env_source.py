"""Hostile: source keys only in the environment work on every run, not only the first."""

from __future__ import annotations

from terraform_session_token import inifile


def test_environment_keys_as_source_work_again_and_again(home):
    home.credentials.unlink()
    env = {
        "AWS_ACCESS_KEY_ID": home.identity.access_key_id,
        "AWS_SECRET_ACCESS_KEY": home.identity.secret_access_key,
        "AWS_REGION": "us-east-1",
    }
    first = home.run("-p", "envsrc", "--role", "TerraformRole", "--code", home.code(), env=env)
    assert first.returncode == 0, first.stderr
    config = inifile.parse(home.config.read_text())["profile envsrc"]
    assert "session_source_profile" not in config, "no profile to remember: the keys came from the environment"
    for _ in range(2):
        again = home.run("-p", "envsrc", "--force", "--code", home.code(), env=env)
        assert again.returncode == 0, again.stderr
    credentials = home.credentials.read_text()
    assert home.identity.secret_access_key not in credentials
