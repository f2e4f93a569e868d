"""Every session option, declared once: its flags, help, config keys, environment variables,
type, which commands offer it, and whether `configure` stores it (and under which key).

The parser (cli.py), the flag > environment > config file > default merge (profiles.py)
and `configure` read this table; nothing else spells an option's name. Kept free of heavy
imports: it is read on every start.
"""

from __future__ import annotations

OWN_ROLE_KEY = "session_role_arn"
OWN_ROLE_NAME_KEY = "session_role_name"  # configure --role NAME: a name, resolved to session_role_arn by a run
OWN_SOURCE_KEY = "session_source_profile"

# The commands that obtain or describe a session; each option says which of them offer it.
SESSION_COMMANDS = ("refresh", "exec", "env", "credential-process", "console", "configure", "doctor")
_SESSION_USERS = frozenset({"refresh", "exec", "env", "credential-process", "console"})
_ALL = _SESSION_USERS | {"configure", "doctor"}


class Option:
    """One option of the commands that obtain a session."""

    __slots__ = ("dest", "flags", "help", "metavar", "kind", "setting", "config", "env", "store", "refuse", "commands",
                 "separator")  # fmt: skip

    def __init__(
        self,
        dest: str,
        flags: tuple[str, ...],
        help: str,
        *,
        metavar: str | None = None,
        kind: str = "text",  # text | int | flag | list (repeatable)
        setting: str | None = None,  # the Settings attribute it ends up in (default: dest)
        config: tuple[str, ...] = (),  # profile keys read, in order
        env: tuple[str, ...] = (),  # environment variables read before the config file
        store: str | None = None,  # the key configure writes it under
        refuse: str | None = None,  # configure refuses it, naming it so
        commands: frozenset[str] = _ALL,
        separator: str = ", ",  # a list's items in the config file (read back by split)
    ):
        self.dest, self.flags, self.help, self.metavar, self.kind = dest, flags, help, metavar, kind
        self.setting = setting or dest
        self.config, self.env, self.store, self.refuse, self.commands = config, env, store, refuse, commands
        self.separator = separator

    def argparse_kwargs(self) -> dict:
        kwargs: dict = {"help": self.help, "dest": self.dest}
        if self.kind == "flag":
            kwargs["action"] = "store_true"
        elif self.kind == "list":
            kwargs["action"] = "append"
            kwargs["metavar"] = self.metavar
        else:
            kwargs["metavar"] = self.metavar
            if self.kind == "int":
                kwargs["type"] = int
        return kwargs

    def config_text(self, value) -> str | None:
        """The value as configure writes it into the config file (None: nothing to write)."""
        if value is None or value is False or value == "":
            return None
        if self.kind == "flag":
            return "true"
        if self.kind == "list":
            return self.separator.join(value)
        return str(value)

    def split(self, text: str) -> list[str]:
        """A list option's items as the config file holds them."""
        from . import narrowing

        return narrowing.split_arns(text) if self.separator == " " else narrowing.split_list(text)


