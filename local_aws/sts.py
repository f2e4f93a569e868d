"""STS: MFA codes checked against the device's seed and taken once, durations, trust, role chaining,
and the temporary principals that later requests are signed with."""

from __future__ import annotations

import re
import secrets
import string
import time
import uuid
from datetime import datetime

import pyotp
from moto.iam.models import iam_backends

from . import iam
from .model import ROLE_CHAINING_LIMIT, Fault, Principal, iso, iso_precise, param

NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"


def check_code(rules, user_name: str, account: str, serial: str | None, code: str | None):
    if not serial or not code:
        raise Fault(
            400,
            "ValidationError",
            "Both SerialNumber and TokenCode are required for MFA authentication.",
        )
    backend = iam_backends[account]["global"]
    user = backend.users.get(user_name)
    device = backend.virtual_mfa_devices.get(serial)
    if not user or serial not in user.mfa_devices or device is None:
        raise Fault(
            403,
            "AccessDenied",
            "MultiFactorAuthentication failed, unable to validate MFA code. "
            "Please verify your MFA serial number is valid and associated with this user.",
        )
    ok = re.fullmatch(r"\d{6}", code) and pyotp.TOTP(device.base32_string_seed).verify(code, valid_window=1)
    with rules.lock:
        if not ok or (serial, code) in rules.used_codes:
            raise Fault(
                403,
                "AccessDenied",
                "MultiFactorAuthentication failed with invalid MFA one time pass code. ",
            )
        rules.used_codes.add((serial, code))


def check_duration(value: str | None, low: int, high: int, default: int) -> int:
    if value is None:
        return default
    seconds = int(value)
    if seconds < low:
        raise Fault(
            400,
            "ValidationError",
            f"1 validation error detected: Value '{seconds}' at 'durationSeconds' failed "
            f"to satisfy constraint: Member must have value greater than or equal to {low}",
        )
    if seconds > high:
        raise Fault(
            400,
            "ValidationError",
            f"1 validation error detected: Value '{seconds}' at 'durationSeconds' failed "
            f"to satisfy constraint: Member must have value less than or equal to {high}",
        )
    return seconds


def assume_role(rules, form: dict, principal: Principal | None, user) -> None:
    role_arn = param(form, "RoleArn")
    if principal:
        caller_account, caller_arn, user_name = principal.account, principal.arn, principal.user_name
    else:
        caller_account, caller_arn, user_name = user.account_id, user.arn, user.name
    role = iam.find_role(role_arn)
    denied = Fault(
        403,
        "AccessDenied",
        f"User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
    )
    if role is None:
        raise denied
    duration = check_duration(param(form, "DurationSeconds"), 900, 43200, 3600)
    # Role credentials and GetSessionToken credentials both make this role chaining.
    if principal and duration > ROLE_CHAINING_LIMIT:
        raise Fault(
            400,
            "ValidationError",
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        )
    if duration > int(role.max_session_duration or 3600):
        raise Fault(
            400,
            "ValidationError",
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        )
    serial, code = param(form, "SerialNumber"), param(form, "TokenCode")
    mfa_at = principal.mfa_at if principal else None
    if serial or code:
        if user_name is None:
            raise denied
        check_code(rules, user_name, caller_account, serial, code)
        mfa_at = time.time()
    context = {
        "aws:MultiFactorAuthPresent": "true" if mfa_at else None,
        "aws:MultiFactorAuthAge": str(int(time.time() - mfa_at)) if mfa_at else None,
        "sts:ExternalId": param(form, "ExternalId"),
    }
    arns = [caller_arn]
    if principal and principal.chained:
        # An assumed-role session is trusted under its role's ARN.
        parts = caller_arn.split(":")[5].split("/")
        arns.append(f"arn:aws:iam::{caller_account}:role/{parts[1]}")
    if not iam.trusts(role, caller_account, arns, context):
        raise denied
    form["_mfa_at"] = [str(mfa_at) if mfa_at else ""]
    form["_from_session"] = ["1" if principal else ""]
    form["_user_name"] = [user_name or ""]


