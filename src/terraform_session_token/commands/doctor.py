"""doctor: explain why Terraform may not be authenticating, each finding with a fix."""

from __future__ import annotations

import json
import os
import stat

from .. import policy
from ..errors import ToolError, terminal_safe
from ..profiles import ENDPOINT_VARS, AwsFiles
from ..sessions import Session, describe_left, parse_time, utcnow

MAX_SKEW = 300


def add_arguments(parser) -> None:
    parser.add_argument("--offline", action="store_true", help="skip the checks that call AWS")


class Report:
    def __init__(self) -> None:
        self.failed = False

    def ok(self, text: str) -> None:
        print(f"ok    {text}")

    def warn(self, text: str, fix: str) -> None:
        print(f"warn  {text}\n      fix: {fix}")

    def fail(self, text: str, fix: str) -> None:
        self.failed = True
        print(f"FAIL  {text}\n      fix: {fix}")


def _sources(files: AwsFiles, settings) -> list[str]:
    """The profiles that could be the source: long-term keys (a file, the keyring) or an aws login."""
    return [
        name
        for name in files.profile_names()
        if name != settings.profile
        and (files.plaintext_keys(name) or files.keys_in_keyring(name) or files.config_for(name).get("login_session"))
    ]


def check_source_profile(report: Report, files: AwsFiles, settings, env=os.environ) -> str | None:
    """First, since everything else follows from it: a source profile that is nowhere, with the fix
    that works (the profile that has keys). Returns the command line that makes a session then."""
    source = settings.source_profile
    if files.has_profile(source) or (not settings.source_explicit and env.get("AWS_ACCESS_KEY_ID")):
        return None
    import difflib

    candidates = _sources(files, settings)
    close = difflib.get_close_matches(source, candidates, n=1)
    pick = close[0] if close else (candidates[0] if len(candidates) == 1 else None)
    if env.get("AWS_PROFILE") in candidates:
        pick = env["AWS_PROFILE"]
    what = f"source profile [{source}] not found in the credentials or config file"
    if candidates:
        what += "; profiles with keys: " + ", ".join(f"[{c}]" for c in candidates)
    if env.get("AWS_PROFILE") and env["AWS_PROFILE"] != source:
        what += (
            f". AWS_PROFILE={env['AWS_PROFILE']} does not choose the source: the keys are read from "
            f"[{source}] unless --source-profile (or session_source_profile) names another"
        )
    profile = "" if settings.profile == "terraform_session" else f" -p {settings.profile}"
    name = pick or "NAME"
    if files.config_for(settings.profile).get("credential_process"):
        command = f"terraform-session-token configure -p {settings.profile} --source-profile {name}"
        done = None  # credential_process then reads the keys of [NAME]
    else:
        command = f"terraform-session-token{profile} --source-profile {name}"
        done = command  # a first run remembers it for the profile
    if pick:
        fix = command
    elif candidates:
        fix = f"{command}, NAME one of: {', '.join(candidates)}; or create [{source}]: aws configure --profile {source}"
    else:
        fix = f"create it: aws configure --profile {source}; or keys of another profile: {command}"
    report.fail(what, fix)
    return done


def check_source_keys(report: Report, files: AwsFiles, settings) -> None:
    """Where the source's long-term keys live; plaintext ones are worth moving."""
    source = settings.source_profile
    if files.keys_in_keyring(source):
        report.ok(f"the long-term keys of source profile [{source}] are in the OS keyring")
    elif files.plaintext_keys(source):
        report.warn(
            f"the long-term keys of source profile [{source}] are in plaintext in {files.plaintext_location(source)}",
            f"terraform-session-token keys import {source}",
        )
    others = [p for p in files.profile_names() if p != source and files.plaintext_keys(p)]
    if others:
        report.warn(
            "other profiles hold long-term keys in plaintext: " + ", ".join(f"[{p}]" for p in others),
            "terraform-session-token keys import NAME, for each",
        )


