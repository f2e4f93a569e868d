"""Build the wheel of the tree as it is now, for the benchmark and the Windows run to install.

    .venv/bin/python scripts/build_wheel.py DIRECTORY     prints the path of the wheel it wrote there

Built in a copy of the files that make the package (a build in the tree leaves build/ behind,
whose stale files a later build would ship), by the venv's pinned setuptools without build
isolation: offline, in a few seconds. A release is built with `python -m build` instead
(docs/development.md, Releasing), which makes the same wheel in an isolated environment.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_FILES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE")


def build(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tst-wheel-") as work:
        tree = Path(work) / "tree"
        shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        for name in PACKAGE_FILES:
            shutil.copy2(ROOT / name, tree / name)
        out = Path(work) / "out"
        done = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "--no-deps",
             "--no-build-isolation", "-w", str(out), str(tree)],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"the wheel did not build: {done.stdout}{done.stderr}")
        [wheel] = out.glob("*.whl")
        target = directory / wheel.name
        shutil.copy2(wheel, target)
    return target


if __name__ == "__main__":
    print(build(Path(sys.argv[1])))
