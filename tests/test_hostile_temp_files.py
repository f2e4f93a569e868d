"""Hostile: temporary files of killed writers are removed, and only the tool's own."""

from __future__ import annotations

import os


def test_a_killed_cache_writers_temporary_is_removed_by_the_next_write_and_by_clear(home):
    assert home.run("credential-process", "-p", "x", "--role", "TerraformRole", "--code", home.code()).returncode == 0
    leftover = home.cache / ".x.json.terraform-session-token-abc123.tmp"
    other = home.cache / ".y.json.terraform-session-token-def456.tmp"
    for path in (leftover, other):
        path.write_text('{"SecretAccessKey": "left behind"}')
        path.chmod(0o600)
    assert home.run("credential-process", "-p", "x", "--force", "--code", home.code()).returncode == 0
    assert not leftover.exists() and other.exists(), "the next write of x removed x's leftover only"
    result = home.run("clear", "--all")
    assert result.returncode == 0 and not other.exists()
    assert "temporary file" in result.stdout


def test_the_sweep_in_dot_aws_spares_the_users_own_tmp_files(home):
    aws = home.credentials.parent
    users = aws / ".credentials.backup.tmp"
    users.write_text("mine")
    ours = aws / ".credentials.terraform-session-token-zz9.tmp"
    ours.write_text("left by a killed writer")
    os.chmod(ours, 0o600)
    assert home.run("--role", "TerraformRole", "--code", home.code()).returncode == 0
    assert users.read_text() == "mine" and not ours.exists()


def test_clear_all_removes_the_login_lock_files_of_2_1_and_no_one_elses(home):
    """2.1.0 locked an aws login refresh with a `login--NAME.lock` file in the cache (now the
    login cache's own directory is locked): clear --all takes those back, and leaves a lock
    file of a name the tool never made."""
    assert home.run("credential-process", "-p", "x", "--role", "TerraformRole", "--code", home.code()).returncode == 0
    old = home.cache / "login--work.lock"
    someone_elses = home.cache / "login.lock"
    for path in (old, someone_elses):
        path.write_text("")
        path.chmod(0o600)
    result = home.run("clear", "--all")
    assert result.returncode == 0, result.stderr
    assert not old.exists() and someone_elses.exists()
    assert "lock and temporary file" in result.stdout
