"""Temporary credentials: their shapes on disk and in JSON, and whether they are still good."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timedelta, timezone

from . import storage

TOOL = "terraform-session-token"  # in every cache file: the tool's own, in a directory other tools may share
CACHE_KEYS = {"Version", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration", "Arn", "Region", "Chained",
              "FastCheck", "FastMargin", "Tool", "Narrowing"}  # fmt: skip
EXPIRATION_KEY = "expiration"  # ISO 8601 UTC, in the session profile of the credentials file
ARN_KEY = "session_arn"
NARROWING_KEY = "session_narrowing"  # the session policies, source identity and tags it was assumed with
# A session handed to an SDK is reported to expire the refresh margin early, to the whole
# second; it is handed out only while that reported expiry is still at least this far ahead.
SERVE_AHEAD = 1


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def parse_time(value: str) -> datetime | None:
    """An ISO 8601 time as UTC; None for anything that is not one (an unreadable expiry is an expired session)."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
        return parsed.astimezone(timezone.utc)
    except (AttributeError, ValueError, OverflowError):
        return None


def format_time(when: datetime, precise: bool = False) -> str:
    """ISO 8601 UTC; `precise` keeps milliseconds (sessions of a few seconds in tests need them)."""
    when = when.astimezone(timezone.utc)
    if precise and when.microsecond:
        return when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def describe_left(seconds: float) -> str:
    if seconds <= 0:
        return "expired"
    minutes = int(seconds // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min left" if minutes >= 60 else f"{minutes} min left"


class Session:
    """Temporary credentials with their expiry, the identity they act as, and the region."""

    def __init__(
        self,
        access_key_id: str,
        secret_access_key: str,
        session_token: str,
        expiration: datetime,
        arn: str = "",
        region: str = "",
        chained: bool | None = None,
    ):
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key
        self.session_token = session_token
        self.expiration = expiration
        self.arn = arn
        self.region = region
        # A role session assumed with an MFA session's credentials (role chaining): AWS caps it,
        # and a console signed in with it, at 1 hour. None: not known (an older cache, the file).
        self.chained = chained
        # fastpath's record: (checksum of the files and environment, refresh margin) under which
        # the full path served this session to its profile.
        self.fast: tuple[str, int] | None = None
        # Narrowing.key() of what it was assumed with ("": a plain role session, or a user session).
        self.narrowing = ""

    def seconds_left(self, now: datetime | None = None) -> float:
        return (self.expiration - (now or utcnow())).total_seconds()

    def is_fresh(self, margin: int, now: datetime | None = None) -> bool:
        """More than `margin` seconds left."""
        return self.seconds_left(now) > margin

    def is_for_role(self, role: str | None, source_account: str | None = None) -> bool:
        """Whether this session is of `role` (a name or an ARN); True when unknown or unasked.

        A role known by name is the one of that name in the source account: with the source
        account known (`source_account`, from the MFA device's ARN) the session's account must be
        it; without it, a session of another account can't be told apart, so none matches.
        """
        if not role or not self.arn.startswith("arn:") or ":assumed-role/" not in self.arn:
            return True
        _, _, _, _, account, rest = self.arn.split(":", 5)
        name = rest.split("/")[1]
        if role.startswith("arn:"):
            parts = role.split(":", 5)
            return parts[4] == account and parts[5].split("/")[-1] == name
        return role.split("/")[-1] == name and source_account == account

    def matches(self, no_role: bool, role: str | None, source_account: str | None = None, narrowing: str = "") -> bool:
        """Whether this is the session a profile asks for: a user session for a no-role profile,
        else a session of `role` (an ARN's account, or a name's source account, must match too)
        assumed with the same session policies, source identity and tags (`narrowing`: its key)."""
        if no_role:
            return ":user/" in self.arn
        return ":assumed-role/" in self.arn and self.is_for_role(role, source_account) and self.narrowing == narrowing

    def profile_values(self) -> dict[str, str | None]:
        """The keys written into the credentials file's session profile."""
        return {
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret_access_key,
            "aws_session_token": self.session_token,
            "aws_security_token": None,  # a legacy alias some files carry: never leave a stale one
            EXPIRATION_KEY: format_time(self.expiration),
            ARN_KEY: self.arn or None,
            NARROWING_KEY: self.narrowing or None,
            "region": self.region or None,
        }

    @classmethod
    def from_profile(cls, values: dict[str, str] | None) -> Session | None:
        values = values or {}
        expiration = parse_time(values.get(EXPIRATION_KEY, ""))
        keys = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")
        if expiration is None or not all(values.get(k) for k in keys):
            return None
        session = cls(*(values[k] for k in keys), expiration, values.get(ARN_KEY, ""), values.get("region", ""))
        session.narrowing = values.get(NARROWING_KEY, "")
        return session

    def reported_expiration(self, early_by: float = 0) -> datetime:
        """The expiry to tell an SDK: `early_by` seconds before the real one.

        Terraform's SDKs fetch new credentials only once the old ones have expired; told
        the refresh margin early, they come back while the session still has that long.
        """
        return self.expiration - timedelta(seconds=max(early_by, 0))

    def process_json(self, early_by: float = 0) -> str:
        """AWS's credential_process output (Version 1), expiring `early_by` seconds early."""
        return json.dumps(
            {
                "Version": 1,
                "AccessKeyId": self.access_key_id,
                "SecretAccessKey": self.secret_access_key,
                "SessionToken": self.session_token,
                "Expiration": format_time(self.reported_expiration(early_by)),
            }
        )

    def container_json(self, early_by: float = 0) -> str:
        """The container-credentials endpoint's document (what botocore and the Go SDKs read)."""
        document = {
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key,
            "Token": self.session_token,
            "Expiration": format_time(self.reported_expiration(early_by)),
        }
        if self.arn:
            document["RoleArn"] = self.arn
        return json.dumps(document)

    def cache_json(self) -> str:
        """The cache keeps the true expiry, to the second or finer."""
        data = json.loads(self.process_json())
        data.update({"Expiration": format_time(self.expiration, precise=True), "Arn": self.arn, "Region": self.region})
        data["Tool"] = TOOL
        if self.chained is not None:
            data["Chained"] = self.chained
        if self.narrowing:
            data["Narrowing"] = self.narrowing
        if self.fast is not None:
            data["FastCheck"], data["FastMargin"] = self.fast
        return json.dumps(data)

    @classmethod
    def from_cache_json(cls, text: str | None) -> Session | None:
        try:
            data = json.loads(text or "")
            expiration = parse_time(data["Expiration"])
            if expiration is None:
                return None  # an unreadable expiry: as good as expired
            session = cls(
                data["AccessKeyId"],
                data["SecretAccessKey"],
                data["SessionToken"],
                expiration,
                data.get("Arn", ""),
                data.get("Region", ""),
                data.get("Chained") if isinstance(data.get("Chained"), bool) else None,
            )
            if isinstance(data.get("FastCheck"), str) and type(data.get("FastMargin")) is int:
                session.fast = (data["FastCheck"], data["FastMargin"])
            if isinstance(data.get("Narrowing"), str):
                session.narrowing = data["Narrowing"]
            return session
        except (ValueError, KeyError, TypeError):
            return None


def cache_dir(env=os.environ) -> str:
    """Where cached sessions live: $TERRAFORM_SESSION_TOKEN_CACHE, else the XDG cache dir."""
    if env.get("TERRAFORM_SESSION_TOKEN_CACHE"):
        return os.path.expanduser(env["TERRAFORM_SESSION_TOKEN_CACHE"])
    if os.name == "nt" and not env.get("XDG_CACHE_HOME"):  # Windows: the user's local application data
        base = env.get("LOCALAPPDATA") or os.path.join(os.path.expanduser("~"), "AppData", "Local")
        return os.path.join(base, "terraform-session-token", "cache")
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "terraform-session-token")


