"""credential-process: the AWS credential_process JSON on stdout, and nothing else there.

Reference it from the config file: credential_process = terraform-session-token
credential-process -p NAME. A code, when needed, is asked on the controlling terminal.

The Expiration it reports is the refresh margin before the real one: Terraform's SDKs come
back only once credentials have expired, and then the session still has the margin left.
The Go SDK kills a credential_process after 60 s, so waiting (at a prompt, or on another
run's prompt) ends before that with a message.
"""

from __future__ import annotations

import sys

from ..options import seconds
from . import common

DEFAULT_TIMEOUT = 50.0


def add_arguments(parser) -> None:
    parser.add_argument(
        "--timeout",
        type=seconds,
        metavar="SECONDS",
        default=DEFAULT_TIMEOUT,
        help=f"give up waiting for an MFA code after this long (default {DEFAULT_TIMEOUT:g}; "
        "the Go SDK kills a credential_process at 60 s)",
    )


def run(args) -> int:
    from ..fastpath import profile_of

    # Called as configure writes it (nothing but -p): what it serves is recorded for the hot path.
    record = profile_of(sys.argv[1:]) is not None
    session, settings = common.cached_session(
        args, use_tty=True, wait_limit=max(args.timeout, 0.0), record_fast=record, under_sdk=True
    )
    sys.stdout.write(session.process_json(early_by=settings.refresh_margin) + "\n")
    return 0
