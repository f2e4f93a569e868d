"""STS: MFA codes checked against the device's seed and taken once, durations, trust, role chaining,
session policies, source identity and session tags, and the temporary principals that later
requests are signed with.

moto records AssumeRole's Policy and ignores PolicyArns, SourceIdentity, Tags and TransitiveTagKeys
(and answers PackedPolicySize 6 whatever was sent); here they are checked as AWS checks them and
kept on the session: its policies narrow what S3 and DynamoDB allow it (iam.py), its source
identity and tags are on the record of every request it signs.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import string
import time
import unicodedata
import uuid
import zlib
from datetime import datetime

import pyotp
from moto.iam.models import iam_backends

from . import iam
from .model import ROLE_CHAINING_LIMIT, Fault, Principal, iso, iso_precise, param

NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
MAX_POLICY_ARNS = 10
MAX_POLICY_CHARS = 2048  # the plain text of the session policies: the inline policy and the ARNs together
MAX_TAGS = 50
# AWS packs the session policies and tags into a binary form whose limit it does not publish. The
# local AWS's model: their compressed size against this many bytes, as a percentage (PackedPolicySize).
PACKED_ROOM = 1024
SOURCE_IDENTITY = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)


def session_parameters(form: dict) -> dict:
    """AssumeRole's session policies, source identity and tags, as sent (the query protocol's lists)."""

    def members(prefix: str, field: str = "") -> list[str]:
        found = []
        for n in range(1, 1000):
            value = param(form, f"{prefix}.member.{n}{field}")
            if value is None:
                return found
            found.append(value)
        return found

    keys, values = members("Tags", ".Key"), members("Tags", ".Value")
    return {
        "PolicyArns": members("PolicyArns", ".arn"),
        "Policy": param(form, "Policy"),
        "SourceIdentity": param(form, "SourceIdentity"),
        "Tags": list(zip(keys, values + [""] * (len(keys) - len(values)))),
        "TransitiveTagKeys": members("TransitiveTagKeys"),
    }


def _invalid(value, field: str, constraint: str) -> Fault:
    return Fault(
        400,
        "ValidationError",
        f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}",
    )


def _tag_text_ok(text: str) -> bool:
    return all(unicodedata.category(c)[0] in "LZN" or c in "_.:/=+-@" for c in text)


def check_session_parameters(session: dict) -> None:
    """AWS's checks of the values themselves, before any authorization."""
    arns, policy = session["PolicyArns"], session["Policy"]
    if len(arns) > MAX_POLICY_ARNS:
        raise _invalid(arns, "policyArns", f"Member must have length less than or equal to {MAX_POLICY_ARNS}")
    if policy is not None:
        if len(policy) > MAX_POLICY_CHARS:
            raise _invalid("...", "policy", f"Member must have length less than or equal to {MAX_POLICY_CHARS}")
        if not re.fullmatch(r"[\t\n\r\x20-\xff]+", policy):
            raise _invalid(
                "...", "policy", r"Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u00FF]+"
            )
        try:
            document = json.loads(policy)
        except (ValueError, RecursionError):
            document = None
        if not isinstance(document, dict) or "Statement" not in document:
            raise Fault(400, "MalformedPolicyDocument", "The policy is not in the valid JSON format.")
    if len(policy or "") + sum(len(a) for a in arns) > MAX_POLICY_CHARS:
        raise Fault(
            400, "ValidationError", "The total size of the plain text of session policies exceeds 2048 characters."
        )
    identity = session["SourceIdentity"]
    if identity is not None and not SOURCE_IDENTITY.fullmatch(identity):
        raise _invalid(identity, "sourceIdentity", r"Member must satisfy regular expression pattern: [\w+=,.@-]*")
    if identity is not None and identity.lower().startswith("aws:"):
        raise _invalid(identity, "sourceIdentity", "the prefix aws: is reserved")
    tags = session["Tags"]
    if len(tags) > MAX_TAGS:
        raise _invalid("...", "tags", f"Member must have length less than or equal to {MAX_TAGS}")
    for key, value in tags:
        if not (1 <= len(key) <= 128 and _tag_text_ok(key)):
            raise _invalid(
                key, "tags.member.key", r"Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+"
            )
        if not (len(value) <= 256 and _tag_text_ok(value)):
            raise _invalid(
                value,
                "tags.member.value",
                r"Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]*",
            )
        if key.lower().startswith("aws:"):
            raise Fault(400, "InvalidParameterValue", f"Tag key {key} uses the reserved prefix aws:")
    lowered = [k.lower() for k, _ in tags]
    if len(set(lowered)) != len(lowered):
        raise Fault(
            400, "InvalidParameterValue", "Duplicate tag keys found. Please note that Tag keys are case insensitive."
        )
    if len(session["TransitiveTagKeys"]) > MAX_TAGS:
        raise _invalid("...", "transitiveTagKeys", f"Member must have length less than or equal to {MAX_TAGS}")
    missing = [k for k in session["TransitiveTagKeys"] if k.lower() not in lowered]
    if missing:
        raise Fault(400, "InvalidParameterValue", f"Transitive tag keys {missing} are not among the session tags.")


