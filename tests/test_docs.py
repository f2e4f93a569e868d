"""The documentation can't drift from the tool: every link lands, every option and command is
described, and the README stays a front door a newcomer reads in minutes."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from terraform_session_token import cli

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    return {slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", text, re.M)}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_lands_on_a_file_and_heading(page):
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name} links to {target}, which does not exist"
        if anchor:
            assert anchor in anchors(linked), f"{page.name} links to {target}: no such heading"


def options_of(parser: argparse.ArgumentParser) -> set[str]:
    """Every long option a parser and its nested parsers show in their help."""
    found = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for nested in action.choices.values():
                if hasattr(nested, "populate"):
                    nested.populate()
                found |= options_of(nested)
        elif action.help != argparse.SUPPRESS:
            found.update(flag for flag in action.option_strings if flag.startswith("--"))
    return found


def test_every_option_of_every_command_is_in_the_reference():
    parser = cli.build_parser(complete=True)
    reference = "\n".join(p.read_text() for p in (ROOT / "docs").glob("*.md"))
    missing = set()
    for flag in options_of(parser):
        if flag not in ("--help",) and not re.search(
            rf"`[^`]*{re.escape(flag)}\b[^`]*`|^\s+{re.escape(flag)}\b", reference, re.M
        ):
            missing.add(flag)
    assert missing == set(), "options the docs never name"


def test_every_command_is_in_the_readme_and_the_reference():
    readme = (ROOT / "README.md").read_text()
    reference = (ROOT / "docs" / "commands.md").read_text()
    for command in cli.COMMANDS:
        assert f"`{command}" in readme, command
        assert f"`{command}" in reference, command


def test_the_readme_is_a_front_door():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 400
    for heading in ("## Quick start", "## Install", "## Where next"):
        assert heading in lines
