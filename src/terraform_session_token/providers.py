"""How a session is obtained: discovery, MFA code, AssumeRole or GetSessionToken, caches.

The providers compose: a cached provider wraps the STS provider; the MFA-session provider
feeds an MFA-authenticated GetSessionToken session into AssumeRole. botocore is imported
only when an AWS call is really needed.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import threading
import time
from typing import Callable

from . import mfa, prompts, sessions, storage
from .errors import KeyringError, MfaError, MfaSessionRejected, RoleError, ToolError
from .profiles import (
    DEFAULT_ROLE,
    OWN_ROLE_KEY,
    OWN_SOURCE_KEY,
    ROLE_DURATION,
    USER_DURATION,
    AwsFiles,
    Settings,
    resolve,
    session_name_for,
)
from .prompts.terminal import Prompter
from .sessions import Session

DEFAULT_MAX_DURATION = 3600  # a role's MaxSessionDuration unless raised


class Request:
    """One run's inputs to the providers: settings, files, and where a code may come from."""

    def __init__(
        self,
        settings: Settings,
        files: AwsFiles,
        prompter: Prompter,
        code_flag: str | None = None,
        wait_limit: float | None = None,
        args=None,
    ):
        self.settings = settings
        self.files = files
        self.prompter = prompter
        self.code_flag = code_flag
        # The command line the settings were resolved from: resolved again (see reread) once this
        # run holds the profile's lock. None: these settings stand.
        self.args = args
        self.remembered: dict[str, str] = {}  # what discovery found, for the config file
        # Stores `remembered` in the config file (files, settings, remembered); called while this run
        # still holds the profile's lock, so that the runs waiting on it find it there.
        self.save_discovered: Callable[[AwsFiles, Settings, dict[str, str]], None] | None = None
        self.started = time.time()
        # How long this run may wait on a prompt or on another run's prompt (credential_process:
        # the SDK kills it at 60 s); None waits as long as it takes.
        self.deadline = time.monotonic() + wait_limit if wait_limit is not None else None
        self.wait_limit = wait_limit
        self.mfa_session_min_left = 0  # exec's endpoint: the MFA session must last the run
        # credential-process with nothing but -p: what it serves from the cache is recorded for fastpath.
        self.record_fast = False

    def remaining(self) -> float | None:
        return None if self.deadline is None else max(self.deadline - time.monotonic(), 0.0)

    def code(self, serial: str) -> str:
        """The MFA code for `serial`. A prompt the user cancelled (a dialog, Ctrl-C) is remembered for
        a few seconds: the parallel callers that waited on the lock fail with the same line at once
        instead of each opening a new prompt in turn."""
        s = self.settings
        cancelled = sessions.recent_cancel(serial, self.started)
        if cancelled:
            raise prompts.Cancelled(cancelled)
        ask = prompts.Ask(
            serial,
            prompts.describe(serial, s.profile, s.role, s.no_role),
            self.remaining(),
            s.mfa_prompt,
            s.ykman_oath_account,
            s.ykman_device,
            classic=not self.prompter.use_tty,
            limit=self.wait_limit,
        )
        try:
            return mfa.get_code(ask, self.code_flag, s.mfa_process, self.prompter)
        except prompts.Cancelled as error:
            sessions.remember_cancel(serial, error.message)
            raise
        except KeyboardInterrupt:
            line = "the MFA prompt was interrupted; nothing was written"
            sessions.remember_cancel(serial, line)
            with contextlib.suppress(OSError, ValueError):
                self.prompter.say("")  # the cursor is after the prompt: the error gets a line of its own
            raise prompts.Cancelled(line) from None

    def lock(self, path: str):
        """The lock that makes parallel callers share one refresh, waited on within the deadline."""
        return storage.locked(path, timeout=self.remaining(), wait_limit=self.wait_limit)

    def reread(self) -> bool:
        """Read the AWS files again and, if they changed, resolve the settings anew; whether they did.

        Called once this run holds the profile's lock: the run that held it before may have
        remembered what its discovery found (the MFA device, which names the source account; the
        role's ARN), and the session it left must be judged with that, not with what this run
        read before it waited. A few reads of small files, on the refresh path only."""
        if self.args is None:
            return False
        files = AwsFiles.load()
        if (files.credentials_text, files.config_text) == (self.files.credentials_text, self.files.config_text):
            return False
        settings = resolve(self.args, files)
        settings.effective_duration()
        self.files, self.settings = files, settings
        return True

    def keep_discovered(self) -> None:
        """Remember what discovery found, before the profile's lock is let go (see save_discovered)."""
        if self.remembered and self.save_discovered is not None:
            self.save_discovered(self.files, self.settings, self.remembered)
            self.remembered = {}
            self.reread()