def check_files(report: Report, files: AwsFiles, settings, env=os.environ, refresh: str | None = None) -> None:
    shadowing = [v for v in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN") if env.get(v)]
    if shadowing:
        report.warn(
            f"{', '.join(shadowing)} set: AWS SDKs and Terraform may use them instead of the profile",
            "unset " + " ".join(shadowing),
        )
    else:
        report.ok("no AWS keys in the environment shadow the profile")
    if env.get("AWS_PROFILE") and env["AWS_PROFILE"] != settings.profile:
        report.warn(
            f"AWS_PROFILE={env['AWS_PROFILE']}: tools without an explicit profile use that, not [{settings.profile}]",
            f"export AWS_PROFILE={settings.profile}, or set profile in Terraform's provider block",
        )
    if files.credentials_text is not None:
        mode = stat.S_IMODE(os.stat(files.credentials_path).st_mode)
        if mode & 0o077:
            report.warn(
                f"{files.credentials_path} is readable by others (mode {mode:o})", f"chmod 600 {files.credentials_path}"
            )
        else:
            report.ok(f"{files.credentials_path} is private (mode {mode:o})")
    conf = files.config_for(settings.profile)
    session = Session.from_profile(files.credentials.get(settings.profile))
    if conf.get("credential_process"):
        if settings.profile in files.credentials:
            report.warn(
                f"[{settings.profile}] has keys in the credentials file and a credential_process in the config: "
                "AWS tools use the keys first",
                f"terraform-session-token -p {settings.profile} moves that session to the cache; or clear -p "
                f"{settings.profile} signs out, keeping what configure wrote"
                if files.is_managed(settings.profile)
                else f"remove [{settings.profile}] from {files.credentials_path} by hand: the tool did not write it",
            )
        else:
            report.ok(f"[{settings.profile}] gets its credentials from: {conf['credential_process']}")
    elif session is None and settings.aws_style_role:
        report.ok(
            f"[{settings.profile}] is an assume-role profile: AWS tools assume its role themselves; "
            f"for MFA sessions with this tool use 'terraform-session-token exec -p {settings.profile} -- ...'"
        )
    elif session is None:
        report.fail(
            f"no session in [{settings.profile}] of {files.credentials_path}",
            f"run: {refresh or 'terraform-session-token -p ' + settings.profile}",
        )
    elif not session.is_fresh(0):
        report.fail(
            f"the session in [{settings.profile}] has expired",
            f"run: {refresh or 'terraform-session-token -p ' + settings.profile}",
        )
    else:
        report.ok(f"the session in [{settings.profile}] is valid ({describe_left(session.seconds_left())})")
    if settings.aws_style_role and not conf.get("credential_process"):
        report.warn(
            f"[profile {settings.profile}] has role_arn and source_profile: AWS tools will assume the role "
            "themselves (and ask for MFA) instead of using the session",
            "rename them to session_role_arn / session_source_profile, or use exec / credential-process",
        )
    has_region = (
        env.get("AWS_REGION")
        or env.get("AWS_DEFAULT_REGION")
        or conf.get("region")
        or files.credentials.get(settings.profile, {}).get("region")
    )
    if has_region:
        report.ok(f"a region is set ({has_region})")
    else:
        report.warn(
            f"no region for [{settings.profile}]", "set region in the profile, AWS_REGION, or the provider block"
        )
    if any(env.get(v) for v in ENDPOINT_VARS):
        report.ok("endpoint override in the environment: " + ", ".join(v for v in ENDPOINT_VARS if env.get(v)))


def _span(seconds: float) -> str:
    hours, minutes = divmod(int(seconds) // 60, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def check_long_runs(report: Report, files: AwsFiles, settings) -> None:
    """Which mode the profile is in, and how long an apply it survives without a new code."""
    from .. import sessions

    conf = files.config_for(settings.profile)
    duration = settings.duration or settings.duration_bounds()[2]
    if settings.mfa_session and settings.mfa_serial:
        cached = sessions.read_cached(sessions.mfa_cache_name(settings.source_profile, settings.mfa_serial))
        left = f"; {describe_left(cached.seconds_left())} of the current one" if cached else ""
        refreshes = f"refreshed without a code for the MFA session's {_span(settings.mfa_session_duration)}{left}"
    elif settings.mfa_session:
        refreshes = f"refreshed without a code for the MFA session's {_span(settings.mfa_session_duration)}"
    elif settings.login_session and not settings.mfa_serial:
        refreshes = "refreshed without a code while the aws login lasts (up to 12 h after 'aws login')"
    elif settings.mfa_process:
        refreshes = "refreshed with a code from mfa_process, for any length"
    elif settings.mfa_prompt == "ykman":
        refreshes = "refreshed with a code from the YubiKey (ykman), for any length"
    else:
        refreshes = f"refreshed with a new MFA code, asked by the MFA prompt, every {_span(duration)}"
    needs_codes = not (
        settings.mfa_session
        or settings.mfa_process
        or settings.mfa_prompt == "ykman"
        or (settings.login_session and not settings.mfa_serial)
    )
    if conf.get("credential_process"):
        if needs_codes:
            report.warn(
                f"mode: credential_process; Terraform's credentials are {refreshes}",
                "set mfa_session = true (one code per MFA session), or mfa_process",
            )
        else:
            report.ok(f"mode: credential_process; Terraform's credentials are {refreshes}")
        return
    session = Session.from_profile(files.credentials.get(settings.profile))
    if session is not None:
        report.ok(
            f"mode: classic credentials file; Terraform reads the keys once, so an apply must end before the "
            f"session does ({describe_left(session.seconds_left())}; a new one lasts {_span(duration)})"
        )
        report.ok(f"with 'exec -p {settings.profile} -- terraform ...' instead, credentials are {refreshes}")
    else:
        report.ok(f"with 'exec -p {settings.profile} -- terraform ...' credentials are {refreshes}")


def check_prompt(report: Report, settings) -> None:
    """Who asks for a code: mfa_process, the driver chosen, or what `auto` picks here and now."""
    import shutil

    from .. import prompts
    from ..prompts.terminal import Prompter

    if settings.mfa_process:
        report.ok(f"MFA codes come from mfa_process: {terminal_safe(settings.mfa_process)}")
        return
    prompter = Prompter(use_tty=True)
    has_terminal = prompter.available
    prompter.close()
    driver = settings.mfa_prompt
    if driver == "auto":
        picked, why = prompts.auto_choice(has_terminal)
        if picked:
            report.ok(f"MFA prompt: auto picks {picked} now, because {why}")
        else:
            report.warn(
                f"MFA prompt: auto has nothing to ask with now: {why}",
                "pass --code, set mfa_process, or choose a prompt with mfa_prompt (see 'When there is no terminal')",
            )
        return
    origin = settings.origins.get("mfa_prompt", "")
    where = {"flag": "--prompt"}.get(origin, origin.replace("config ", "").replace("env ", ""))
    if driver == "terminal":
        missing = None if has_terminal else "there is no terminal here"
    elif not shutil.which(driver):
        missing = f"{driver} is not installed"
    elif driver in ("zenity", "kdialog") and prompts.display_problem():
        missing = prompts.display_problem()
    else:
        missing = None
    if missing:
        report.warn(f"MFA prompt: {driver} (from {where}), but {missing}", "use mfa_prompt = auto, or install it")
    else:
        report.ok(f"MFA prompt: {driver} (from {where})")


def check_login_source(report: Report, settings) -> None:
    """An `aws login` source: the crt extra, the cache the AWS CLI keeps, and what such a session can do."""
    from ..login_cache import token_expiry

    if not settings.login_session:
        return
    source = settings.source_profile
    try:
        settings.check_login_extra()
        report.ok("botocore's crt extra is installed (it signs the login session's refresh)")
    except ToolError as error:
        report.fail(error.message, error.hint)
    expires, where = token_expiry(settings.login_session)
    if expires is None:
        report.fail(f"source [{source}] is an aws login session, but {where}", f"run: aws login --profile {source}")
        return
    when = parse_time(expires)
    left = (when - utcnow()).total_seconds() if when else 0
    state = f"has {describe_left(left)}" if left > 0 else "has expired: the next run refreshes it"
    report.ok(
        f"source [{source}] is an aws login session ({where}); its access token {state}. The AWS CLI and "
        "botocore refresh it every 15 min without a prompt, for up to 12 h after 'aws login'"
    )
    if settings.mfa_serial:
        report.ok(f"with the login source a code is asked for {settings.mfa_serial} (mfa_serial is set)")
    else:
        report.ok(
            "with the login source the role is asked for without a code (the browser sign-in had your MFA); "
            "if the role's trust requires MFA and AWS refuses, set mfa_serial"
        )


def check_session_options(report: Report, settings) -> None:
    """What the profile's sessions are assumed with besides the role: session policies, source identity, tags."""
    narrowing = settings.narrowing
    if not narrowing:
        return
    from ..options import NARROWING

    where = sorted({settings.origins[d].replace("config ", "") for d in NARROWING if d in settings.origins})
    report.ok(f"session options: {narrowing.describe()} (from {', '.join(where)})")
    if narrowing.policy_from_file:
        report.warn(
            "session_policy is a file:// in the config file: every credential-process call reads it and takes "
            "the full path (no cached answer without the parser)",
            f"write the policy itself: terraform-session-token configure -p {settings.profile} --policy file://PATH",
        )


def check_console(report: Report, files: AwsFiles, settings) -> None:
    """Whether `console` can sign in with this profile's sessions, and for how long."""
    if settings.no_role:
        report.ok(
            f"console: not with [{settings.profile}]: it is a session of the IAM user itself, and AWS signs in "
            "to the console only with role sessions"
        )
    elif settings.mfa_session or settings.login_session:
        via = "the MFA session" if settings.mfa_session else "the aws login session"
        report.ok(
            f"console: 'console -p {settings.profile}' signs in for at most 1 h at a time (the role is chained "
            f"from {via}); each sign-in needs no code while {via} lasts"
        )
    else:
        value = files.config_for(settings.profile).get("console_duration")
        span = _span(int(value)) if value and value.isdigit() else _span(43200)
        report.ok(f"console: 'console -p {settings.profile}' signs in for {span} from the same session")


def check_mfa_session(report: Report, sts, settings, devices) -> None:
    """A cached MFA session that AWS no longer takes would otherwise look fine until the next refresh."""
    from .. import sessions

    serial = settings.mfa_serial or (devices[0] if devices and len(devices) == 1 else None)
    if not settings.mfa_session or not serial:
        return
    name = sessions.mfa_cache_name(settings.source_profile, serial)
    cached = sessions.read_cached(name)
    if cached is None or not cached.is_fresh(0):
        return
    try:
        sts.caller_identity(credentials=cached, attempts=1)
    except ToolError:
        report.fail(
            f"AWS no longer accepts the cached MFA session of [{settings.source_profile}] "
            f"({describe_left(cached.seconds_left())} by its clock)",
            f"the next refresh replaces it with one code; or now: terraform-session-token clear -p {settings.profile}",
        )
        return
    report.ok(
        f"AWS accepts the cached MFA session of [{settings.source_profile}] ({describe_left(cached.seconds_left())})"
    )


def check_aws(report: Report, files: AwsFiles, settings) -> None:
    from ..aws import Connection
    from ..providers import source_keys

    try:
        aws = Connection(settings, files.has_profile(settings.source_profile), source_keys(settings, files))
        aws.check_source_credentials()
        identity = aws.sts.caller_identity()
    except ToolError as e:
        source = f"[{settings.source_profile}]"
        what = e.message if source in e.message else f"source profile {source}: {e.message}"
        report.fail(what, e.hint or "check the source keys")
        return
    report.ok(f"source profile [{settings.source_profile}] is {identity['Arn']}")
    from email.utils import parsedate_to_datetime

    server_date = identity.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    if server_date:
        skew = abs((utcnow() - parsedate_to_datetime(server_date)).total_seconds())
        if skew > MAX_SKEW:
            report.fail(f"this machine's clock is {int(skew)} s off AWS's", "sync it: sudo timedatectl set-ntp true")
        else:
            report.ok(f"clock within {int(skew)} s of AWS")
    try:
        devices = [settings.mfa_serial] if settings.mfa_serial else aws.iam.list_mfa_devices()
    except ToolError as e:
        report.warn(f"can't list MFA devices: {e.message}", e.hint)
        devices = None
    check_mfa_session(report, aws.sts, settings, devices)
    if devices == []:
        report.fail("no MFA device is assigned to the source user", "assign a virtual MFA device in the IAM console")
    elif devices:
        report.ok("MFA device: " + ", ".join(devices))
    if settings.no_role:
        return
    role = settings.role or "TerraformRole"
    name = role.split("/")[-1]
    if role.startswith("arn:") and role.split(":")[4] != identity.get("Account"):
        report.ok(
            f"{role} is in account {role.split(':')[4]}, not the source's {identity.get('Account')}: "
            "its trust policy and maximum duration can only be read there (a refresh will tell)"
        )
        return
    try:
        response = aws.iam.describe_role(name)
    except ToolError as e:
        report.fail(f"role {role}: {e.message}", e.hint)
        return
    document = response.get("AssumeRolePolicyDocument")
    text = document if isinstance(document, str) else json.dumps(document)
    if "aws:MultiFactorAuthPresent" not in text and "aws:MultiFactorAuthAge" not in text:
        report.warn(
            f"{response['Arn']}'s trust policy does not require MFA: the source keys alone can assume it",
            "add Bool aws:MultiFactorAuthPresent = true (see: terraform-session-token policy)",
        )
    else:
        report.ok(f"{response['Arn']} requires MFA to be assumed")
    for used, action, flag in (
        (settings.narrowing.source_identity, "sts:SetSourceIdentity", "--set-source-identity"),
        (settings.narrowing.tags, "sts:TagSession", "--tag-session"),
    ):
        if used and not policy.allows_action(document, action):
            report.fail(
                f"{response['Arn']}'s trust policy does not allow {action}, which "
                + ("source_identity" if "Source" in action else "session_tags")
                + " needs: AWS will refuse the role",
                f"add {action} to the Action of its statement that lets you assume it "
                f"(see: terraform-session-token policy {flag})",
            )
        elif used:
            report.ok(f"{response['Arn']}'s trust policy allows {action}")
    maximum = int(response.get("MaxSessionDuration") or 3600)
    wanted = settings.duration or 3600
    if wanted > maximum:
        report.fail(f"duration {wanted} s is above the role's maximum of {maximum} s", f"use -d {maximum} or less")
    else:
        report.ok(f"duration {wanted} s is within the role's maximum of {maximum} s")


def run(args) -> int:
    from .common import load, warn_no_verify

    files, settings = load(args)
    warn_no_verify(settings)
    report = Report()
    refresh = check_source_profile(report, files, settings)
    source_missing = report.failed
    check_files(report, files, settings, refresh=refresh)
    check_source_keys(report, files, settings)
    check_login_source(report, settings)
    check_long_runs(report, files, settings)
    check_prompt(report, settings)
    check_session_options(report, settings)
    check_console(report, files, settings)
    if not args.offline and not source_missing:  # the cause is said, first and once
        check_aws(report, files, settings)
    return 1 if report.failed else 0
