"""Hostile: FIFOs, device nodes, link loops, full disks, bind-mounted and read-only files."""

from __future__ import annotations

import os
import stat
import subprocess

import pytest
from conftest import TOOL, assert_one_line_failure

from terraform_session_token import inifile


def code_args(home):
    return ("--role", "TerraformRole", "--serial", home.identity.serial, "--code", home.code())


@pytest.mark.parametrize("which", ["credentials", "config"])
@pytest.mark.parametrize("command", [("status",), ("credential-process", "-p", "x"), ()])
def test_a_fifo_in_place_of_a_file_is_refused_not_waited_on(home, which, command):
    path = home.credentials if which == "credentials" else home.config
    path.unlink(missing_ok=True)
    os.mkfifo(path)
    args = command if command else ("--role", "TerraformRole", "--code", "123456")
    result = home.run(*args, timeout=20)
    assert_one_line_failure(result, 3, "is a FIFO, not a file")
    assert stat.S_ISFIFO(path.stat().st_mode), "never replaced"


@pytest.fixture
def null_device(tmp_path):
    """A null device node of our own (c 1 3): a bug here must not replace the system's /dev/null."""
    node = tmp_path / "null"
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    return node


def test_a_null_device_as_config_reads_as_empty_and_is_never_replaced(home, null_device, local_aws):
    result = home.run(*code_args(home), env={"AWS_CONFIG_FILE": str(null_device)})
    assert result.returncode == 0, result.stderr
    assert "not remembered in the config file" in result.stderr and "never replaced" in result.stderr
    assert stat.S_ISCHR(null_device.stat().st_mode)
    configure = home.run("configure", "-p", "cp", "--role", "TerraformRole", env={"AWS_CONFIG_FILE": str(null_device)})
    assert_one_line_failure(configure, 4, "is a device; it is never replaced")
    assert stat.S_ISCHR(null_device.stat().st_mode)


def test_another_device_is_refused(home, tmp_path):
    zero = tmp_path / "zero"
    os.mknod(zero, 0o666 | stat.S_IFCHR, os.makedev(1, 5))
    result = home.run("status", env={"AWS_SHARED_CREDENTIALS_FILE": str(zero)}, timeout=20)
    assert_one_line_failure(result, 3, "is a device, not a file")


def test_a_loop_of_symbolic_links_is_one_line(home, tmp_path):
    loop_a, loop_b = tmp_path / "a", tmp_path / "b"
    loop_a.symlink_to(loop_b)
    loop_b.symlink_to(loop_a)
    for args in (("status",), ("--role", "TerraformRole", "--code", "123456")):
        result = home.run(*args, env={"AWS_SHARED_CREDENTIALS_FILE": str(loop_a)})
        assert_one_line_failure(result, 3, "loop of symbolic links")


@pytest.fixture
def small_disk(tmp_path):
    """A 64 KiB tmpfs, unmounted after the test."""
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=700", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_leaves_the_file_untouched_and_says_so(home, small_disk):
    credentials = small_disk / "credentials"
    credentials.write_bytes(home.credentials.read_bytes())
    credentials.chmod(0o600)
    filler = small_disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while os.write(fd, b"\0" * 512):
            pass
    except OSError:
        pass  # full
    finally:
        os.close(fd)
    before = credentials.read_bytes()
    result = home.run(*code_args(home), env={"AWS_SHARED_CREDENTIALS_FILE": str(credentials)})
    assert_one_line_failure(result, 4, "No space left on device", "left untouched")
    assert credentials.read_bytes() == before
    assert sorted(p.name for p in small_disk.iterdir()) == ["credentials", "filler"], "no temporary left"


@pytest.fixture
def bind_mounted(home, tmp_path):
    """~/.aws/credentials as a single-file bind mount of another file (docker -v file:file)."""
    source = tmp_path / "host-credentials"
    source.write_bytes(home.credentials.read_bytes())
    source.chmod(0o600)
    subprocess.run(["mount", "--bind", str(source), str(home.credentials)], check=True)
    yield source
    subprocess.run(["umount", str(home.credentials)], check=True)


def test_a_bind_mounted_credentials_file_is_updated_in_place(home, bind_mounted):
    before = bind_mounted.read_text()
    result = home.run(*code_args(home))
    assert result.returncode == 0, result.stderr
    after = bind_mounted.read_text()
    assert after.startswith(before), "every byte of the user's part kept"
    assert inifile.parse(after)["terraform_session"]["aws_access_key_id"].startswith("ASIA")
    assert home.credentials.read_text() == after, "the mount still shows the host's file"
    assert [p.name for p in home.credentials.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_a_read_only_file_mount_is_refused_before_the_code_is_spent(home, bind_mounted, local_aws):
    subprocess.run(["mount", "-o", "remount,bind,ro", str(home.credentials)], check=True)
    before = bind_mounted.read_bytes()
    local_aws.reset_requests()
    result = home.run(*code_args(home))
    assert_one_line_failure(result, 4, "read-only")
    assert local_aws.actions() == [], "no code spent"
    assert bind_mounted.read_bytes() == before


def test_under_umask_002_the_directories_the_tool_creates_are_private_and_its_cache_works(home, local_aws):
    """A shared-group umask (002, common on multi-user hosts) set in the child, no ~/.cache yet:
    every directory the tool creates is 0700, so the next cached command can use it."""
    counter = home.root / "codes"
    assert not (home.root / ".cache").exists()
    configured = home.run(
        "configure", "-p", "tf", "--role", "TerraformRole", "--serial", home.identity.serial,
        "--mfa-process", home.mfa_process(counter),
    )  # fmt: skip
    assert configured.returncode == 0, configured.stderr
    umask = ["sh", "-c", 'umask 002 && exec "$@"', "sh", TOOL]
    runs = []
    for _ in range(2):
        runs.append(subprocess.run([*umask, "credential-process", "-p", "tf"], env=home.env, capture_output=True,
                                   text=True, timeout=60, stdin=subprocess.DEVNULL))  # fmt: skip
        assert runs[-1].returncode == 0, runs[-1].stderr
    assert runs[0].stdout == runs[1].stdout, "the second run is served from the cache"
    assert home.codes_asked(counter) == 1
    for directory in (home.root / ".cache", home.cache):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