def from_sts(request: Request) -> Session:
    """A new session from AWS: at most ListMFADevices + GetRole + one STS call."""
    settings = request.settings
    duration = settings.effective_duration()  # validated before any network call
    settings.check_login_extra()
    loading = _import_aws_in_background()
    early_code = None
    if _nothing_to_discover(request):
        early_code = request.code(settings.mfa_serial)  # typed while botocore loads
    loading.join()
    from .aws import Connection  # botocore: only on this path

    keys = lambda: source_keys(settings, request.files)  # noqa: E731 - read only when a call needs them
    aws = Connection(
        settings, request.files.has_profile(settings.source_profile), keys, request.deadline, request.wait_limit
    )
    sts, iam = aws.sts, aws.iam
    if settings.origins.get("source_profile", "flag") == "flag" and request.files.has_profile(settings.source_profile):
        # Given or defaulted, it is remembered like role and device; keys from AWS_ACCESS_KEY_ID
        # are no profile: remembering [default] for them would break the next run.
        request.remembered[OWN_SOURCE_KEY] = settings.source_profile
    serial = settings.mfa_serial
    # An aws login source: the browser sign-in had the MFA, so no code unless the profile names a device.
    if not serial and not settings.login_session:
        devices = iam.list_mfa_devices()
        if not devices:
            raise MfaError(
                "no MFA device is assigned to the source user",
                "assign one in the IAM console, under Security credentials > MFA, or pass --serial",
            )
        serial = devices[0] if len(devices) == 1 else mfa.choose_device(devices, request.prompter)
        request.remembered["mfa_serial"] = serial
        settings.mfa_serial = serial  # exec's later refreshes: no discovery (nor source keys) again

    if settings.no_role:
        session = sts.get_session_token(duration, serial, early_code or request.code(serial))
        session.arn = _user_arn(serial)
        return session

    role = settings.role or DEFAULT_ROLE
    role_arn = role if role.startswith("arn:") else None
    if role_arn is None:
        described = iam.describe_role(role)
        role_arn, max_duration = described["Arn"], int(described.get("MaxSessionDuration") or 3600)
        _check_role_duration(role, duration, max_duration)
        _check_trust(settings, role, described.get("AssumeRolePolicyDocument"))
        request.remembered[OWN_ROLE_KEY] = role_arn
    elif duration > DEFAULT_MAX_DURATION:
        _check_remembered_role_duration(iam, role_arn, duration)
    settings.role = role_arn
    name = session_name_for(settings, serial)

    if settings.mfa_session:
        mfa_session = mfa_session_for(request, sts, serial, request.mfa_session_min_left)
        try:
            session = sts.assume_role(role_arn, name, duration, credentials=mfa_session)
        except MfaSessionRejected:
            # AWS no longer takes it although it has time left: replace it, with one code, once.
            mfa_session = mfa_session_for(request, sts, serial, request.mfa_session_min_left, rejected=mfa_session)
            session = sts.assume_role(role_arn, name, duration, credentials=mfa_session)
        session.chained = True
        return session
    if not serial:
        try:
            session = sts.assume_role(role_arn, name, duration)
        except RoleError as error:
            raise RoleError(
                f"AWS refused {role_arn.split('/')[-1]} to the aws login session of [{settings.source_profile}]",
                f"if the role's trust policy requires MFA, set mfa_serial = YOUR_MFA_ARN in "
                f"[profile {settings.profile}] and a code will be asked; else {error.hint}",
            ) from None
    else:
        session = sts.assume_role(role_arn, name, duration, serial, early_code or request.code(serial))
    session.chained = bool(settings.login_session)  # assumed with the login's session credentials
    return session


