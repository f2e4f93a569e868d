"""exec: run a command with the session; nothing is written to files.

By default the child gets no keys at all: it gets the address and token of a credential
endpoint that this process serves on 127.0.0.1 for as long as the child runs, refreshing
the session before it expires (without a code while an MFA session lasts). Terraform and
every AWS SDK read it. `--static-keys` hands over the session's keys instead, for tools
that can't read the endpoint; those die with the session.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys

from ..errors import UsageError
from ..profiles import parse_duration
from ..sessions import describe_left
from . import common
from .env import CONFLICTING, session_environment

DEFAULT_MIN_LEFT = "15m"
# Keys and sources that would take precedence over the endpoint in the SDKs' chains.
SHADOWING = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
)
# Only the signals this system has (Windows has SIGTERM, SIGINT and SIGBREAK).
FORWARDED = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP", "SIGUSR1", "SIGUSR2") if hasattr(signal, n))
FROM_TERMINAL = tuple(getattr(signal, n) for n in ("SIGINT", "SIGQUIT", "SIGBREAK") if hasattr(signal, n))


def add_arguments(parser) -> None:
    parser.add_argument(
        "--static-keys",
        action="store_true",
        help="give the child the session's keys as AWS_* variables instead of the credential endpoint "
        "(they are not refreshed: the child's credentials die with the session)",
    )
    parser.add_argument(
        "--min-left",
        metavar="DURATION",
        default=argparse.SUPPRESS,
        help="how long the run must be able to go on without a new MFA code, e.g. 2h "
        f"(default {DEFAULT_MIN_LEFT}): refresh first, or refuse to start",
    )
    parser.add_argument(
        "argv", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS ...]", help="the command to run, after --"
    )


def _command(args) -> list[str]:
    argv = list(args.argv)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise UsageError("exec needs a command to run", "e.g. terraform-session-token exec -- terraform plan")
    return argv


def _not_runnable(name: str, found: bool) -> UsageError:
    """A command that can't run, with the exit code shells give it (127 not found, 126 not executable)."""
    if found:
        error = UsageError(f"command not executable: {name}", "check its permissions")
        error.exit_code = 126
    else:
        error = UsageError(f"command not found: {name}", "check the name and PATH")
        error.exit_code = 127
    return error


def _check_command(argv: list[str]) -> None:
    """Before any code is asked: a command that can't run fails the way shells say it."""
    name = argv[0]
    found = shutil.which(name) if os.sep not in name else (name if os.path.exists(name) else None)
    if found is None:
        raise _not_runnable(name, found=False)
    if os.path.isdir(found) or not os.access(found, os.X_OK):
        raise _not_runnable(name, found=True)


def _child_environment(extra: dict[str, str | None]) -> dict[str, str]:
    env = dict(os.environ)
    for name, value in extra.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run(args) -> int:
    argv = _command(args)
    _check_command(argv)
    source = common.SessionSource(args)
    settings = source.settings
    min_left = settings.min_left if settings.min_left is not None else parse_duration(DEFAULT_MIN_LEFT)
    if getattr(args, "static_keys", False):
        return _run_with_static_keys(args, source, argv, min_left)
    return _run_with_endpoint(args, source, argv, min_left)


def _run_with_static_keys(args, source: common.SessionSource, argv: list[str], min_left: int) -> int:
    settings = source.settings
    try:
        duration = settings.effective_duration()
        if min_left + settings.refresh_margin > duration:
            raise UsageError(
                f"with --static-keys the child's credentials last one session ({duration} s), "
                f"less than the {min_left} s --min-left asks for",
                "drop --static-keys: the endpoint refreshes them; or use a longer -d",
            )
        session = source.get(force=bool(getattr(args, "force", False)), min_left=min_left)
    finally:
        source.close()
    env = _child_environment(session_environment(session, settings.region))
    from .. import system

    try:
        # Replacing this process (a child on Windows) passes the exit code and signals through untouched.
        return system.run_instead(argv, env)
    except FileNotFoundError:
        raise _not_runnable(argv[0], found=False)
    except PermissionError:
        raise _not_runnable(argv[0], found=True)


