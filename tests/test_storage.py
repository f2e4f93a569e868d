"""Safe writes: atomic under SIGKILL, serialised under concurrency, private, symlinks kept."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile

import pytest

from terraform_session_token import inifile, storage
from terraform_session_token.errors import ConfigError

WRITER = """
import sys
from terraform_session_token import inifile, storage
path, name = sys.argv[1], sys.argv[2]
storage.update_file(path, lambda t: inifile.set_section(t, name, {"aws_access_key_id": "K" + name}))
"""

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")

CRASHER = """
import sys
from terraform_session_token import storage
path, old, new = sys.argv[1], sys.argv[2], sys.argv[3]
n = 0
while True:
    storage.update_file(path, lambda t: new if t == old else old)
    n += 1
    if n == 1:
        print("started", flush=True)
"""


def test_new_file_is_private_and_directory_too(tmp_path):
    path = tmp_path / "new" / ".aws" / "credentials"
    storage.update_file(str(path), lambda t: "[s]\na = 1\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_text() == "[s]\na = 1\n"


def test_existing_file_keeps_its_mode(tmp_path):
    path = tmp_path / "credentials"
    path.write_text("[a]\nx = 1\n")
    path.chmod(0o640)
    storage.update_file(str(path), lambda t: t + "[b]\ny = 2\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert not [p for p in os.listdir(tmp_path) if p != "credentials"], "no backup or temp file left"


def test_symlink_is_updated_at_its_target(tmp_path):
    target = tmp_path / "real" / "credentials"
    target.parent.mkdir()
    target.write_text("[a]\nx = 1\n")
    link = tmp_path / "credentials"
    link.symlink_to(target)
    storage.update_file(str(link), lambda t: t + "[b]\ny = 2\n")
    assert link.is_symlink()
    assert target.read_text() == "[a]\nx = 1\n[b]\ny = 2\n"


def test_unreadable_and_non_utf8_files_are_reported(tmp_path):
    path = tmp_path / "credentials"
    path.write_bytes(b"[a]\nx = \xff\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        storage.read_text(str(path))
    with pytest.raises(ConfigError, match="directory"):
        storage.read_text(str(tmp_path))


def test_32_concurrent_writers_lose_no_update(tmp_path):
    path = tmp_path / "credentials"
    path.write_text("# shared\n[default]\nregion = us-east-1\n")
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), f"p{n}"], stderr=subprocess.PIPE) for n in range(32)
    ]
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read()
    parsed = inifile.parse(path.read_text())
    assert {f"p{n}" for n in range(32)} <= set(parsed)
    assert all(parsed[f"p{n}"]["aws_access_key_id"] == f"Kp{n}" for n in range(32))
    assert path.read_text().startswith("# shared\n[default]\nregion = us-east-1\n")


def test_sigkill_at_any_point_leaves_old_or_new_content(tmp_path):
    old = "# mine\n[default]\naws_access_key_id = A\n" + "; padding\n" * 2000
    new = old + "[terraform_session]\naws_access_key_id = B\n"
    path = tmp_path / "credentials"
    path.write_text(old)
    path.chmod(0o600)
    for run in range(100):
        proc = subprocess.Popen([sys.executable, "-c", CRASHER, str(path), old, new], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline() == "started\n"  # at least one whole write happened
        # Let it run a varying number of further writes, then kill it wherever it is.
        for _ in range(run % 7):
            os.sched_yield()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        content = path.read_text()
        assert content in (old, new), f"torn file after run {run}"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        inifile.parse(content)
        for leftover in os.listdir(tmp_path):
            mode = stat.S_IMODE((tmp_path / leftover).stat().st_mode)
            assert mode & 0o077 == 0, f"{leftover} is readable by others"
    storage.update_file(str(path), lambda t: t)
    assert os.listdir(tmp_path) == ["credentials"], "the next write removes what killed writers left"


READ_ONLY_WRITER = """
import sys
from terraform_session_token import storage
from terraform_session_token.errors import UnsafeWriteError
try:
    storage.update_file(sys.argv[1], lambda t: t + "[b]\\n")
except UnsafeWriteError as e:
    print(e.line())
    sys.exit(4)
"""

UNREADABLE_READER = """
import sys
from terraform_session_token import storage
from terraform_session_token.errors import ConfigError
try:
    storage.read_text(sys.argv[1])
except ConfigError as e:
    print(e.line())
    sys.exit(3)
"""


def _others_can_reach(path: str) -> bool:
    while path != "/":
        if not os.stat(path).st_mode & 0o001:
            return False
        path = os.path.dirname(path)
    return True


def _as_nobody():
    os.setgid(65534)
    os.setuid(65534)


@pytest.fixture
def unprivileged():
    """Run a snippet as an unprivileged user (root ignores file permissions) on a file in a fresh dir.

    Yields (directory, credentials path, run); run(code, owner_is_user) returns the result.
    """
    base = tempfile.mkdtemp(dir="/tmp")
    os.chmod(base, 0o755)
    path = os.path.join(base, "credentials")
    with open(path, "w") as f:
        f.write("[a]\n")
    python = sys.executable
    if os.geteuid() == 0:
        python = "/usr/bin/python3"
        if not os.path.exists(python) or not _others_can_reach(SRC):
            shutil.rmtree(base)
            pytest.skip("as root this needs /usr/bin/python3 and a source tree others can read")

    def run(code: str, owned: bool):
        preexec = None
        if os.geteuid() == 0:
            preexec = _as_nobody
            if owned:
                os.chown(base, 65534, 65534)
                os.chown(path, 65534, 65534)
        return subprocess.run(
            [python, "-c", code, path],
            capture_output=True,
            text=True,
            preexec_fn=preexec,
            env={**os.environ, "PYTHONPATH": SRC},
        )

    yield base, path, run
    os.chmod(base, 0o755)
    shutil.rmtree(base)


def test_read_only_directory_is_refused_and_file_untouched(unprivileged):
    base, path, run = unprivileged
    os.chmod(base, 0o555)
    result = run(READ_ONLY_WRITER, owned=True)
    assert result.returncode == 4, result.stderr
    assert "can't write in" in result.stdout
    with open(path) as f:
        assert f.read() == "[a]\n"


def test_unreadable_file_is_reported(unprivileged):
    _, path, run = unprivileged
    os.chmod(path, 0o000)
    result = run(UNREADABLE_READER, owned=False)
    assert result.returncode == 3, result.stderr
    assert "permission denied" in result.stdout


def test_existing_file_keeps_its_owner(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("changing a file's owner needs root")
    path = tmp_path / "credentials"
    path.write_text("[a]\nx = 1\n")
    os.chown(path, 65534, 65534)
    storage.update_file(str(path), lambda t: t + "[b]\ny = 2\n")
    assert (path.stat().st_uid, path.stat().st_gid) == (65534, 65534)
