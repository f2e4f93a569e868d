"""What every service of the local AWS shares: accounts, identities, principals, faults."""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pyotp

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
REGION = "us-east-1"
ROLE_CHAINING_LIMIT = 3600
CODE_MARGIN = 10  # seconds a handed-out code stays valid at least (fresh_code)
HANDING = threading.Lock()
USER_NUMBERS = itertools.count(1)  # moto's IAM is shared by every LocalAws in a process


@dataclass
class Identity:
    """An IAM user of the local AWS with long-term keys and (usually) a virtual MFA device."""

    account: str
    user_name: str
    access_key_id: str
    secret_access_key: str
    serials: list[str] = field(default_factory=list)
    seeds: dict[str, str] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account}:user/{self.user_name}"

    @property
    def serial(self) -> str:
        return self.serials[0]

    def totp(self, serial: str | None = None, offset: int = 0) -> str:
        """The code an authenticator app shows now (offset in 30 s steps)."""
        seed = self.seeds[serial or self.serial]
        return pyotp.TOTP(seed).at(time.time() + 30 * offset)

    def fresh_code(self, serial: str | None = None) -> str:
        """A code AWS accepts now, and for a while yet, that was not handed out before (AWS takes
        each once).

        The current step first, then the next one (valid for a minute), the previous last. The
        previous one is valid only until the step turns: with less than CODE_MARGIN seconds left,
        a run on a busy machine could send it too late, so this waits for the step to turn and
        hands out the new next one, as a user would wait for the next code.
        """
        handed = self.__dict__.setdefault("_handed", set())
        for _ in range(2):
            left = 30 - time.time() % 30
            with HANDING:  # the local AWS's threads hand out codes to parallel callers
                for offset in (0, 1, -1):
                    code = self.totp(serial, offset)
                    if (serial, code) not in handed and (offset != -1 or left >= CODE_MARGIN):
                        handed.add((serial, code))
                        return code
            time.sleep(left + 0.05)  # the step turns: a new next code
        raise RuntimeError("all three acceptable codes were used: wait for the next 30 s step")

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")} | {"arn": self.arn}


@dataclass
class Principal:
    """Who a temporary access key acts as, and with what MFA context."""

    account: str
    arn: str
    user_name: str | None
    expires: float
    mfa_at: float | None
    chained: bool  # an assumed role: AssumeRole from it is role chaining
    session_token: str = ""
    secret: str = ""
    # A role session that was itself assumed with session credentials (role chaining):
    # the console federation refuses a SessionDuration for it.
    from_session: bool = False
    # What the role session was assumed with (sts.py): its source identity (set once in a chain),
    # session tags with the keys passed on to chained sessions, and its session policies
    # (None: not narrowed; every request is then judged by the role's own policies alone).
    source_identity: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    transitive_tag_keys: tuple[str, ...] = ()
    session_policies: list[dict] | None = None


class Fault(Exception):
    """An AWS error: HTTP status, error code, message (each service renders it in its own shape)."""

    def __init__(self, status: int, code: str, message: str):
        self.status, self.code, self.message = status, code, message


def xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;")


def param(form: dict, name: str) -> str | None:
    values = form.get(name)
    return values[0] if values else None


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_precise(ts: float) -> str:
    """Milliseconds, as STS can send them: sessions of a few seconds need them."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def respond(start_response, status: int, body: bytes, content_type: str = "text/xml", extra_headers=None):
    reason = {200: "OK", 302: "Found", 400: "Bad Request", 403: "Forbidden", 404: "Not Found"}.get(status, "Error")
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body))), *(extra_headers or [])]
    start_response(f"{status} {reason}", headers)
    return [body]
