"""A release as it is made (docs/development.md, Releasing): `python -m build` in a fresh clone
makes an sdist and one wheel for every system, twine accepts both, and the version is the one
of the newest CHANGELOG release."""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from conftest import fresh_clone

from terraform_session_token import __version__

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
REPOSITORY = "https://github.com/johnbrandborg/terraform-session-token"


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    clone = fresh_clone(tmp_path_factory.mktemp("clone"))
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(clone)], capture_output=True, text=True, timeout=600
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    return out


def metadata(wheel: Path) -> tuple[dict, str]:
    """The wheel's METADATA: its headers (lists for the repeated ones) and the long description."""
    with zipfile.ZipFile(wheel) as archive:
        [name] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        message = Parser().parsestr(archive.read(name).decode())
    headers: dict[str, list[str]] = {}
    for key, value in message.items():
        headers.setdefault(key, []).append(value)
    return headers, message.get_payload()


def test_build_makes_an_sdist_and_one_wheel_for_every_system_that_twine_accepts(dist):
    names = sorted(p.name for p in dist.iterdir())
    assert names == [
        f"terraform_session_token-{__version__}-py3-none-any.whl",
        f"terraform_session_token-{__version__}.tar.gz",
    ]
    check = subprocess.run(
        [str(BIN / "twine"), "check", "--strict", *map(str, sorted(dist.iterdir()))], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count("PASSED") == 2, check.stdout


def test_the_wheel_declares_the_command_as_an_entry_point_and_nothing_per_system(dist):
    [wheel] = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        assert archive.read(entry_points).decode().split() == [
            "[console_scripts]",
            "terraform-session-token",
            "=",
            "terraform_session_token.fastpath:main",
        ]
        assert not [n for n in names if ".data/" in n], "no script file installed as it is (POSIX-only)"
        [license_file] = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        assert archive.read(license_file).decode().startswith("MIT License")


def test_the_metadata_is_complete(dist):
    [wheel] = dist.glob("*.whl")
    headers, _ = metadata(wheel)
    assert headers["Name"] == ["terraform-session-token"] and headers["Version"] == [__version__]
    assert headers["License-Expression"] == ["MIT"]
    assert headers["Requires-Python"] == [">=3.9"]
    assert headers["Description-Content-Type"] == ["text/markdown"]
    urls = dict(u.split(", ", 1) for u in headers["Project-URL"])
    assert urls["Homepage"] == REPOSITORY and set(urls) >= {"Documentation", "Changelog", "Issues"}
    classifiers = set(headers["Classifier"])
    for system in ("MacOS", "Microsoft :: Windows", "POSIX :: Linux"):
        assert f"Operating System :: {system}" in classifiers
    python = re.compile(r"Programming Language :: Python :: (3\.\d+)$")
    versions = {m.group(1) for m in map(python.match, classifiers) if m}
    assert "3.9" in versions and "3.11" in versions and "3.13" in versions
    assert {"completion", "keyring", "login"} <= set(headers["Provides-Extra"])
    assert any(r.startswith("botocore>=") and "extra" not in r for r in headers["Requires-Dist"])


def test_the_long_description_is_the_readme_with_links_to_the_release_s_files(dist):
    """On PyPI a relative link leads nowhere: each link to a file of the repository points to that
    file at the release's tag, and the file exists; links to the README's own headings stay."""
    [wheel] = dist.glob("*.whl")
    _, description = metadata(wheel)
    readme = (ROOT / "README.md").read_text()
    assert description.splitlines()[:3] == readme.splitlines()[:3]
    targets = re.findall(r"\]\(([^)\s]+)\)", description)
    assert len(targets) == len(re.findall(r"\]\(([^)\s]+)\)", readme))
    at_tag = f"{REPOSITORY}/blob/v{__version__}/"
    files = [t[len(at_tag) :] for t in targets if t.startswith(at_tag)]
    assert "docs/development.md" in files and "CHANGELOG.md" in files
    for target in targets:
        assert re.match(r"https?://|#", target), f"a relative link on PyPI: {target}"
    for path in files:
        assert (ROOT / path.partition("#")[0]).is_file(), path


def test_the_sdist_holds_the_source_and_what_the_readme_links_to(dist):
    [sdist] = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
    assert {"LICENSE", "README.md", "CHANGELOG.md", "docs/development.md", "setup.py", "pyproject.toml"} <= names
    assert "src/terraform_session_token/fastpath.py" in names
    assert not [n for n in names if n.startswith(("tests/", "bin/", ".venv"))]


def newest_release(changelog: str) -> str:
    """The version of the first `## [X.Y.Z]` heading ([Unreleased] is not a release)."""
    return re.search(r"^## \[(\d+\.\d+\.\d+)\]", changelog, re.M).group(1)


def test_the_version_is_the_newest_changelog_release():
    assert newest_release((ROOT / "CHANGELOG.md").read_text()) == __version__
    assert newest_release("## [Unreleased]\n\n## [2.1.0] - 2027-01-01\n\n## [2.0.0] - 2026-12-03\n") == "2.1.0"


def test_what_lands_is_released():
    """What main holds is a release: [Unreleased] lists nothing (each landing moves its entries
    under the new version, which --version then prints)."""
    text = (ROOT / "CHANGELOG.md").read_text()
    unreleased = text.split("## [Unreleased]", 1)[1].split("\n## [", 1)[0]
    assert unreleased.strip() == ""
