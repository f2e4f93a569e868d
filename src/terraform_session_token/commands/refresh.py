"""The classic flow: ask for role and code, write the session into the credentials file."""

from __future__ import annotations

import argparse

from .. import options, sessions
from ..errors import MfaError, UsageError, terminal_safe
from ..narrowing import describe_key
from ..profiles import DEFAULT_ROLE, Settings
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
    needed = max(settings.refresh_margin, settings.min_left or 0)
    if settings.min_left:
        duration = settings.effective_duration()
        if settings.min_left + settings.refresh_margin > duration:
            raise UsageError(
                f"a session of {duration} s can't last the {settings.min_left} s --min-left asks for",
                "use a longer -d (up to the role's MaxSessionDuration), or run the apply through "
                "exec / credential_process with mfa_session (see docs/long-applies.md)",
            )
    force = bool(getattr(args, "force", False))
    if _still_good(current, settings, args, needed) and not force:
        valid = _validity(current)
        print(f"The profile [{settings.profile}] is valid until {valid}; nothing to do (--force refreshes it)")
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
    if settings.role and "role" not in settings.origins:
        args.role = settings.role  # answered (or the default): it stays when the settings are resolved again

    request = Request(settings, files, prompter, getattr(args, "code", None), args=args)
    # Parallel runs of one profile share one code: the first asks AWS while the others wait here,
    # then read the files again and find the session it wrote (the lock of credential-process too).
    with request.lock(sessions.lock_file(settings.profile)):
        if request.reread():
            files, settings = request.files, request.settings
            written = Session.from_profile(files.credentials.get(settings.profile))
            replaced = current is not None and written is not None and written.access_key_id == current.access_key_id
            if _still_good(written, settings, args, needed) and not (force and replaced):
                valid = _validity(written)
                print(f"The profile [{settings.profile}] was just refreshed by another run: valid until {valid}")
                return 0
        session = from_sts(request)
        files, settings = request.files, request.settings
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


def _still_good(session: Session | None, settings: Settings, args, needed: int) -> bool:
    """A session of the profile's role (or kind) with more than `needed` seconds left."""
    if session is None or not session.is_fresh(needed):
        return False
    wanted = None if settings.no_role else (settings.role or getattr(args, "role", None))
    return session.is_for_role(wanted, source_account(settings)) and session.narrowing == settings.narrowing.key()


def _validity(session: Session) -> str:
    identity = f" as {terminal_safe(session.arn)}" if session.arn else ""
    return f"{format_time(session.expiration)} ({describe_left(session.seconds_left())}){identity}"
