"""Hostile: a cache directory or file that another local user controls is never trusted."""

from __future__ import annotations

import json
import os

import pytest
from conftest import assert_one_line_failure

OTHER_UID = 65534  # nobody


def cached_session_run(home, profile="x", env=None):
    return home.run("credential-process", "-p", profile, "--role", "TerraformRole", "--code", home.code(), env=env)


def fake_cache_document() -> str:
    return json.dumps(
        {
            "Version": 1,
            "AccessKeyId": "ASIAFAKEFAKEFAKEFAKE",
            "SecretAccessKey": "attacker",
            "SessionToken": "attacker",
            "Expiration": "2099-01-01T00:00:00Z",
        }
    )


@pytest.fixture
def shared(tmp_path):
    """A world-writable sticky directory, as /tmp is, used as XDG_CACHE_HOME."""
    path = tmp_path / "shared"
    path.mkdir()
    path.chmod(0o1777)
    return path


def test_a_cache_directory_owned_by_another_user_is_refused(home, shared):
    planted = shared / "terraform-session-token"
    planted.mkdir(mode=0o700)
    (planted / "x.json").write_text(fake_cache_document())
    os.chown(planted, OTHER_UID, OTHER_UID)
    result = home.run("credential-process", "-p", "x", env={"XDG_CACHE_HOME": str(shared)})
    assert_one_line_failure(result, 4, "owned by uid 65534")
    assert result.stdout == "" and "ASIAFAKE" not in result.stderr


@pytest.mark.parametrize("mode", [0o777, 0o755, 0o770])
def test_a_cache_directory_others_can_use_is_refused(home, shared, mode):
    planted = shared / "terraform-session-token"
    planted.mkdir()
    planted.chmod(mode)
    result = cached_session_run(home, env={"XDG_CACHE_HOME": str(shared)})
    assert_one_line_failure(result, 4, f"mode {mode:o}")
    assert list(planted.iterdir()) == [], "nothing written there"


def test_a_symlinked_cache_directory_is_refused(home, tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o700)
    home.cache.parent.mkdir(parents=True, exist_ok=True)
    home.cache.symlink_to(target)
    result = cached_session_run(home)
    assert_one_line_failure(result, 4, "symbolic link")
    assert list(target.iterdir()) == []


def test_a_parent_others_can_write_without_sticky_bit_is_refused(home, tmp_path):
    parent = tmp_path / "open"
    parent.mkdir()
    parent.chmod(0o777)
    result = cached_session_run(home, env={"TERRAFORM_SESSION_TOKEN_CACHE": str(parent / "cache")})
    assert_one_line_failure(result, 4, "swap it")


def test_a_private_directory_in_a_sticky_shared_parent_is_used(home, shared):
    result = cached_session_run(home, env={"XDG_CACHE_HOME": str(shared)})
    assert result.returncode == 0, result.stderr
    cache = shared / "terraform-session-token"
    assert oct(cache.stat().st_mode & 0o777) == "0o700" and cache.stat().st_uid == os.geteuid()


def test_a_cache_file_written_by_another_user_is_not_served(home):
    assert cached_session_run(home).returncode == 0
    path = home.cache / "x.json"
    path.write_text(fake_cache_document())
    os.chown(path, OTHER_UID, OTHER_UID)
    result = home.run("credential-process", "-p", "x")
    assert_one_line_failure(result, 4, "owned by uid 65534")
    assert result.stdout == ""


def test_a_cache_file_readable_by_others_is_not_served(home):
    assert cached_session_run(home).returncode == 0
    (home.cache / "x.json").chmod(0o644)
    assert_one_line_failure(home.run("credential-process", "-p", "x"), 4, "mode 644")


def test_a_symlinked_cache_file_is_not_followed(home, tmp_path):
    assert cached_session_run(home).returncode == 0
    elsewhere = tmp_path / "planted.json"
    elsewhere.write_text(fake_cache_document())
    elsewhere.chmod(0o600)
    (home.cache / "x.json").unlink()
    (home.cache / "x.json").symlink_to(elsewhere)
    result = home.run("credential-process", "-p", "x")
    assert_one_line_failure(result, 4, "symbolic link")
    assert elsewhere.read_text() == fake_cache_document()


def test_a_lock_file_held_by_another_user_is_refused_not_waited_on(home):
    home.cache.mkdir(parents=True, mode=0o700)
    lock = home.cache / "x.lock"
    lock.touch(mode=0o600)
    os.chown(lock, OTHER_UID, OTHER_UID)
    result = cached_session_run(home)
    assert_one_line_failure(result, 4, "x.lock", "owned by uid 65534")


@pytest.mark.parametrize("profile", ["../../x", "team/prod", "..", ".hidden", "a:b/../c"])
def test_profile_names_never_escape_the_cache_directory(home, tmp_path, profile):
    before = {p for p in tmp_path.rglob("*")}
    result = cached_session_run(home, profile)
    assert result.returncode == 0, result.stderr
    created = {p for p in tmp_path.rglob("*")} - before - {home.config, home.cache.parent}
    assert created and all(p == home.cache or home.cache in p.parents for p in created), created
    assert all(p.parent == home.cache and not p.name.startswith(".") for p in created if p.is_file())
    listed = home.run("status", "--json").stdout
    assert any(row["profile"] == profile for row in json.loads(listed))
    again = home.run("credential-process", "-p", profile)
    assert again.returncode == 0 and json.loads(again.stdout) == json.loads(result.stdout)
