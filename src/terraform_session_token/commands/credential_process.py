"""credential-process: the AWS credential_process JSON on stdout, and nothing else there.

Reference it from the config file: credential_process = terraform-session-token
credential-process -p NAME. A code, when needed, is asked on the controlling terminal.
"""

from __future__ import annotations

import sys

from . import common


def add_arguments(parser) -> None:
    """credential-process has only the session options."""


def run(args) -> int:
    session, _ = common.cached_session(args, use_tty=True)
    sys.stdout.write(session.process_json() + "\n")
    return 0
