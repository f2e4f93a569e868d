"""The long description PyPI shows: README.md, with each link to a file of the repository
(docs/*.md, CHANGELOG.md, LICENSE) made absolute, to that file at the release's tag v<version>.
On PyPI a relative link would lead nowhere; in-page links (#install) work there as they are.
Everything else is in pyproject.toml.
"""

import re
from pathlib import Path

from setuptools import setup

REPOSITORY = "https://github.com/johnbrandborg/terraform-session-token"  # as [project.urls] Homepage
HERE = Path(__file__).resolve().parent


def version() -> str:
    text = (HERE / "src" / "terraform_session_token" / "__init__.py").read_text(encoding="utf-8")
    return re.search(r'^__version__ = "([^"]+)"$', text, re.M).group(1)


def long_description(readme: str, tag: str) -> str:
    def absolute(match: re.Match) -> str:
        target = match.group(2)
        if re.match(r"[a-z][a-z0-9+.-]*:|#", target):  # a URL or a heading of the README itself
            return match.group(0)
        return f"{match.group(1)}{REPOSITORY}/blob/{tag}/{target})"

    return re.sub(r"(\]\()([^)\s]+)\)", absolute, readme)


setup(
    long_description=long_description((HERE / "README.md").read_text(encoding="utf-8"), f"v{version()}"),
    long_description_content_type="text/markdown",
)
