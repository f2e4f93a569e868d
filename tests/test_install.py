"""The package installs as users install it: pip into a fresh venv, and pipx."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def check_installed(command: Path) -> None:
    result = subprocess.run([str(command), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: terraform-session-token [-h] [-d 3600] [-p terraform_session] [-v]")
    policy = subprocess.run([str(command), "policy", "--format", "hcl"], capture_output=True, text=True, timeout=60)
    assert 'resource "aws_iam_role"' in policy.stdout


def test_pip_install_into_a_fresh_venv(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(REPO)],
        check=True,
        timeout=600,
        capture_output=True,
    )
    check_installed(venv / "bin" / "terraform-session-token")
    module = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "terraform_session_token", "--version"], capture_output=True, text=True
    )
    assert module.stdout.startswith("terraform-session-token ")


def test_pipx_install(tmp_path):
    env = {
        **os.environ,
        "PIPX_HOME": str(tmp_path / "pipx"),
        "PIPX_BIN_DIR": str(tmp_path / "bin"),
        "PIPX_MAN_DIR": str(tmp_path / "man"),
    }
    result = subprocess.run(
        [str(BIN / "pipx"), "install", str(REPO)], env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr
    check_installed(tmp_path / "bin" / "terraform-session-token")
