"""The command, per system, decided where the package is built (pipx and pip build it there).

POSIX: a script file, bin/terraform-session-token, not the wrapper pip generates for an entry
point, which imports re before anything runs (a third of a cached credential-process's time).
Windows: an entry point, for which pip makes terraform-session-token.exe (a script file without
an extension can't run there). Everything else is in pyproject.toml.
"""

import sys

from setuptools import setup

if sys.platform == "win32":
    setup(entry_points={"console_scripts": ["terraform-session-token = terraform_session_token.cli:entry"]})
else:
    setup(scripts=["bin/terraform-session-token"])
