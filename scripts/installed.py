"""Whether .venv already holds what scripts/setup would install, so that a run with nothing new
installs nothing. Run by the venv's Python:

    installed.py check EXTRA     prints `ok`, `source` (the package's source changed: reinstall it
                                 alone) or `packages` (the pins, pyproject.toml, the extra or an
                                 installed version differ: install everything)
    installed.py record [EXTRA]  after an install of EXTRA (none: of the package alone): remember it

EXTRA is `dev` (tests, lint, benchmarks; it includes `demo`) or `demo`. What was installed is kept
in .venv/setup-state.json: the extra, a hash of what decides the packages (pyproject.toml,
constraints.txt, the Python) and a hash of the package's source (src/, setup.py,
pyproject.toml, README.md, LICENSE, MANIFEST.in). The test run checks the installed files against src/ itself too.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATE = Path(sys.prefix) / "setup-state.json"
COVERS = {"dev": {"dev", "demo"}, "demo": {"demo"}}  # what an install of each extra provides


def _digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def packages_hash(extra: str) -> str:
    files = [ROOT / "pyproject.toml", ROOT / "constraints.txt"]
    return _digest(files) + f"-{extra}-{sys.version_info[0]}.{sys.version_info[1]}"


def source_hash() -> str:
    files = [path for path in sorted((ROOT / "src").rglob("*")) if path.is_file() and "__pycache__" not in path.parts]
    return _digest(
        files + [ROOT / name for name in ("setup.py", "pyproject.toml", "README.md", "LICENSE", "MANIFEST.in")]
    )


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def off_pin() -> list[str]:
    """Installed distributions whose version is not the pinned one (installed by hand since)."""
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pins[_normal(name)] = version.strip()
    return [
        f"{dist.metadata['Name']} {dist.version}"
        for dist in metadata.distributions()
        if pins.get(_normal(dist.metadata["Name"] or ""), dist.version) != dist.version
    ]


def check(extra: str) -> str:
    try:
        state = json.loads(STATE.read_text())
    except (OSError, ValueError):
        return "packages"
    if extra not in COVERS.get(state.get("extra"), ()):
        return "packages"
    if state.get("packages") != packages_hash(state["extra"]) or off_pin():
        return "packages"
    return "ok" if state.get("source") == source_hash() else "source"


def record(extra: str | None) -> None:
    """After an install of `extra` (None: of the package alone, for the extra installed before)."""
    if extra is None:
        state = json.loads(STATE.read_text())
        state["source"] = source_hash()
    else:
        state = {"extra": extra, "packages": packages_hash(extra), "source": source_hash()}
    STATE.write_text(json.dumps(state))


if __name__ == "__main__":
    command, extra = sys.argv[1], (sys.argv[2:] or [None])[0]
    if command == "check":
        print(check(extra))
    else:
        record(extra)