def _check_role_duration(role: str, duration: int, max_duration: int) -> None:
    if duration > max_duration:
        raise RoleError(
            f"duration {duration} s is above {role}'s maximum session duration of {max_duration} s",
            f"use -d {max_duration} or less, or raise the role's MaxSessionDuration",
        )


def _check_trust(settings: Settings, role: str, document) -> None:
    """A source identity or tags with a role whose trust policy has no statement allowing them: AWS
    will refuse, so say so before the code is spent (GetRole, called anyway, brought the policy)."""
    from . import policy
    from .narrowing import refused_by_trust

    narrowing = settings.narrowing
    for used, action, what in (
        (narrowing.source_identity, policy.SET_SOURCE_IDENTITY, f"the source identity {narrowing.source_identity}"),
        (narrowing.tags, policy.TAG_SESSION, "session tags"),
    ):
        if used and document is not None and not policy.allows_action(document, action):
            raise refused_by_trust(role.split("/")[-1], action, what)


def _check_remembered_role_duration(iam, role_arn: str, duration: int) -> None:
    """A role allows 1 h unless its MaxSessionDuration was raised: asked for more, GetRole says
    before a code is spent. A role GetRole can't read (another account, no permission) is left
    to AssumeRole."""
    try:
        found, max_duration = iam.get_role(role_arn.split("/")[-1])
    except ToolError:
        return
    if found == role_arn:
        _check_role_duration(role_arn.split("/")[-1], duration, max_duration)


def source_keys(settings: Settings, files: AwsFiles):
    """The source profile's long-term keys from the OS keyring, when the file says they are there."""
    if not files.keys_in_keyring(settings.source_profile):
        return None
    from . import keystore

    keys = keystore.load(settings.source_profile)
    if keys is None:
        raise KeyringError(
            f"the keys of source profile [{settings.source_profile}] should be in the OS keyring but are not",
            f"store them again: terraform-session-token keys add {settings.source_profile}",
        )
    return keys


def _import_aws_in_background() -> threading.Thread:
    """Start importing botocore (about 0.2 s of CPU) so that it overlaps with a prompt."""
    thread = threading.Thread(target=importlib.import_module, args=(f"{__package__}.aws",), daemon=True)
    thread.start()
    return thread


def _nothing_to_discover(request: Request) -> bool:
    """Whether the code can be asked for at once: device and role known, no MFA session cache."""
    s = request.settings
    known_role = s.no_role or bool(s.role_arn)
    # Above a role's default maximum, GetRole checks the duration before the code is asked.
    within_default = s.no_role or (s.duration or ROLE_DURATION[2]) <= DEFAULT_MAX_DURATION
    has_source = request.files.has_profile(s.source_profile) or bool(os.environ.get("AWS_ACCESS_KEY_ID"))
    return bool(s.mfa_serial) and known_role and within_default and not s.mfa_session and has_source


def mfa_session_for(request: Request, sts, serial: str, min_left: int = 0, rejected: Session | None = None) -> Session:
    """A cached MFA-authenticated GetSessionToken session, asking for a code only when it expired
    (or, when `min_left` is given, when less than that is left of it, or when AWS `rejected` it)."""
    settings = request.settings
    name = sessions.mfa_cache_name(settings.source_profile, serial)
    with request.lock(sessions.lock_file(name)):
        cached = sessions.read_cached(name)
        replaced = cached and rejected and cached.access_key_id != rejected.access_key_id  # by a parallel run
        if cached and cached.is_fresh(max(settings.refresh_margin, min_left)) and (not rejected or replaced):
            return cached
        low, high, _ = USER_DURATION
        duration = min(max(settings.mfa_session_duration, low), high)
        session = sts.get_session_token(duration, serial, request.code(serial))
        session.arn = _user_arn(serial)
        sessions.write_cached(name, session)
        return session