OPTIONS = (
    Option("duration", ("-d", "--duration"), "how long the session is valid (seconds)",
           metavar="3600", kind="int", config=("duration_seconds",), store="duration_seconds"),
    Option("profile", ("-p", "--profile"), "profile name for the session (default terraform_session)",
           metavar="terraform_session"),
    Option("no_verify_ssl", ("-v", "--no-verify-ssl"),
           "disable TLS verification (NOT 'verbose'; warns on every run; use --ca-bundle instead)",
           kind="flag", refuse="-v/--no-verify-ssl: give the CA with --ca-bundle instead",
           commands=_SESSION_USERS | {"doctor"}),
    Option("source_profile", ("--source-profile",), "profile with the long-term keys (default: default)",
           metavar="NAME", config=("source_profile", OWN_SOURCE_KEY), store=OWN_SOURCE_KEY),
    Option("role", ("--role",), "role name in the source account, or a full role ARN",
           metavar="NAME_OR_ARN", config=("role_arn", OWN_ROLE_KEY, OWN_ROLE_NAME_KEY), store=OWN_ROLE_KEY),
    Option("serial", ("--serial",), "MFA device serial/ARN (skips discovery)",
           metavar="ARN", setting="mfa_serial", config=("mfa_serial",), store="mfa_serial"),
    Option("code", ("--code",), "the MFA code; '-' reads one line from stdin",
           metavar="CODE", refuse="--code: a code is good once", commands=_SESSION_USERS),
    Option("mfa_process", ("--mfa-process",), "command that prints the MFA code",
           metavar="CMD", config=("mfa_process",), store="mfa_process", commands=_SESSION_USERS | {"configure"}),
    Option("mfa_prompt", ("--prompt",),
           "how a code is asked: auto (default), terminal, zenity, kdialog, osascript, ykman",
           metavar="DRIVER", env=("TERRAFORM_SESSION_TOKEN_PROMPT",), config=("mfa_prompt",), store="mfa_prompt",
           commands=_ALL),
    Option("ykman_oath_account", ("--ykman-account",),
           "ykman's OATH account for the code (default: the MFA device's name)",
           metavar="QUERY", config=("ykman_oath_account",), store="ykman_oath_account",
           commands=_SESSION_USERS | {"configure"}),
    Option("ykman_device", ("--ykman-device",), "serial number of the YubiKey ykman reads (with several)",
           metavar="SERIAL", config=("ykman_device",), store="ykman_device", commands=_SESSION_USERS | {"configure"}),
    Option("mfa_session", ("--mfa-session",), "reuse one MFA session (GetSessionToken) for its lifetime",
           kind="flag", config=("mfa_session",), store="mfa_session"),
    Option("mfa_session_duration", ("--mfa-session-duration",),
           "length of the MFA session (default 43200, at most 129600 = 36 h)",
           metavar="SECONDS", kind="int", config=("mfa_session_duration",), store="mfa_session_duration"),
    Option("no_role", ("--no-role",), "no role: GetSessionToken with MFA for the IAM user itself", kind="flag"),
    Option("session_name", ("--session-name",), "RoleSessionName (default: your IAM user name)",
           metavar="NAME", config=("role_session_name",), store="role_session_name",
           commands=_SESSION_USERS | {"configure"}),
    Option("external_id", ("--external-id",), "ExternalId for the role's trust policy",
           metavar="ID", config=("external_id",), store="external_id", commands=_SESSION_USERS | {"configure"}),
    Option("region", ("--region",), "AWS region (refresh and configure also write it into the profile)",
           metavar="REGION", env=("AWS_REGION", "AWS_DEFAULT_REGION"), config=("region",), store="region"),
    Option("endpoint_url", ("--endpoint-url",), "STS/IAM endpoint (e.g. a local AWS)",
           metavar="URL", config=("endpoint_url",), store="endpoint_url"),
    Option("ca_bundle", ("--ca-bundle",), "CA bundle for TLS verification",
           metavar="PATH", config=("ca_bundle",), store="ca_bundle"),
    Option("force", ("--force",), "refresh even if the session is still valid",
           kind="flag", refuse="--force", commands=_SESSION_USERS),
    Option("margin", ("--margin",), "refresh when less than this is left (default 300)",
           metavar="SECONDS", kind="int", setting="refresh_margin", config=("session_refresh_margin",),
           store="session_refresh_margin", commands=_SESSION_USERS | {"configure"}),
    Option("policy_arns", ("--policy-arn",),
           "a managed policy that narrows the session (repeatable, at most 10), e.g. "
           "arn:aws:iam::aws:policy/ReadOnlyAccess", metavar="ARN", kind="list", separator=" ",
           config=("session_policy_arns",), store="session_policy_arns"),
    Option("session_policy", ("--policy",), "an inline session policy that narrows the session: JSON, or file://PATH",
           metavar="POLICY", config=("session_policy",), store="session_policy"),
    Option("source_identity", ("--source-identity",),
           "SourceIdentity: who acts through the role, in CloudTrail for every request (fixed for a role chain)",
           metavar="VALUE", config=("source_identity",), store="source_identity"),
    Option("session_tags", ("--tag",), "a session tag (repeatable, at most 50)", metavar="KEY=VALUE",
           kind="list", config=("session_tags",), store="session_tags"),
    Option("transitive_tag_keys", ("--transitive-tag",),
           "a session tag's key that passes on to roles assumed from the session (repeatable)", metavar="KEY",
           kind="list", config=("transitive_tag_keys",), store="transitive_tag_keys"),
    Option("overwrite_keys", ("--overwrite-keys",), "allow replacing long-term keys in the target profile (dangerous)",
           kind="flag", refuse="--overwrite-keys", commands=frozenset({"refresh"})),
)  # fmt: skip

