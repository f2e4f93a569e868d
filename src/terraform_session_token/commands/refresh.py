"""The classic flow: ask for role and code, write the session into the credentials file.

A profile that `configure` pointed at this tool (credential_process) gets its cached session
refreshed instead, as credential-process would: keys in the credentials file would shadow it.
"""

from __future__ import annotations

import argparse

from .. import options, sessions
from ..errors import ConfigError, MfaError, UsageError, terminal_safe
from ..narrowing import describe_key
from ..profiles import DEFAULT_ROLE, Settings
from ..prompts.terminal import NO_INPUT, Prompter
from ..providers import Request, from_sts, source_account
from ..sessions import Session, describe_left, format_time
from . import common

BANNER = "Terraform Session Token"  # the seed's, before its prompts


def add_arguments(parser) -> None:
    parser.add_argument(
        "--min-left",
        metavar="DURATION",
        default=argparse.SUPPRESS,
        help="how long the session must still last, e.g. 2h: refresh first when less is left",
    )


def run(args) -> int:
    files, settings = common.load(args, new_profile_ok=True)
    common.warn_no_verify(settings)  # on every run that has -v, even one with nothing to do
    _check_values(settings)  # before anything else: a bad -d is bad even while a session is valid
    if common.tool_process(files, settings.profile):
        return _refresh_configured(args, files, settings)
    unknown = common.unknown_target(files, settings, args)
    overwrite = bool(getattr(args, "overwrite_keys", False))
    common.refuse_aws_style_target(settings, files)
    _refuse_other_process(files, settings)
    common.refuse_unsafe_target(files.credentials_text or "", settings, overwrite)
    current = Session.from_profile(files.credentials.get(settings.profile))
    needed = max(settings.refresh_margin, settings.min_left or 0)
    force = bool(getattr(args, "force", False))
    if _still_good(current, settings, args, needed) and not force:
        _nothing_to_do(settings.profile, current)
        if settings.narrowing:
            print(f"Session options: {settings.narrowing.describe()}")
        return 0
    code_given = getattr(args, "code", None) not in (None, "-")
    prompter = Prompter(banner=BANNER)
    if unknown is not None and (code_given or not prompter.has_input()):
        raise unknown[0]  # nobody to answer its Role prompt (--code means no questions)
    common.check_writable(files.credentials_path)
    common.check_source_exists(files, settings)

    if code_given and not settings.role:
        settings.role = DEFAULT_ROLE  # non-interactive: as if Enter was hit on the role prompt
    if unknown is not None:
        settings.role = _role_of_new_profile(prompter, settings.profile, unknown)
    elif not settings.role and not settings.no_role:
        answer = prompter.ask(f"Role[{DEFAULT_ROLE}]: ", lead="Hit Enter on Role for Default\n")
        if answer is None:
            raise MfaError(
                "a role and an MFA code are needed but there is no terminal, and the input ended before them",
                f"pass --role NAME_OR_ARN, and for the code: {NO_INPUT}",
            )
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
    _valid_until(session)
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
    """A session of the profile's role (or kind) and session options with more than `needed` seconds left."""
    if session is None or not session.is_fresh(needed):
        return False
    wanted = None if settings.no_role else (settings.role or getattr(args, "role", None))
    return session.is_for_role(wanted, source_account(settings)) and session.narrowing == settings.narrowing.key()


def _validity(session: Session) -> str:
    identity = f" as {terminal_safe(session.arn)}" if session.arn else ""
    return f"{format_time(session.expiration)} ({describe_left(session.seconds_left())}){identity}"


def _check_values(settings) -> None:
    """The duration and --min-left, checked before anything is looked at."""
    duration = settings.effective_duration()
    if settings.min_left and settings.min_left + settings.refresh_margin > duration:
        raise UsageError(
            f"a session of {duration} s can't last the {settings.min_left} s --min-left asks for",
            "use a longer -d, up to the role's MaxSessionDuration, or run the apply through "
            "exec / credential_process with mfa_session: see docs/long-applies.md",
        )


