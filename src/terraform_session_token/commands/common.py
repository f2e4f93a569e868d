"""What several commands share: loading settings, the safety checks, the two file writes."""

from __future__ import annotations

import os
import sys

from .. import inifile, marks, storage
from ..errors import ConfigError, CredentialsError, ToolError, UnsafeWriteError, UsageError
from ..profiles import MARKER, OWN_ROLE_KEY, OWN_ROLE_NAME_KEY, AwsFiles, Settings, resolve
from ..sessions import Session


def update_ini(path: str, edit) -> None:
    """storage.update_file for an AWS file: the edited text must still be one botocore reads."""

    def checked(text: str) -> str:
        new = edit(text)
        if new != text:
            try:
                inifile.parse(new)
            except inifile.IniSyntaxError as e:
                raise ConfigError(
                    f"the change would leave {path} unreadable for AWS tools ({e})", "it was left untouched"
                )
        return new

    storage.update_file(path, checked)


def load(args, new_profile_ok: bool = False) -> tuple[AwsFiles, Settings]:
    """The files and the profile's settings; a -p NAME found nowhere is refused (see check_target_exists)."""
    files = AwsFiles.load()
    settings = resolve(args, files)
    if not new_profile_ok:
        check_target_exists(files, settings, args)
    return files, settings


def check_target_exists(files: AwsFiles, settings: Settings, args) -> None:
    """Before any question: a -p NAME that no file and no cache knows is a typo, with a close name
    if any, unless the user asked for a new profile by giving its role (--role, or --no-role)."""
    unknown = unknown_target(files, settings, args)
    if unknown is not None:
        raise unknown[0]


def unknown_target(files: AwsFiles, settings: Settings, args) -> tuple[UsageError, str | None] | None:
    """A -p NAME that no file and no cache knows, its role not given: the refusal that says so, and
    a close name if there is one (a typo); None for a known profile."""
    from ..profiles import DEFAULT_PROFILE
    from ..sessions import cache_file

    name = settings.profile
    if (
        not getattr(args, "profile", None)
        or name == DEFAULT_PROFILE
        or getattr(args, "role", None)
        or getattr(args, "no_role", False)
        or files.has_profile(name)
        or os.path.exists(cache_file(name))
    ):
        return None
    import difflib

    close = difflib.get_close_matches(name, files.profile_names(), n=1)
    create = f"to create [{name}], give its role: --role NAME"
    error = UsageError(
        f"profile [{name}] is not in the credentials or config file",
        f"did you mean -p {close[0]}? Or, {create}" if close else f"{create}, or configure -p {name} --role NAME",
    )
    return error, (close[0] if close else None)


def tool_process(files: AwsFiles, profile: str) -> str | None:
    """The profile's credential_process when it is this tool's for this very profile (configure
    wrote it); "" when it is another program's; None when there is none."""
    command = files.config_for(profile).get("credential_process")
    if not command:
        return None
    words = command.replace('"', " ").replace("'", " ").split()
    ours = any("terraform-session-token" in w or w == "terraform_session_token" for w in words)
    named = [words[i + 1] for i, w in enumerate(words[:-1]) if w in ("-p", "--profile")]
    if ours and "credential-process" in words and (named[-1] if named else "terraform_session") == profile:
        return command
    return ""


def check_writable(path: str) -> None:
    """Fail before any AWS call (and before a code is spent) if `path` can't be replaced."""
    storage.check_replaceable(path)


def check_source_exists(files: AwsFiles, settings: Settings, env=os.environ) -> None:
    """Before any question: a source profile that is nowhere is said at once, with a close name if any."""
    source = settings.source_profile
    if files.has_profile(source) or (not settings.source_explicit and env.get("AWS_ACCESS_KEY_ID")):
        return
    import difflib

    close = difflib.get_close_matches(source, files.profile_names(), n=1)
    hint = (
        f"did you mean --source-profile {close[0]}?"
        if close
        else (f"create it with: aws configure --profile {source}, or pass --source-profile")
    )
    raise CredentialsError(f"source profile [{source}] not found in the credentials or config file", hint)