def packed_size(session: dict) -> int:
    """PackedPolicySize: the local AWS's model of AWS's packing, in percent of the room."""
    packed = zlib.compress(json.dumps([session["Policy"], session["PolicyArns"], session["Tags"]]).encode(), 9)
    return math.ceil(len(packed) * 100 / PACKED_ROOM)


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
    session = session_parameters(form)
    check_session_parameters(session)
    inherited = principal.source_identity if principal else None
    identity = session["SourceIdentity"] or inherited
    # Transitive tags of the calling session pass on; a session tag can't replace one.
    passed = {k: v for k, v in (principal.tags if principal else {}).items() if k in principal.transitive_tag_keys}
    clash = [k for k, _ in session["Tags"] if k.lower() in {p.lower() for p in passed}]
    if clash:
        raise Fault(400, "InvalidParameterValue", f"Cannot override transitive tags: {clash}")
    tags = {**passed, **dict(session["Tags"])}
    context = {
        "aws:MultiFactorAuthPresent": "true" if mfa_at else None,
        "aws:MultiFactorAuthAge": str(int(time.time() - mfa_at)) if mfa_at else None,
        "sts:ExternalId": param(form, "ExternalId"),
        "sts:SourceIdentity": identity,
        "aws:SourceIdentity": inherited,
        "aws:TagKeys": [k for k, _ in session["Tags"]] or None,
        "sts:TransitiveTagKeys": session["TransitiveTagKeys"] or None,
        **{f"aws:RequestTag/{k}": v for k, v in session["Tags"]},
        **{f"aws:PrincipalTag/{k}": v for k, v in (principal.tags if principal else {}).items()},
    }
    arns = [caller_arn]
    if principal and principal.chained:
        # An assumed-role session is trusted under its role's ARN.
        parts = caller_arn.split(":")[5].split("/")
        arns.append(f"arn:aws:iam::{caller_account}:role/{parts[1]}")
    if not iam.trusts(role, caller_account, arns, context):
        raise denied

    def refused(action: str) -> Fault:
        return Fault(
            403, "AccessDenied", f"User: {caller_arn} is not authorized to perform: {action} on resource: {role_arn}"
        )

    # Set once: a session of a chain that has one can't be given another.
    if inherited and session["SourceIdentity"] and session["SourceIdentity"] != inherited:
        raise refused("sts:SetSourceIdentity")
    if identity and not iam.trusts(role, caller_account, arns, context, "sts:SetSourceIdentity"):
        raise refused("sts:SetSourceIdentity")
    if tags and not iam.trusts(role, caller_account, arns, context, "sts:TagSession"):
        raise refused("sts:TagSession")
    narrowed = bool(session["PolicyArns"] or session["Policy"] is not None)
    packed = packed_size(session) if narrowed or session["Tags"] else None
    if packed is not None and packed > 100:
        raise Fault(
            400,
            "PackedPolicyTooLarge",
            f"Packed size of session tags consumes {packed}% of allotted space."
            if session["Tags"]
            else f"Packed policy consumes {packed}% of allotted space, please use smaller policy.",
        )
    policies = None
    if narrowed:
        policies = [iam.managed_policy(arn, role.account_id) for arn in session["PolicyArns"]]
        policies = [p for p in policies if p is not None]  # a policy that isn't there allows nothing
        if session["Policy"] is not None:
            policies.append(json.loads(session["Policy"]))
    form["_mfa_at"] = [str(mfa_at) if mfa_at else ""]
    form["_from_session"] = ["1" if principal else ""]
    form["_user_name"] = [user_name or ""]
    form["_session"] = [
        json.dumps(
            {
                "source_identity": identity,
                "tags": tags,
                "transitive": sorted(set(session["TransitiveTagKeys"]) | set(passed)),
                "policies": policies,
                "packed": packed,
            }
        )
    ]


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
    session = json.loads(param(form, "_session") or "{}")
    if session.get("packed") is not None:
        text = re.sub(
            r"<PackedPolicySize>[^<]*</PackedPolicySize>",
            f"<PackedPolicySize>{session['packed']}</PackedPolicySize>",
            text,
        )
    if session.get("source_identity"):
        text = text.replace(
            "</AssumeRoleResult>", f"<SourceIdentity>{session['source_identity']}</SourceIdentity></AssumeRoleResult>"
        )
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
            source_identity=session.get("source_identity"),
            tags=session.get("tags") or {},
            transitive_tag_keys=tuple(session.get("transitive") or ()),
            session_policies=session.get("policies"),
        )
    return text.encode()


def error_body(fault: Fault) -> tuple[bytes, str]:
    return iam.query_error(NAMESPACE, fault), "text/xml"