def file_name(name: str) -> str:
    """A profile name as a file name that stays in the cache directory (`/`, `%`, a leading dot encoded)."""
    encoded = re.sub(r"[^A-Za-z0-9_@+=,.-]", lambda m: f"%{ord(m.group()):02X}", name)
    return "%2E" + encoded[1:] if encoded.startswith(".") else encoded


def files_key(env=os.environ) -> str:
    """ "" for the default AWS files; else a suffix naming the pair, so that same-named profiles of
    other files (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE) never share a cached session. It
    starts with %, which file_name never leaves unencoded: no profile name can produce it."""
    if not (env.get("AWS_SHARED_CREDENTIALS_FILE") or env.get("AWS_CONFIG_FILE")):
        return ""
    import zlib

    from .profiles import config_path, credentials_path

    pair = f"{credentials_path(env)}\0{config_path(env)}".encode("utf-8", "surrogateescape")
    return f"%files-{zlib.crc32(pair):08x}"


def cache_file(name: str, env=os.environ) -> str:
    return os.path.join(cache_dir(env), f"{file_name(name)}{files_key(env)}.json")


def lock_file(name: str, env=os.environ) -> str:
    return os.path.join(cache_dir(env), f"{file_name(name)}{files_key(env)}.lock")


MFA_PREFIX = "mfa-session--"
OLD_LOGIN_LOCK_PREFIX = "login--"  # 2.1.0 locked an aws login refresh with such a file (now: its directory)