def refuse_unsafe_target(credentials_text: str, settings: Settings, overwrite_keys: bool) -> bool:
    """Check that the session may go into [profile]; returns whether the section exists."""
    name = settings.profile
    try:
        values = inifile.section_values(credentials_text, name)
    except inifile.IniSyntaxError as e:
        raise ConfigError(f"can't parse the credentials file: {e}", "fix it by hand; it was left untouched")
    if values is None:
        return False
    if holds_long_term_keys(values) and not overwrite_keys:
        # Even in a section the tool wrote before: `aws configure` may have put keys there since.
        raise UnsafeWriteError(
            f"the profile [{name}] in the credentials file holds long-term keys; "
            "writing a session there would destroy them",
            "choose another -p, or pass --overwrite-keys if you really mean it",
        )
    return True


def holds_long_term_keys(values: dict[str, str]) -> bool:
    """An access key without a session token, or an IAM user's key (AKIA...) whatever else is there."""
    key = values.get("aws_access_key_id") or ""
    return bool(key) and (not values.get("aws_session_token") or key.startswith("AKIA"))


def refuse_aws_style_target(settings: Settings, files: AwsFiles) -> None:
    """A config profile with role_arn + source_profile makes AWS readers assume the role themselves."""
    if settings.aws_style_role:
        raise ConfigError(
            f"[{settings.profile}] has role_arn and "
            "source_profile, so AWS tools would assume that role themselves and ignore a session "
            f"written to [{settings.profile}]",
            f"use 'exec -p {settings.profile}' or credential-process, or write the session to another -p",
        )


SESSION_KEYS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token", "aws_security_token",
                "expiration", "session_arn", "session_narrowing", "region")  # fmt: skip


def write_session_profile(files: AwsFiles, settings: Settings, session: Session, overwrite_keys: bool) -> bool:
    """Put the session into the credentials file; returns whether the profile already existed.

    A section the tool creates carries its marker; a section the user had (region, output, a
    comment) also gets a `session` marker line (marks.py) recording the keys it added and the
    lines it replaced, so that clear gives the section back as it was."""
    existed = []

    def edit(text: str) -> str:
        existed.append(refuse_unsafe_target(text, settings, overwrite_keys))  # again, under the lock
        name = settings.profile
        values = session.profile_values()
        current = inifile.section_values(text, name) or {}
        explicit = settings.origins.get("region", "").startswith(("flag", "env"))
        if not values.get("region") or (current.get("region") and not explicit):
            del values["region"]  # a region in the section stays unless --region / AWS_REGION says otherwise
        users = existed[-1] and (not inifile.has_line(text, name, MARKER) or marks.read(text, name, credentials=True))
        if users:
            text = checked_edit(files.credentials_path, marks.write, text, name, marks.SESSION, values, True)
            return inifile.set_section(text, name, {}, marker=MARKER)
        return inifile.set_section(text, name, values, marker=MARKER)

    update_ini(files.credentials_path, edit)
    return existed[-1]


def checked_edit(path: str, edit, text: str, *args):
    """edit(text, *args) for a file that must parse first (its other sections are the user's)."""
    try:
        inifile.parse(text)
        return edit(text, *args)
    except inifile.IniSyntaxError as e:
        raise ConfigError(f"can't parse {path}: {e}", "fix it by hand; it was left untouched")


