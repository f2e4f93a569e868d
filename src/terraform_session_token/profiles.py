"""What a profile asks for, merged from flags > environment > config file > defaults.

The AWS files are read and parsed once per run, without botocore.
"""

from __future__ import annotations

import os
import re

from . import inifile, options, storage
from .errors import ConfigError, ExtraMissing, UsageError
from .narrowing import Narrowing
from .options import NARROWING, OWN_ROLE_KEY, OWN_ROLE_NAME_KEY, OWN_SOURCE_KEY  # noqa: F401 - other modules import them from here

DEFAULT_PROFILE = "terraform_session"
DEFAULT_SOURCE = "default"
DEFAULT_ROLE = "TerraformRole"
DEFAULT_REGION = "us-east-1"
DEFAULT_MARGIN = 300
ROLE_DURATION = (900, 43200, 3600)  # low, high, default
USER_DURATION = (900, 129600, 43200)
ROLE_CHAINING_LIMIT = 3600
MFA_SESSION_DURATION = 43200  # one code a day: a 12-hour MFA session unless configured
DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?", re.ASCII)
ARN = re.compile(r"arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b):iam::([0-9]{12}):role/([\x21-\x7e]+)")
SERIAL = re.compile(r"arn:(aws[a-z-]*):iam::([0-9]{12}):mfa/([\x21-\x7e]+)")
URL = re.compile(r"https?://(?:\[[0-9A-Fa-f:.]+\]|[^\s/?#:@\[\]]+)(?::(?P<port>[0-9]{1,5}))?(?:[/?#]\S*)?", re.ASCII)
# botocore's own check of a region name
REGION = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?")
ENDPOINT_VARS = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_IAM")

# The keys the tool writes for a profile it manages (OWN_ROLE_KEY, OWN_SOURCE_KEY, in
# options.py) are not role_arn/source_profile on purpose: with those, AWS readers would
# assume the role themselves and ignore the session written to the credentials file.
MARKER = "# managed by terraform-session-token"
# Left in a source profile of the credentials file whose keys were moved into the OS keyring.
KEYRING_MARKER = "# aws_access_key_id, aws_secret_access_key: in the OS keyring (terraform-session-token keys)"


def _expand(path: str) -> str:
    """$VARS then ~, as botocore and the AWS CLI expand the file variables."""
    return os.path.expanduser(os.path.expandvars(path))


def credentials_path(env=os.environ) -> str:
    return _expand(env.get("AWS_SHARED_CREDENTIALS_FILE") or os.path.join("~", ".aws", "credentials"))


def config_path(env=os.environ) -> str:
    return _expand(env.get("AWS_CONFIG_FILE") or os.path.join("~", ".aws", "config"))


def profile_sections(config: dict[str, dict[str, str]]) -> dict[str, str]:
    """Profile name -> the config section botocore reads it from: `[profile "qp"]` is qp,
    `[default]` is default; a later section wins, as in botocore's build_profile_map."""
    found: dict[str, str] = {}
    for section in config:
        if section.startswith("profile"):
            if any(c in section for c in "\"'\\"):
                import shlex  # only quoted names need it (start-up time)

                try:
                    parts = shlex.split(section)
                except ValueError:
                    continue
            else:
                parts = section.split()
            if len(parts) == 2:
                found[parts[1]] = section
        elif section == "default":
            found["default"] = section
    return found


def config_section_name(profile: str) -> str:
    return "default" if profile == "default" else f"profile {profile}"


def _parse(path: str, text: str | None) -> dict[str, dict[str, str]]:
    try:
        return inifile.parse(text or "")
    except inifile.IniSyntaxError as e:
        raise ConfigError(f"can't parse {path}: {e}", "fix the file by hand; it was left untouched")


