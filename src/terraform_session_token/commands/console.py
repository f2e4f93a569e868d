"""console: sign in to the AWS console as the profile's role, from the same session.

The session comes exactly as credential-process gets it (cache, lock, MFA session, the
classic profile): while one is valid, no code is asked. AWS's federation endpoint trades
it for a one-time sign-in token; the login URL is opened in the browser through a one-time
loopback redirect that only the user's own browser gets (see browser.py), or printed with
--print. Neither the token nor the URL is written anywhere else.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta

from .. import console
from ..errors import ConfigError, UsageError
from ..sessions import format_time, utcnow
from . import common

SIGNIN_ENDPOINT_VAR = "AWS_ENDPOINT_URL_SIGNIN"  # botocore's variable for the `signin` service
# A console that lasts only as long as its session needs a session with this much left.
CHAINED_MIN_LEFT = 900


def add_arguments(parser) -> None:
    parser.add_argument(
        "--console-duration",
        type=int,
        metavar="SECONDS",
        help="how long the console stays signed in, 900-43200 (default 43200; profile key console_duration); "
        "not possible for a role chained from an MFA session, whose console lasts at most 1 h",
    )
    parser.add_argument(
        "--destination",
        metavar="PAGE",
        help="where to land: a service (s3, cloudwatch), a path (ec2/home#Instances) or a console URL "
        "(default: the console home in the profile's region)",
    )
    parser.add_argument(
        "--browser",
        metavar="CMD",
        help="the browser command, {url} where the address goes, run without a shell "
        "(profile key console_browser; default: $BROWSER or the system's browser)",
    )
    parser.add_argument(
        "--print",
        dest="print_url",
        action="store_true",
        help="print the sign-in URL on stdout instead of opening it (it is a credential: don't share it)",
    )
    parser.add_argument(
        "--logout-first",
        action="store_true",
        help="sign the browser out of any console session first (another account's)",
    )


def _console_duration(args, conf: dict[str, str], where: str) -> int | None:
    """The requested console length (flag, then profile key), checked before any AWS call."""
    if getattr(args, "console_duration", None) is not None:
        try:
            return console.check_duration(args.console_duration, "--console-duration")
        except ValueError as e:
            raise UsageError(str(e), "e.g. --console-duration 28800 for 8 h")
    value = conf.get("console_duration")
    if not value:
        return None
    try:
        return console.check_duration(int(value), f"console_duration in {where}")
    except ValueError as e:
        message = str(e) if "out of range" in str(e) else f"console_duration must be a whole number, not {value!r}"
        raise ConfigError(message, f"fix it in {where}")


def _signin_override(settings) -> str | None:
    """AWS_ENDPOINT_URL_SIGNIN, else the tool's endpoint (--endpoint-url / AWS_ENDPOINT_URL / endpoint_url)."""
    from ..profiles import _check_url

    value = os.environ.get(SIGNIN_ENDPOINT_VAR)
    if value:
        _check_url(value, SIGNIN_ENDPOINT_VAR, UsageError, f"fix or unset {SIGNIN_ENDPOINT_VAR}")
        return value
    return settings.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None


def _until(seconds: float) -> str:
    """ "12 h 00 min, until 2026-12-03T21:00:00Z" """
    hours, minutes = divmod(int(seconds) // 60, 60)
    span = f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
    return f"{span}, until {format_time(utcnow() + timedelta(seconds=seconds))}"


def run(args) -> int:
    files, settings = common.load(args)
    if settings.no_role:
        raise UsageError(
            f"[{settings.profile}] is a session of the IAM user itself (no role), and AWS signs in to the "
            "console only with role sessions",
            "give the profile a role with --role NAME, or sign in to the console as the user with its password",
        )
    where = f"[{files.config_section(settings.profile)}] of {files.config_path}"
    conf = files.config_for(settings.profile)
    wanted_duration = _console_duration(args, conf, where)
    template = getattr(args, "browser", None) or conf.get("console_browser")
    override = _signin_override(settings)
    if args.destination and "://" in args.destination:
        problem = console.url_problem(args.destination)  # before a code is spent; the partition's host later
        if problem:
            raise UsageError(
                f"--destination {args.destination!r} is not an https URL of the aws console: {problem}",
                "a service such as s3, a path such as ec2/home#Instances, or a console URL",
            )
    chained_expected = settings.mfa_session or bool(settings.login_session)
    via = "an MFA session (mfa_session)" if settings.mfa_session else "an aws login session"
    if not args.print_url:
        from .. import browser

        if template:
            browser.check_command(template)
        browser.check_can_open()
    common.check_source_exists(files, settings)

    source = common.SessionSource(args, use_tty=True)
    try:
        session = source.get(
            force=bool(getattr(args, "force", False)), min_left=CHAINED_MIN_LEFT if chained_expected else 60
        )
    finally:
        source.close()
    chained = session.chained if session.chained is not None else chained_expected
    partition = console.partition_of(session.arn or settings.role or "")
    if partition not in console.PARTITIONS and not override:
        raise UsageError(
            f"the console sign-in of partition {partition} is not public",
            f"set {SIGNIN_ENDPOINT_VAR} and --destination to your partition's hosts",
        )
    known = partition if partition in console.PARTITIONS else "aws"  # hosts overridden for the others
    region = console.console_region(known, settings.region)
    try:
        landing = console.destination(args.destination, known, region)
    except ValueError as e:
        raise UsageError(
            f"--destination: {e}", "a service such as s3, a path such as ec2/home#Instances, or a console URL"
        )

    notes = []
    if chained:
        duration = None  # AWS refuses a SessionDuration for a chained role session
        lasts = min(session.seconds_left(), console.CHAINED_LIMIT)
        if wanted_duration:
            notes.append(
                f"the role is chained from {via}, so AWS gives its console at most 1 h: console_duration was not sent"
            )
        else:
            notes.append(f"the role is chained from {via}, so its console lasts at most 1 h")
    else:
        duration = wanted_duration or console.DEFAULT_CONSOLE_DURATION
        lasts = duration
    base = console.signin_base(known, region, override)
    from ..aws import signin_token

    keys = (session.access_key_id, session.secret_access_key, session.session_token)
    token = signin_token(console.signin_token_url(base, *keys, duration), settings)
    url = console.login_url(base, token, landing, logout_first=bool(args.logout_first))
    for note in notes:
        print(f"terraform-session-token: note: {note}", file=sys.stderr)
    who = session.arn or settings.role or "the role"
    if args.print_url:
        print(
            "terraform-session-token: warning: this URL is a credential: whoever opens it first gets the console "
            f"as {who} (good once, within 15 min). Don't paste it into chats, tickets or shell history.",
            file=sys.stderr,
        )
        print(url)
        print(f"Once opened, the console stays signed in for {_until(lasts)}.", file=sys.stderr)
        return 0
    from .. import browser

    refused = browser.open_url(url, template)
    for other in refused:
        print(
            f"terraform-session-token: warning: a process of another user ({other}) asked for the console's "
            "one-time address and was refused: someone on this machine watches command lines",
            file=sys.stderr,
        )
    print(
        f"Opened the AWS console as {who} (your browser asked for it); it stays signed in for {_until(lasts)}.",
        file=sys.stderr,
    )
    return 0