def _refuse_other_process(files, settings) -> None:
    """Keys in the credentials file come before a credential_process: writing them would shadow it."""
    if common.tool_process(files, settings.profile) == "":
        command = files.config_for(settings.profile)["credential_process"]
        raise ConfigError(
            f"[{settings.profile}] gets its credentials from credential_process ({terminal_safe(command)[:80]}); "
            "a session written to the credentials file would shadow it",
            "write the session to another -p",
        )


def _role_of_new_profile(prompter: Prompter, name: str, unknown) -> str:
    """The Role prompt is the act of creating a profile: asked only where someone can answer it.
    After a name one typo from an existing profile, Enter takes no default: it stops."""
    refusal, close = unknown
    if close:
        lead = f"There is no profile [{name}]. Did you mean -p {close}?\n"
        lead += f"To create [{name}], type its role; Enter stops.\n"
        answer = prompter.ask("Role: ", lead=lead)
        if not (answer or "").strip():
            raise UsageError(f"[{name}] was not created: no role was given", f"did you mean -p {close}?")
        return answer.strip()
    lead = f"[{name}] is a new profile: it is made with the role you give (Ctrl-C stops).\n"
    lead += "Hit Enter on Role for Default\n"
    answer = prompter.ask(f"Role[{DEFAULT_ROLE}]: ", lead=lead)
    if answer is None:
        raise UsageError(f"[{name}] was not created: the input ended before its role", refusal.hint)
    return answer.strip() or DEFAULT_ROLE


def _nothing_to_do(profile: str, session: Session, where: str = "") -> None:
    print(f"The profile [{profile}]{where} is valid until {_validity(session)}; nothing to do (--force refreshes it)")


def _valid_until(session: Session) -> None:
    print(
        f"Valid until {format_time(session.expiration)} ({describe_left(session.seconds_left())})"
        + (f" as {session.arn}" if session.arn else "")
    )


def _refresh_configured(args, files, settings) -> int:
    """A profile `configure` made: its cached session refreshed as credential-process would do it,
    nothing written to the credentials file (keys there would come before credential_process). A
    session an earlier version wrote there is taken back, saying so."""
    from ..providers import cached_or_new

    name = settings.profile
    force = bool(getattr(args, "force", False))
    needed = max(settings.refresh_margin, settings.min_left or 0)
    role = None if settings.no_role else (settings.role or DEFAULT_ROLE)
    account, narrowing = source_account(settings), settings.narrowing.key()
    cached = sessions.read_cached(name)
    written = Session.from_profile(files.credentials.get(name)) if files.is_managed(name) else None
    usable = written and written.matches(settings.no_role, role, account, narrowing) and written.is_fresh(needed)
    if usable and (cached is None or cached.expiration < written.expiration):
        sessions.write_cached(name, written)  # moved where credential_process finds it
        cached = written
    if not force and cached and cached.is_fresh(needed) and cached.matches(settings.no_role, role, account, narrowing):
        _nothing_to_do(name, cached, " (credential_process, cached)")
        _take_back_shadowing_session(files, name)
        return 0
    common.check_source_exists(files, settings)
    prompter = Prompter(banner=BANNER)
    request = Request(settings, files, prompter, getattr(args, "code", None), args=args)
    request.save_discovered = lambda files, settings, found: common.remember_or_warn(files, settings, found, say=print)
    try:
        session = cached_or_new(request, force=force, min_left=settings.min_left or 0)
    finally:
        prompter.close()
    files, settings = request.files, request.settings
    if prompter.asked:
        print()
    print(
        f"Refreshed the cached session of [{name}], which gets its credentials from credential_process "
        "(nothing written to the credentials file)"
    )
    _valid_until(session)
    _take_back_shadowing_session(files, name)
    return 0


def _take_back_shadowing_session(files, name: str) -> None:
    """A session the classic flow wrote into [name] of the credentials file would come before the
    credential_process: it goes (only the tool's own lines; long-term keys are never touched)."""
    if not files.is_managed(name):
        return
    from .clear import take_back_credentials

    kept: list[str] = []
    common.update_ini(files.credentials_path, lambda text: take_back_credentials(text, [name], kept))
    if not kept:
        print(
            f"Took back the session an earlier run wrote into [{name}] of {files.credentials_path}: "
            "it came before credential_process"
        )