class AwsFiles:
    """The credentials and config files as read at start-up."""

    def __init__(self, credentials_path, config_path, credentials_text, config_text, credentials, config):
        self.credentials_path: str = credentials_path
        self.config_path: str = config_path
        self.credentials_text: str | None = credentials_text
        self.config_text: str | None = config_text
        self.credentials: dict[str, dict[str, str]] = credentials
        self.config: dict[str, dict[str, str]] = config

    @classmethod
    def load(cls, env=os.environ) -> AwsFiles:
        cred, conf = credentials_path(env), config_path(env)
        cred_text, conf_text = storage.read_text(cred), storage.read_text(conf)
        return cls(cred, conf, cred_text, conf_text, _parse(cred, cred_text), _parse(conf, conf_text))

    def config_section(self, profile: str) -> str:
        """The section holding the profile in the config file as botocore finds it, or the name to create."""
        if not hasattr(self, "_sections"):
            self._sections = profile_sections(self.config)
        return self._sections.get(profile) or config_section_name(profile)

    def config_for(self, profile: str) -> dict[str, str]:
        return self.config.get(self.config_section(profile), {})

    def profile_names(self) -> list[str]:
        """Every profile the two files define, as botocore names them."""
        return sorted(set(self.credentials) | set(profile_sections(self.config)))

    def login_sources(self) -> list[str]:
        """The profiles that are `aws login` sessions (login_session in the config file)."""
        return [name for name in profile_sections(self.config) if self.config_for(name).get("login_session")]

    def has_profile(self, profile: str) -> bool:
        return profile in self.credentials or self.config_section(profile) in self.config

    def _marked(self, marker: str) -> set[str]:
        """The credentials file's sections holding `marker` (found once per run, for any number of profiles)."""
        found = self.__dict__.setdefault("_marked_sections", {})
        if marker not in found:
            found[marker] = inifile.sections_with_line(self.credentials_text or "", marker)
        return found[marker]

    def is_managed(self, profile: str) -> bool:
        """Whether the credentials file's [profile] section carries our marker."""
        return profile in self._marked(MARKER)

    def keys_in_keyring(self, profile: str) -> bool:
        """Whether the credentials file, or the profile's config section, says its keys are in the OS keyring."""
        if profile in self._marked(KEYRING_MARKER):
            return True
        found = self.__dict__.setdefault("_config_keyring", None)
        if found is None:
            found = self._config_keyring = inifile.sections_with_line(self.config_text or "", KEYRING_MARKER)
        return self.config_section(profile) in found

    def plaintext_location(self, profile: str) -> str | None:
        """The file holding the profile's long-term keys in plaintext (credentials first), or None."""
        for path, values in (
            (self.credentials_path, self.credentials.get(profile, {})),
            (self.config_path, self.config_for(profile)),
        ):
            if values.get("aws_secret_access_key") and not values.get("aws_session_token"):
                return path
        return None

    def plaintext_keys(self, profile: str) -> bool:
        """Whether the profile holds long-term keys in plaintext in the credentials or config file."""
        return self.plaintext_location(profile) is not None

    def managed_profiles(self) -> list[str]:
        return [p for p in self.credentials if self.is_managed(p)]


