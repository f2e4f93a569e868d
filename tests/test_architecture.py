"""The architecture the file names promise, checked on the source: one package talks to AWS, and
imports between the core and its drivers run one way."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "terraform_session_token"


def imported(path: Path) -> set[str]:
    """Every module a file imports, anywhere in it (lazy imports included), as absolute names."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module
            names.add(prefix)
            names.update(f"{prefix}.{alias.name}" for alias in node.names)
    return names


def sources(under: str = "") -> list[Path]:
    return sorted((PACKAGE / under).rglob("*.py"))


def test_only_the_aws_package_imports_botocore():
    outside = [
        str(path.relative_to(PACKAGE))
        for path in sources()
        if "aws" not in path.relative_to(PACKAGE).parts[:1]
        and any(name == "botocore" or name.startswith("botocore.") for name in imported(path))
    ]
    assert outside == []


def test_prompt_drivers_never_import_the_code_sources_that_call_them():
    for path in sources("prompts"):
        assert "terraform_session_token.mfa" not in imported(path), path.name


def test_one_class_per_aws_service():
    import re

    for service in ("sts", "iam"):
        text = (PACKAGE / "aws" / f"{service}.py").read_text()
        assert len(re.findall(r"^class ", text, re.M)) == 1, service