def _run_with_endpoint(args, source: common.SessionSource, argv: list[str], min_left: int) -> int:
    from ..endpoint import CredentialServer

    settings = source.settings
    duration = settings.effective_duration()
    # Refreshes that need no one at the keyboard: a code command, a YubiKey, or an aws login source.
    automatic = (
        bool(settings.mfa_process)
        or settings.mfa_prompt == "ykman"
        or bool(settings.login_session and not settings.mfa_serial)
    )
    if settings.mfa_session:
        if min_left + settings.refresh_margin > settings.mfa_session_duration:
            raise UsageError(
                f"the MFA session lasts {settings.mfa_session_duration} s, less than the {min_left} s "
                "--min-left asks for",
                "raise mfa_session_duration, up to 129600 s = 36 h",
            )
        source.request.mfa_session_min_left = min_left  # ask for its code now, not mid-run
    elif not automatic and min_left + settings.refresh_margin > duration:
        raise UsageError(
            f"without mfa_session each refresh needs a new MFA code: the run can go on {duration} s "
            f"without one, less than the {min_left} s --min-left asks for",
            "set mfa_session = true for one code per MFA session, or mfa_process, or a longer -d",
        )
    session = source.get(force=bool(getattr(args, "force", False)))
    # --min-left was the start's question. Mid-run, the MFA session signs role refreshes for as long
    # as it is valid: renewing it early would need a code and the source keys (a keyring locked
    # with the screen) while nothing needs them.
    source.request.mfa_session_min_left = 0
    server = CredentialServer(lambda: source.get(), early_by=settings.refresh_margin).start(session)
    extra: dict[str, str | None] = dict.fromkeys(SHADOWING + CONFLICTING)
    extra.update(server.environment())
    # Keys in [default] of the credentials file come before the endpoint in every SDK's chain.
    extra["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    if settings.region:
        extra["AWS_REGION"] = extra["AWS_DEFAULT_REGION"] = settings.region
    if getattr(args, "debug", False):
        print(
            f"terraform-session-token: serving {session.arn or 'the session'} on {server.url} "
            f"({describe_left(session.seconds_left())})",
            file=sys.stderr,
        )
    try:
        return _run_child(argv, _child_environment(extra))
    finally:
        server.stop()
        source.close()


def _terminal_sent(signum: int) -> bool:
    """Whether a terminal signal also reached the child (see system.terminal_reached_child)."""
    from .. import system

    return system.terminal_reached_child()


def _run_child(argv: list[str], env: dict[str, str]) -> int:
    """Run the child, forward signals to it, and end the way it ended (status or signal)."""
    try:
        child = subprocess.Popen(argv, env=env)
    except FileNotFoundError:
        raise _not_runnable(argv[0], found=False)
    except PermissionError:
        raise _not_runnable(argv[0], found=True)

    def forward(signum, _frame) -> None:
        # Ctrl-C at the terminal reaches the child by itself: a second SIGINT would make
        # Terraform abandon its graceful stop (and its state write).
        if signum in FROM_TERMINAL and _terminal_sent(signum):
            return
        try:
            child.send_signal(signum)
        except ProcessLookupError:
            pass

    for signum in FORWARDED + FROM_TERMINAL:
        signal.signal(signum, forward)
    while True:
        try:
            status = child.wait()
            break
        except KeyboardInterrupt:  # pragma: no cover - SIGINT is handled above
            continue
    for signum in FORWARDED + FROM_TERMINAL:
        signal.signal(signum, signal.SIG_DFL)
    if status < 0:
        sys.stdout.flush()
        os.kill(os.getpid(), -status)  # die of the same signal, so the caller sees what the child did
    return status