def get_session_token(rules, form: dict, principal: Principal | None, user) -> bytes:
    if principal or user is None:
        raise Fault(403, "AccessDenied", "Cannot call GetSessionToken with session credentials")
    duration = check_duration(param(form, "DurationSeconds"), 900, 129600, 43200)
    serial, code = param(form, "SerialNumber"), param(form, "TokenCode")
    mfa_at = None
    if serial or code:
        check_code(rules, user.name, user.account_id, serial, code)
        mfa_at = time.time()
    key_id = "ASIA" + "".join(secrets.choice(string.ascii_uppercase + "234567") for _ in range(16))
    secret = secrets.token_urlsafe(30)[:40]
    token = "FwoGZXIvYXdzE" + secrets.token_urlsafe(120)
    expires = time.time() + (rules.mfa_session_lifetime or duration)
    with rules.lock:
        rules.temporary[key_id] = Principal(
            user.account_id, user.arn, user.name, expires, mfa_at, chained=False, session_token=token, secret=secret
        )
    return (
        f'<GetSessionTokenResponse xmlns="{NAMESPACE}"><GetSessionTokenResult><Credentials>'
        f"<SessionToken>{token}</SessionToken><SecretAccessKey>{secret}</SecretAccessKey>"
        f"<Expiration>{iso(expires)}</Expiration><AccessKeyId>{key_id}</AccessKeyId>"
        f"</Credentials></GetSessionTokenResult><ResponseMetadata><RequestId>{uuid.uuid4()}"
        f"</RequestId></ResponseMetadata></GetSessionTokenResponse>"
    ).encode()


def caller_identity(principal: Principal) -> bytes:
    return (
        f'<GetCallerIdentityResponse xmlns="{NAMESPACE}"><GetCallerIdentityResult>'
        f"<Arn>{principal.arn}</Arn><UserId>AIDA{principal.user_name or 'ROLE'}</UserId>"
        f"<Account>{principal.account}</Account></GetCallerIdentityResult>"
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        f"</GetCallerIdentityResponse>"
    ).encode()


def remember_role_session(rules, body: bytes, form: dict) -> bytes:
    text = body.decode()
    key = re.search(r"<AccessKeyId>([^<]+)</AccessKeyId>", text)
    expiry = re.search(r"<Expiration>([^<]+)</Expiration>", text)
    arn = re.search(r"<Arn>([^<]+)</Arn>", text)
    token = re.search(r"<SessionToken>([^<]+)</SessionToken>", text)
    secret = re.search(r"<SecretAccessKey>([^<]+)</SecretAccessKey>", text)
    if not (key and expiry and arn):
        return body
    expires = datetime.fromisoformat(expiry.group(1).replace("Z", "+00:00")).timestamp()
    for name, value in rules.credential_override.items():
        old = re.search(f"<{name}>([^<]*)</{name}>", text)
        if old:
            escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            text = text.replace(old.group(0), f"<{name}>{escaped}</{name}>")
    if rules.session_lifetime:
        expires = time.time() + rules.session_lifetime
        text = text.replace(expiry.group(0), f"<Expiration>{iso_precise(expires)}</Expiration>")
    mfa_at = param(form, "_mfa_at")
    with rules.lock:
        rules.temporary[key.group(1)] = Principal(
            arn.group(1).split(":")[4],
            arn.group(1),
            None,
            expires,
            float(mfa_at) if mfa_at else None,
            chained=True,
            session_token=token.group(1) if token else "",
            secret=secret.group(1) if secret else "",
            from_session=bool(param(form, "_from_session")),
        )
    return text.encode()


def error_body(fault: Fault) -> tuple[bytes, str]:
    return iam.query_error(NAMESPACE, fault), "text/xml"