def cached_or_new(request: Request, force: bool = False, min_left: int = 0) -> Session:
    """The profile's cached session while fresh, else a new one; parallel callers share one.

    The first caller takes the profile's lock and asks AWS, remembers what it discovered and
    caches the session before it lets the lock go; the others wait on the lock, then read the
    files again (request.reread) and find the fresh session in the cache, judged with what the
    first one learned. `force` replaces the session there was when this run started, not one a
    parallel run made meanwhile. This path imports botocore only on a miss.
    """
    name = request.settings.profile
    seen: set[str] = set()  # with force: the sessions to replace
    if request.settings.narrowing.policy_from_file:
        request.record_fast = False  # fastpath can't see the policy file change: every call goes the full way

    def usable(session: Session | None) -> bool:
        settings = request.settings
        wanted = None if settings.no_role else (settings.role or DEFAULT_ROLE)
        # A session of another role or kind (a one-off --role), or narrowed otherwise (a one-off
        # --policy-arn, the plan profile's read-only session), never stands in for the profile's.
        return bool(
            session
            and session.access_key_id not in seen
            and session.is_fresh(max(settings.refresh_margin, min_left) + sessions.SERVE_AHEAD)
            and session.matches(settings.no_role, wanted, source_account(settings), settings.narrowing.key())
        )

    cached = sessions.read_cached(name)
    if force:
        seen = {s.access_key_id for s in (cached, _written_by_classic(request)) if s}
    if usable(cached):
        _record_fast(request, cached)
        return cached
    written = _written_by_classic(request)  # the classic flow's session serves exec/env/credential-process too
    if usable(written):
        return written
    with request.lock(sessions.lock_file(name)):
        request.reread()
        cached = sessions.read_cached(name)
        if usable(cached):
            _record_fast(request, cached, locked=True)
            return cached
        written = _written_by_classic(request)
        if usable(written):
            return written
        session = from_sts(request)
        request.keep_discovered()
        if request.record_fast:
            session.fast = _fast_check(request)
        sessions.write_cached(name, session)
        return session


def _written_by_classic(request: Request) -> Session | None:
    """The session in the profile's section of the credentials file, when the tool wrote it there."""
    files, name = request.files, request.settings.profile
    return Session.from_profile(files.credentials[name]) if files.is_managed(name) else None


def _fast_check(request: Request) -> tuple[str, int]:
    from . import fastpath

    files = request.files
    paths = (files.credentials_path, files.config_path)
    check = fastpath.checksum(files.credentials_text, files.config_text, os.environ, paths)
    return check, request.settings.refresh_margin


def _record_fast(request: Request, cached: Session, locked: bool = False) -> None:
    """Let fastpath serve this cached session from now on, as long as nothing it depends on changes.
    Under the profile's lock, and only if no other run holds it (one that does is refreshing)."""
    if not request.record_fast:
        return
    wanted = _fast_check(request)
    if cached.fast == wanted:
        return
    name = request.settings.profile
    try:
        with contextlib.nullcontext() if locked else storage.locked(sessions.lock_file(name), timeout=0):
            current = sessions.read_cached(name)
            if current is not None and current.access_key_id == cached.access_key_id:
                current.fast = wanted
                sessions.write_cached(name, current)
    except ToolError:
        pass  # busy or not writable: the next call records it


def source_account(settings: Settings) -> str | None:
    """The source user's account, as its MFA device's (or login session's) ARN names it (None when not known)."""
    parts = (settings.mfa_serial or settings.login_session or "").split(":")
    return parts[4] if len(parts) == 6 and parts[0] == "arn" and parts[4].isdigit() else None


def _user_arn(serial: str) -> str:
    parts = serial.split(":")
    if len(parts) == 6 and parts[5].startswith("mfa/"):
        return ":".join(parts[:5] + ["user/" + parts[5][4:]])
    return ""
