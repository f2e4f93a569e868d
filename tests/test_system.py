"""The seam with the operating system: both sides offer the whole interface."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from terraform_session_token import system

SIDES = Path(system.__file__).parent


def defined_names(module: Path) -> set[str]:
    """Top-level functions and assigned names, read from the source (windows.py does not import here)."""
    names = set()
    for node in ast.parse(module.read_text()).body:
        if isinstance(node, ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                elements = target.elts if isinstance(target, ast.Tuple) else [target]
                names.update(e.id for e in elements if isinstance(e, ast.Name))
    return names


@pytest.mark.parametrize("side", ["posix.py", "windows.py"])
def test_each_side_defines_every_name_of_the_interface(side):
    assert set(system.INTERFACE) - defined_names(SIDES / side) == set()


def test_this_system_is_served_by_its_side():
    from terraform_session_token.system import posix

    assert system.NAME == "posix" and system.try_lock is posix.try_lock