def mfa_cache_name(source_profile: str, serial: str) -> str:
    return MFA_PREFIX + f"{source_profile}--{serial}".replace("/", "_").replace(":", "_")


def mfa_cache_source(name: str) -> str:
    """The source profile an MFA session cache name was made from (the serial part has no "--")."""
    return name[len(MFA_PREFIX) :].rsplit("--", 1)[0]


CANCEL_MEMORY = 10.0  # seconds a cancelled prompt stands for the callers waiting behind it


def cancel_file(serial: str, env=os.environ) -> str:
    return os.path.join(cache_dir(env), f"{file_name('cancelled--' + serial)}{files_key(env)}.cancel")


def remember_cancel(serial: str, line: str, env=os.environ) -> None:
    try:
        storage.check_private_dir(cache_dir(env))
        storage.write_private(cancel_file(serial, env), line)
    except (OSError, storage.UnsafeWriteError):
        pass  # not remembered: each waiting caller asks again


def recent_cancel(serial: str, since: float, env=os.environ) -> str | None:
    """The line of a prompt for `serial` cancelled after `since` (when this run started, so a
    run started after the cancel asks again) and in the last CANCEL_MEMORY seconds, if any."""
    import time

    path = cancel_file(serial, env)
    try:
        when = os.stat(path).st_mtime
        if time.time() - when > CANCEL_MEMORY:
            os.unlink(path)
            return None
        if when < since:
            return None
        storage.check_private_dir(cache_dir(env), create=False)
        return (storage.read_private(path) or "").strip() or None
    except (OSError, ValueError, storage.UnsafeWriteError):
        return None


def read_cached(name: str, env=os.environ) -> Session | None:
    """The cached session (None when there is none or it is unreadable); UnsafeWriteError when
    the cache directory or file is not the user's alone."""
    directory = cache_dir(env)
    storage.check_private_dir(directory, create=False)
    text = storage.read_private(cache_file(name, env))
    return Session.from_cache_json(text)


def write_cached(name: str, session: Session, env=os.environ) -> None:
    storage.check_private_dir(cache_dir(env))
    storage.write_private(cache_file(name, env), session.cache_json())


def remove_cached(name: str, env=os.environ) -> None:
    """A profile's cached session and its lock file."""
    for path in (cache_file(name, env), lock_file(name, env)):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def remove_lock(name: str, env=os.environ) -> None:
    """A profile's lock file (the classic flow takes it too, with no cached session beside it)."""
    try:
        os.unlink(lock_file(name, env))
    except FileNotFoundError:
        pass


def remove_tool_files(env=os.environ) -> int:
    """Delete the cache's lock files and what killed writers left behind (only the tool's own names)."""
    directory = cache_dir(env)
    try:
        listed = os.listdir(directory)
    except FileNotFoundError:
        return 0
    ours = {os.path.basename(lock_file(n, env)) for n in cached_names(env)}
    names = [
        n
        for n in listed
        if storage.is_our_temp(n)
        or (n.endswith(".lock") and (n in ours or n.startswith((MFA_PREFIX, OLD_LOGIN_LOCK_PREFIX))))
    ]
    storage.check_private_dir(directory, create=False)
    for name in names:
        os.unlink(os.path.join(directory, name))
    return len(names)


def is_ours(text: str | None) -> bool:
    """Whether a cache file's text is one this tool wrote (its mark, or the exact shape it wrote
    before it marked them), not another tool's JSON in a shared directory."""
    try:
        data = json.loads(text or "")
    except ValueError:
        return False
    if not isinstance(data, dict):
        return False
    if data.get("Tool") == TOOL:
        return True
    required = {"Version", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}
    return data.get("Version") == 1 and required <= set(data) <= CACHE_KEYS


def cached_names(env=os.environ) -> list[str]:
    """The profiles (and MFA sessions) with a cache file of the tool's: other files are not its to list."""

    def unquote(name: str) -> str:  # file_name's inverse, without importing urllib (start-up time)
        return re.sub("%([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), name)

    directory = cache_dir(env)
    suffix = files_key(env) + ".json"
    try:
        files = [f for f in os.listdir(directory) if f.endswith(suffix) and "%files-" not in f[: -len(suffix)]]
    except FileNotFoundError:
        return []
    names = []
    for f in files:
        try:
            text = storage.read_private(os.path.join(directory, f))
        except (OSError, ValueError, storage.UnsafeWriteError):
            continue  # not the user's alone: certainly not a file of ours
        if is_ours(text):
            names.append(unquote(f[: -len(suffix)]))
    return sorted(names)