def remember(files: AwsFiles, settings: Settings, discovered: dict[str, str], say=None) -> None:
    """Store what discovery found in the profile's config section (marked as remembered, so that
    clear takes it back), so next time needs no IAM call."""
    section = files.config_section(settings.profile)

    def missing(current: dict[str, str]) -> dict[str, str]:
        # A role known by name gets its ARN, unless it is another role's (a one-off --role);
        # anything else set already stays.
        found = {}
        for key, value in discovered.items():
            if not value:
                continue
            if key == OWN_ROLE_KEY:
                known = current.get(OWN_ROLE_KEY, "")
                name = current.get(OWN_ROLE_NAME_KEY) or ("" if known.startswith("arn:") else known)
                wanted = value.split("/")[-1]
                if name and (name != wanted or known.split("/")[-1] == wanted and known.startswith("arn:")):
                    continue  # a one-off --role, not the profile's; or its ARN is known already
                if not name and known:
                    continue  # an ARN already, and no name to check it against
            elif current.get(key):
                continue
            found[key] = value
        return found

    if not missing(files.config_for(settings.profile)):
        return
    done: list[str] = []

    def edit(text: str) -> str:
        current = inifile.section_values(text, section) or {}
        values = missing(current)
        done[:] = list(values)
        return checked_edit(files.config_path, marks.write, text, section, marks.REMEMBERED, values) if values else text

    update_ini(files.config_path, edit)
    if done:
        (say or _to_stderr)(f"Remembered in [{section}] of {files.config_path}: {', '.join(done)}")


def _quiet(line: str) -> None:
    """Nothing said: the config file's marker line records it."""


def _to_stderr(line: str) -> None:
    print(f"terraform-session-token: {line}", file=sys.stderr)


def remember_or_warn(files: AwsFiles, settings: Settings, discovered: dict[str, str], say=None) -> None:
    """The session is already good: failing to remember only costs discovery next time."""
    try:
        remember(files, settings, discovered, say)
    except ToolError as error:
        print(f"terraform-session-token: warning: not remembered in the config file: {error.line()}", file=sys.stderr)


def warn_no_verify(settings: Settings) -> None:
    if not settings.verify_ssl:
        print(
            "terraform-session-token: warning: TLS verification is disabled (-v); "
            "give your proxy's CA with --ca-bundle PATH or AWS_CA_BUNDLE instead",
            file=sys.stderr,
        )


class SessionSource:
    """The profile's session for exec, env and credential-process: cached, else from AWS.

    exec's credential endpoint asks it again and again for as long as the child runs.
    """

    def __init__(
        self,
        args,
        use_tty: bool = True,
        wait_limit: float | None = None,
        record_fast: bool = False,
        under_sdk: bool = False,
    ):
        from ..prompts.terminal import Prompter
        from ..providers import Request

        files, settings = load(args)
        settings.effective_duration()
        warn_no_verify(settings)
        self.prompter = Prompter(use_tty=use_tty)
        self.request = Request(settings, files, self.prompter, getattr(args, "code", None), wait_limit, args=args)
        self.request.save_discovered = self._remember
        self.request.record_fast = record_fast
        # Under an SDK (credential-process) stderr is the caller's output (Terraform's init):
        # what was remembered is said on the terminal the code was typed at, or not at all.
        self.under_sdk = under_sdk

    def _remember(self, files: AwsFiles, settings: Settings, remembered: dict[str, str]) -> None:
        """What discovery found, into the config file (called by the providers under the profile's lock)."""
        say = None
        if self.under_sdk:
            say = self._say_on_terminal if self.prompter.asked else _quiet
        remember_or_warn(files, settings, remembered, say)

    @property
    def settings(self) -> Settings:
        """The profile's settings, resolved anew when a run this one waited for remembered something."""
        return self.request.settings

    @property
    def files(self) -> AwsFiles:
        return self.request.files

    def get(self, force: bool = False, min_left: int = 0) -> Session:
        from ..providers import cached_or_new

        session = cached_or_new(self.request, force=force, min_left=min_left)
        self.request.code_flag = None  # a code is good once: later refreshes ask anew
        return session

    def _say_on_terminal(self, line: str) -> None:
        self.prompter.say(f"terraform-session-token: {line[0].lower()}{line[1:]}")

    def close(self) -> None:
        self.prompter.close()


def cached_session(
    args,
    use_tty: bool = True,
    wait_limit: float | None = None,
    min_left: int = 0,
    record_fast: bool = False,
    under_sdk: bool = False,
):
    """The profile's session once (env, credential-process, exec with static keys)."""
    source = SessionSource(args, use_tty, wait_limit, record_fast, under_sdk)
    try:
        return source.get(force=bool(getattr(args, "force", False)), min_left=min_left), source.settings
    finally:
        source.close()
