"""The classic flow: ask for role and code, write the session into the credentials file."""

from __future__ import annotations

import argparse

from .. import options
from ..errors import MfaError, UsageError, terminal_safe
from ..narrowing import describe_key
from ..profiles import DEFAULT_ROLE
from ..prompts.terminal import Prompter
from ..providers import Request, from_sts, source_account
from ..sessions import Session, describe_left, format_time
from . import common


def add_arguments(parser) -> None:
    parser.add_argument(
        "--min-left",
        metavar="DURATION",
        default=argparse.SUPPRESS,
        help="how long the session must still last, e.g. 2h: refresh first when less is left",
    )


def run(args) -> int:
    files, settings = common.load(args)
    common.warn_no_verify(settings)  # on every run that has -v, even one with nothing to do
    overwrite = bool(getattr(args, "overwrite_keys", False))
    common.refuse_aws_style_target(settings, files)
    common.refuse_unsafe_target(files.credentials_text or "", settings, overwrite)
    current = Session.from_profile(files.credentials.get(settings.profile))
    wanted = None if settings.no_role else (settings.role or getattr(args, "role", None))
    needed = max(settings.refresh_margin, settings.min_left or 0)
    if settings.min_left:
        duration = settings.effective_duration()
        if settings.min_left + settings.refresh_margin > duration:
            raise UsageError(
                f"a session of {duration} s can't last the {settings.min_left} s --min-left asks for",
                "use a longer -d (up to the role's MaxSessionDuration), or run the apply through "
                "exec / credential_process with mfa_session (see docs/long-applies.md)",
            )
    mine = (
        current
        and current.is_for_role(wanted, source_account(settings))
        and current.narrowing == settings.narrowing.key()
    )
    if current and current.is_fresh(needed) and mine and not getattr(args, "force", False):
        identity = f" as {terminal_safe(current.arn)}" if current.arn else ""
        print(
            f"The profile [{settings.profile}] is valid until {format_time(current.expiration)} "
            f"({describe_left(current.seconds_left())}){identity}; nothing to do (--force refreshes it)"
        )
        if settings.narrowing:
            print(f"Session options: {settings.narrowing.describe()}")
        return 0
    settings.effective_duration()
    common.check_writable(files.credentials_path)
    common.check_source_exists(files, settings)

    prompter = Prompter()
    code_given = getattr(args, "code", None) not in (None, "-")
    if not code_given and not settings.mfa_process:
        print("Terraform Session Token")  # the seed's banner, before its prompts
    if code_given and not settings.role:
        settings.role = DEFAULT_ROLE  # non-interactive: as if Enter was hit on the role prompt
    if not settings.role and not settings.no_role:
        print("Hit Enter on Role for Default\n")
        answer = prompter.ask(f"Role[{DEFAULT_ROLE}]: ")
        if answer is None:
            raise MfaError("no role: input ended before one was given", "pass --role NAME_OR_ARN")
        settings.role = answer.strip() or DEFAULT_ROLE

    request = Request(settings, files, prompter, getattr(args, "code", None))
    session = from_sts(request)
    request.remembered.update(options.narrowing_to_remember(settings, files.config_for(settings.profile)))
    existed = common.write_session_profile(files, settings, session, overwrite)
    common.remember_or_warn(files, settings, request.remembered, say=print)
    verb = "Updating the profile [{}] in" if existed else "Adding the profile [{}] to"
    print()
    print(verb.format(settings.profile) + f" the credentials file {files.credentials_path}")
    print(
        f"Valid until {format_time(session.expiration)} ({describe_left(session.seconds_left())})"
        + (f" as {session.arn}" if session.arn else "")
    )
    if settings.narrowing:
        print(f"Session options: {settings.narrowing.describe()}")
    if current and current.narrowing and current.narrowing != session.narrowing and current.is_fresh(0):
        # Session options given as flags are the run's alone: say what the replaced session had.
        print(
            f"Note: it replaces a session {describe_key(current.narrowing)}; to keep session options for "
            f"[{settings.profile}], store them: terraform-session-token configure -p {settings.profile} ..."
        )
    return 0
