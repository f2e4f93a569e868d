"""exec: run a command with the session in its environment; nothing is written to files."""

from __future__ import annotations

import argparse
import os

from ..errors import UsageError
from . import common
from .env import session_environment


def add_arguments(parser) -> None:
    parser.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS ...]")


def run(args) -> int:
    argv = list(args.argv)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise UsageError("exec needs a command to run", "e.g. terraform-session-token exec -- terraform plan")
    session, settings = common.cached_session(args)
    env = dict(os.environ)
    for name, value in session_environment(session, settings.region).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    try:
        # Replacing this process passes the child's exit code and signals through untouched.
        os.execvpe(argv[0], argv, env)
    except FileNotFoundError:
        raise UsageError(f"command not found: {argv[0]}", "check the name and PATH")
    except PermissionError:
        raise UsageError(f"command not executable: {argv[0]}", "check its permissions")