class Settings:
    """Everything one run needs to know about the profile it works on."""

    def __init__(self, profile: str = DEFAULT_PROFILE):
        self.profile = profile
        self.source_profile = DEFAULT_SOURCE
        self.source_explicit = False
        self.role: str | None = None  # a name (resolved in the source account) or a full ARN
        self.mfa_serial: str | None = None
        self.duration: int | None = None
        self.session_name: str | None = None
        self.external_id: str | None = None
        self.region: str | None = None
        self.endpoint_url: str | None = None
        self.ca_bundle: str | None = None
        self.verify_ssl = True
        self.sts_regional_endpoints: str | None = None
        self.mfa_process: str | None = None
        self.mfa_prompt = "auto"
        self.login_session: str | None = None  # the source profile is an `aws login` session
        self.ykman_oath_account: str | None = None
        self.ykman_device: str | None = None
        self.mfa_session = False
        self.no_role = False
        self.refresh_margin = DEFAULT_MARGIN
        self.mfa_session_duration = MFA_SESSION_DURATION
        self.min_left: int | None = None  # --min-left: what a long run needs, in seconds
        self.aws_style_role = False  # the config section has role_arn + source_profile
        self.origins: dict[str, str] = {}
        # Session policies, source identity, session tags: what the profile asks for, as given
        # (lists split), and checked (narrowing.build) into what AssumeRole is sent.
        self.policy_arns: list[str] | None = None
        self.session_policy: str | None = None
        self.source_identity: str | None = None
        self.session_tags: list[str] | None = None
        self.transitive_tag_keys: list[str] | None = None
        self.narrowing = Narrowing()

    def _check_login_source(self, duration: int) -> None:
        """What an `aws login` source can't do, refused before any prompt or call: its credentials
        are temporary, and GetSessionToken takes only an IAM user's long-term keys."""
        source = f"[{self.source_profile}] is an aws login session"
        if self.no_role or self.mfa_session:
            what = "--no-role" if self.no_role else "mfa_session"
            raise UsageError(
                f"{what} needs GetSessionToken, which AWS takes only with long-term keys, and the source {source}",
                "drop it: the login session already lasts up to 12 h without a new code"
                if self.mfa_session
                else "use a role with the login source, or a source profile with long-term keys",
            )
        if duration > ROLE_CHAINING_LIMIT:
            raise UsageError(
                f"duration {duration} s is not possible with the source {source}: a role assumed with "
                "session credentials lasts 1 hour at most",
                f"use -d {ROLE_CHAINING_LIMIT} or less: refreshes need no code while the login lasts",
            )

    def check_login_extra(self) -> None:
        """botocore signs the login session's refresh (DPoP) with awscrt: without it, say so first."""
        if not self.login_session:
            return
        try:
            import awscrt.crypto  # noqa: F401
        except ImportError:
            raise ExtraMissing(
                f"the source profile [{self.source_profile}] is an aws login session, which needs botocore's crt extra",
                "pip install 'terraform-session-token[login]'",
            ) from None

    @property
    def role_arn(self) -> str | None:
        return self.role if self.role and self.role.startswith("arn:") else None

    def duration_bounds(self) -> tuple[int, int, int]:
        return USER_DURATION if self.no_role else ROLE_DURATION

    def effective_duration(self) -> int:
        """The duration to ask for, validated before any AWS call."""
        low, high, default = self.duration_bounds()
        duration = self.duration if self.duration is not None else default
        kind = "a session token" if self.no_role else "a role session"
        if not low <= duration <= high:
            raise UsageError(
                f"duration {duration} s is out of range for {kind}",
                f"use -d between {low} and {high} seconds",
            )
        if self.refresh_margin >= duration:
            raise UsageError(
                f"the refresh margin ({self.refresh_margin} s) is not shorter than the session ({duration} s)",
                "use a smaller --margin or session_refresh_margin",
            )
        if self.login_session:
            self._check_login_source(duration)
        if self.mfa_session and not self.no_role and duration > ROLE_CHAINING_LIMIT:
            raise UsageError(
                f"duration {duration} s is not possible with mfa_session: AWS caps a role "
                "assumed with session credentials at 1 hour",
                f"use -d {ROLE_CHAINING_LIMIT} or less, or turn mfa_session off for this profile",
            )
        return duration


