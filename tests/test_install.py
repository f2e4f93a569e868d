"""The package installs as users install it: the wheel built from the tree, by pip into a fresh
venv and by pipx; the command is the launcher the installer makes of the entry point, and
`configure` writes that command into credential_process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from terraform_session_token import __version__
from terraform_session_token.inifile import parse

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(REPO / "scripts"))
import build_wheel  # noqa: E402  (scripts/build_wheel.py)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return build_wheel.build(tmp_path_factory.mktemp("wheel"))


def check_installed(command: Path) -> None:
    result = subprocess.run([str(command), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: terraform-session-token [-h] [-d 3600] [-p terraform_session] [-v]")
    policy = subprocess.run([str(command), "policy", "--format", "hcl"], capture_output=True, text=True, timeout=60)
    assert 'resource "aws_iam_role"' in policy.stdout


def configured_command(argv: list[str], home: Path) -> str:
    """`configure -p tf` in an empty HOME: the command its credential_process line runs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TERRAFORM_SESSION_TOKEN_"))}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"))
    result = subprocess.run(
        [*argv, "configure", "-p", "tf", "--role", "arn:aws:iam::123456789012:role/TerraformRole",
         "--serial", "arn:aws:iam::123456789012:mfa/alice", "--region", "us-east-1"],
        capture_output=True, text=True, env=env, cwd=home, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    line = parse((home / ".aws" / "config").read_text())["profile tf"]["credential_process"]
    command, _, rest = line.partition(" ")
    assert rest == "credential-process -p tf", line
    return command


def test_pip_install_into_a_fresh_venv(tmp_path, wheel):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
        check=True,
        timeout=600,
        capture_output=True,
    )
    command = venv / "bin" / "terraform-session-token"
    check_installed(command)
    assert "terraform_session_token.fastpath import main" in command.read_text(), "the entry point's launcher"
    module = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "terraform_session_token", "--version"], capture_output=True, text=True
    )
    assert module.stdout == f"terraform-session-token {__version__}\n"
    # configure names the installed command, run through it or as python -m (which starts no hot path).
    (tmp_path / "home").mkdir()
    assert configured_command([str(command)], tmp_path / "home") == str(command)
    python_m = [str(venv / "bin" / "python"), "-m", "terraform_session_token"]
    assert configured_command(python_m, tmp_path / "home") == str(command)


def test_pipx_install(tmp_path, wheel):
    env = {
        **os.environ,
        "PIPX_HOME": str(tmp_path / "pipx"),
        "PIPX_BIN_DIR": str(tmp_path / "bin"),
        "PIPX_MAN_DIR": str(tmp_path / "man"),
    }
    result = subprocess.run(
        [str(BIN / "pipx"), "install", str(wheel)], env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr
    command = tmp_path / "bin" / "terraform-session-token"
    check_installed(command)
    # pipx installs with the newest pip, whose launcher does not import re before the hot path.
    launcher = command.resolve().read_text()
    assert "terraform_session_token.fastpath import main" in launcher
    assert "import re" not in launcher.splitlines()
    # The line names the command on PATH (pipx's link), which outlives a reinstall of the venv.
    (tmp_path / "home").mkdir()
    assert configured_command([str(command)], tmp_path / "home") == str(command)