BY_DEST = {option.dest: option for option in OPTIONS}


def seconds(text: str) -> float:
    """argparse type: a finite, non-negative number of seconds (nan and inf would wait forever)."""
    import argparse
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds")
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number of seconds of 0 or more")
    return value


def for_command(command: str | None) -> list[Option]:
    """The options `command` offers (None: the top level, which offers them all)."""
    return [o for o in OPTIONS if command is None or command in o.commands]


def given(args, dest: str):
    """The value given on the command line, or None."""
    value = getattr(args, dest, None)
    return None if value is None or value is False or value == "" else value


def pick(dest: str, args, conf: dict[str, str], env, origins: dict[str, str]):
    """flag > environment > config file: the first value found (None when none), its origin noted."""
    option = BY_DEST[dest]
    value = given(args, dest)
    if value is not None:
        origins[option.setting] = "flag"
        return value
    for var in option.env:
        if env.get(var):
            origins[option.setting] = f"env {var}"
            return env[var]
    for key in option.config:
        if conf.get(key):
            origins[option.setting] = f"config {key}"
            return option.split(conf[key]) if option.kind == "list" else conf[key]
    return None


def configure_values(args) -> dict[str, str | None]:
    """What configure writes for the options given: config key -> text, or None for a key it deletes.

    A role given by name goes under session_role_name (a run resolves it and remembers its ARN
    under session_role_arn), a role ARN under session_role_arn; the other key is deleted, so
    that the two never name different roles.
    """
    values: dict[str, str | None] = {}
    for option in OPTIONS:
        text = option.config_text(given(args, option.dest)) if option.store else None
        if text is None:
            continue
        if option.dest == "role":
            arn = text.startswith("arn:")
            values[OWN_ROLE_KEY if arn else OWN_ROLE_NAME_KEY] = text
            values[OWN_ROLE_NAME_KEY if arn else OWN_ROLE_KEY] = None
        else:
            values[option.store] = text
    return values


def refused_by_configure(args) -> list[str]:
    return [o.refuse for o in OPTIONS if o.refuse and given(args, o.dest) is not None]


NARROWING = ("policy_arns", "session_policy", "source_identity", "session_tags", "transitive_tag_keys")


def narrowing_to_remember(settings, conf: dict[str, str]) -> dict[str, str]:
    """The classic flow's session options, to remember in a profile that has none stored: the
    session it wrote is that profile's, and a later run without the flags must not undo them.
    (exec, env and credential-process take them for the one run.)"""
    stored = [BY_DEST[d] for d in NARROWING]
    if not settings.narrowing or any(conf.get(o.store) for o in stored):
        return {}
    values = {}
    for option in stored:
        value = settings.narrowing.policy if option.dest == "session_policy" else getattr(settings, option.dest)
        if value:
            text = option.config_text(value)
            if option.kind == "list" and option.split(text) != value:
                return {}  # it would not read back the same: not remembered
            values[option.store] = text
    return values