def parse_duration(text: str) -> int:
    """Seconds from "3600", "90s", "15m", "2h", "1h30m" or "1d"; ValueError otherwise."""
    m = DURATION.fullmatch(text.strip().lower()) if isinstance(text, str) else None
    if not m or not text.strip() or not any(m.groups()):
        raise ValueError(f"{text!r} is not a duration (e.g. 3600, 90m, 2h, 1h30m)")
    days, hours, minutes, seconds = (int(g or 0) for g in m.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def _bool(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _int(name: str, value, where: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a whole number of seconds, not {value!r}", f"fix it in {where}")


def resolve(args, files: AwsFiles, env=os.environ) -> Settings:
    """Merge command-line flags, environment, config file and defaults into Settings."""
    profile = getattr(args, "profile", None) or DEFAULT_PROFILE
    try:
        inifile.check_profile_name(profile)
    except ValueError as e:
        raise UsageError(str(e), "choose another name with -p")
    if profile.startswith("mfa-session--") or profile == "__profiles__":
        raise UsageError(f"the profile name {profile} is reserved for the tool's own files", "choose another -p")
    conf = files.config_for(profile)
    where = f"[{files.config_section(profile)}] of {files.config_path}"
    s = Settings(profile=profile)
    origins = s.origins

    def pick(dest: str):
        return options.pick(dest, args, conf, env, origins)

    # botocore merges the credentials file's section into the profile: role_arn there counts too.
    merged = {**files.credentials.get(profile, {}), **conf}
    s.aws_style_role = bool(
        merged.get("role_arn") and (merged.get("source_profile") or merged.get("credential_source"))
    )
    source = pick("source_profile")
    s.source_explicit = source is not None
    s.source_profile = source or DEFAULT_SOURCE
    if s.source_profile == "__profiles__":
        raise UsageError("the source profile name __profiles__ is the tool's own keyring item", "rename the profile")
    s.role = pick("role")
    name = conf.get(OWN_ROLE_NAME_KEY)
    if name and origins.get("role") == f"config {OWN_ROLE_KEY}" and s.role.split("/")[-1] != name:
        s.role, origins["role"] = name, f"config {OWN_ROLE_NAME_KEY}"  # renamed since the ARN was remembered
    s.mfa_serial = pick("serial")
    s.duration = _int("duration_seconds", pick("duration"), where)
    s.session_name = pick("session_name")
    s.external_id = pick("external_id")
    s.region = pick("region")
    if not s.region:
        source_values = {**files.credentials.get(s.source_profile, {}), **files.config_for(s.source_profile)}
        s.region = source_values.get("region")  # botocore merges both files the same way
        origins["region"] = "source profile" if s.region else "default"
        s.region = s.region or DEFAULT_REGION
    _check_region(s.region, origins.get("region", ""), where)
    # botocore itself honours AWS_ENDPOINT_URL*; the config value only applies without them.
    endpoint_flag = getattr(args, "endpoint_url", None)
    env_endpoint = any(env.get(v) for v in ENDPOINT_VARS)
    s.endpoint_url = endpoint_flag or (None if env_endpoint else conf.get("endpoint_url"))
    if endpoint_flag:
        _check_url(
            endpoint_flag, "--endpoint-url", UsageError, "give a URL such as https://sts.us-east-1.amazonaws.com"
        )
    elif s.endpoint_url:
        _check_url(s.endpoint_url, f"endpoint_url in {where}", ConfigError, f"fix it in {where}")
    for var in ENDPOINT_VARS:
        if env.get(var):
            _check_url(env[var], var, UsageError, f"fix or unset {var}")
    s.ca_bundle = getattr(args, "ca_bundle", None) or (None if env.get("AWS_CA_BUNDLE") else conf.get("ca_bundle"))
    s.verify_ssl = not getattr(args, "no_verify_ssl", False)
    s.sts_regional_endpoints = conf.get("sts_regional_endpoints")
    s.mfa_process = pick("mfa_process")
    prompt = pick("mfa_prompt")
    if prompt:
        from . import prompts

        origin = origins.get("mfa_prompt", "")
        if origin.startswith("config"):
            s.mfa_prompt = prompts.check_name(prompt, where, ConfigError)
        else:
            s.mfa_prompt = prompts.check_name(prompt, "--prompt" if origin == "flag" else prompts.ENV, UsageError)
    s.login_session = files.config_for(s.source_profile).get("login_session") or None
    s.ykman_oath_account = pick("ykman_oath_account")
    s.ykman_device = pick("ykman_device")
    s.mfa_session = _bool(str(pick("mfa_session")))
    # A profile that names an MFA device but no role is a plain IAM user session.
    s.no_role = bool(getattr(args, "no_role", False)) or bool(
        conf.get("mfa_serial") and not s.role and getattr(args, "role", None) is None
    )
    margin = _int("session_refresh_margin", pick("margin"), where)
    s.refresh_margin = margin if margin is not None else DEFAULT_MARGIN
    if s.refresh_margin < 0:
        raise UsageError(f"the refresh margin {s.refresh_margin} s is negative", "use --margin 0 or more")
    mfa_duration = _int("mfa_session_duration", pick("mfa_session_duration"), where)
    if mfa_duration is not None:
        low, high, _ = USER_DURATION
        if not low <= mfa_duration <= high:
            raise UsageError(
                f"an MFA session of {mfa_duration} s is out of range",
                f"use between {low} and {high} seconds, 36 h",
            )
        s.mfa_session_duration = mfa_duration
    min_left = getattr(args, "min_left", None)
    if min_left is not None:
        try:
            s.min_left = parse_duration(min_left)
        except ValueError as e:
            raise UsageError(f"--min-left: {e}", "give how long your run needs, e.g. --min-left 2h")
        if 0 < s.min_left < s.refresh_margin:  # 0: no minimum (exec's default is 15m)
            raise UsageError(
                f"--min-left {min_left.strip()} is {s.min_left} s, less than the {s.refresh_margin} s refresh margin "
                "every session keeps anyway",
                "give how long your run needs, with a unit: e.g. --min-left 2h",
            )
    for dest in NARROWING:
        setattr(s, dest, pick(dest))
    if any(getattr(s, dest) for dest in NARROWING):
        from . import narrowing

        s.narrowing = narrowing.build({d: getattr(s, d) for d in NARROWING}, origins, where, s.no_role)
    if s.role and s.role.startswith("arn:") and not ARN.fullmatch(s.role):
        raise UsageError(
            f"{s.role!r} is not an IAM role ARN", "use arn:PARTITION:iam::ACCOUNT:role/NAME or a role name"
        )
    if s.mfa_serial and len(s.mfa_serial) < 9:
        raise UsageError(f"{s.mfa_serial!r} is not an MFA serial number", "use the device's ARN or serial")
    if s.source_profile == s.profile:
        raise UsageError(
            f"the source profile and the session profile are both [{profile}]",
            "the session would overwrite its own long-term keys: choose another -p or --source-profile",
        )
    return s


def _check_region(region: str, origin: str, where: str) -> None:
    if REGION.fullmatch(region or ""):
        return
    shown = inifile.printable(region)
    if origin.startswith("config") or origin == "source profile":
        raise ConfigError(f"the region {shown} in {where} is not a region name", "e.g. us-east-1; fix the file")
    raise UsageError(f"the region {shown} is not a region name", "e.g. --region us-east-1")


def _check_url(url: str, name: str, error, hint: str) -> None:
    """http(s)://host[:port][/path]: a regular expression, since urllib.parse costs start-up time."""
    m = URL.fullmatch(url)
    if not m or (m.group("port") and not 0 < int(m.group("port")) < 65536):
        raise error(f"{name} {inifile.printable(url)} is not an http(s) URL", hint)


def session_name_for(settings: Settings, serial: str) -> str:
    """RoleSessionName: configured, else the MFA serial's user name (auditable in CloudTrail)."""
    if settings.session_name:
        name = settings.session_name
    elif not serial and settings.login_session:
        name = settings.login_session.rsplit("/", 1)[-1].rsplit(":", 1)[-1]  # arn:...:user/alice: alice
    else:
        m = SERIAL.fullmatch(serial or "")
        name = m.group(3).split("/")[-1] if m else os.environ.get("USER", "terraform")
    name = re.sub(r"[^\w+=,.@-]", "-", name)[:64]
    return name if len(name) >= 2 else f"{name}--"[:2]
