"""IAM: the roles' trust policies and their conditions, users by access key, AWS's defaults moto lacks,
and the policy evaluation moto does not do for role sessions: the role's own (identity) policies and
the session policies it was assumed with, intersected as AWS intersects them.

The evaluation is a subset of AWS's, stated so: Allow and Deny (an explicit Deny wins); Action,
NotAction, Resource and NotResource with the wildcards * and ?; the condition operators String*,
Bool and NumericLessThan, with ForAllValues:/ForAnyValue: and ...IfExists. An operator it does not
know fails closed (an Allow does not apply; a Deny does). No policy variables, no permissions
boundaries, no resource-based policies.
"""

from __future__ import annotations

import json
import re
import uuid
from functools import lru_cache
from urllib.parse import urlencode

from moto.iam.models import iam_backends

from .model import Fault, xml_escape

NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"
# What the local AWS's roles may do unless created otherwise: the README's role is the account's
# high-privileged Terraform role.
ADMINISTRATOR = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


def trust_policy(account: str, require_mfa: bool = True, max_mfa_age: int | None = None) -> str:
    """The original README's trust policy: the account may assume the role, with MFA."""
    condition: dict = {}
    if require_mfa:
        condition["Bool"] = {"aws:MultiFactorAuthPresent": "true"}
    if max_mfa_age:
        condition["NumericLessThan"] = {"aws:MultiFactorAuthAge": str(max_mfa_age)}
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "sts:AssumeRole",
    }
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def user_with_key(access_key_id: str):
    """The IAM user (of any account) holding this long-term access key, or None."""
    for account in list(iam_backends.keys()):
        backend = iam_backends[account]["global"]
        for user in list(backend.users.values()):
            for key in user.access_keys:
                if key.access_key_id == access_key_id:
                    return user
    return None


def find_role(role_arn: str):
    m = re.fullmatch(r"arn:[a-z-]+:iam::(\d{12}):role/(.+)", role_arn or "")
    if not m or m.group(1) not in iam_backends:
        return None
    backend = iam_backends[m.group(1)]["global"]
    for role in list(backend.roles.values()):
        if role.arn == role_arn:
            return role
    return None


def _listed(value) -> list:
    return [value] if isinstance(value, str) else list(value or [])


def _statements(document: dict) -> list[dict]:
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    return [statements] if isinstance(statements, dict) else [s for s in statements if isinstance(s, dict)]


def trusts(role, caller_account: str, caller_arns: list[str], context: dict, action: str = "sts:AssumeRole") -> bool:
    """Whether the role's trust policy lets the caller do `action` (sts:AssumeRole, and with it
    sts:SetSourceIdentity or sts:TagSession when the request sets them)."""
    allowed = False
    for st in _statements(json.loads(role.assume_role_policy_document)):
        if not _matches_any(_listed(st.get("Action")), action, ignore_case=True):
            continue
        principals = st.get("Principal", {})
        aws = principals.get("AWS", []) if isinstance(principals, dict) else principals
        if not set(_listed(aws)) & {"*", caller_account, f"arn:aws:iam::{caller_account}:root", *caller_arns}:
            continue
        holds = conditions_hold(st.get("Condition", {}), context, st.get("Effect") == "Deny")
        if holds and st.get("Effect") == "Deny":
            return False
        allowed = allowed or (holds and st.get("Effect") == "Allow")
    return allowed


def condition_holds(operator: str, body: dict, context: dict) -> bool:
    return conditions_hold({operator: body}, context, fail_as=False)


def conditions_hold(condition: dict, context: dict, fail_as: bool = False) -> bool:
    """Every condition of a statement holds in `context` (a key's value: a string, or a list for a
    multi-valued key such as dynamodb:LeadingKeys). `fail_as`: what an operator not modelled gives."""
    for operator, body in (condition or {}).items():
        for key, expected in (body or {}).items():
            result = _condition(operator, _listed(expected), context.get(key))
            if result is None:
                return fail_as
            if not result:
                return False
    return True


def _condition(operator: str, expected: list, actual) -> bool | None:
    """One condition; None for an operator the local AWS does not model."""
    quantifier, _, test = operator.rpartition(":")
    if_exists = test.endswith("IfExists")
    test = test.removesuffix("IfExists")
    values = None if actual is None else _listed(actual)
    if test == "Bool":
        if values is None:  # the local AWS's MFA contexts leave the key out where AWS says false
            return if_exists or expected == ["false"]
        return all(v in expected for v in values)
    if test == "NumericLessThan":
        return values is not None and all(int(v) < int(expected[0]) for v in values)
    compare = {
        "StringEquals": lambda v, e: v == e,
        "StringNotEquals": lambda v, e: v != e,
        "StringEqualsIgnoreCase": lambda v, e: v.lower() == e.lower(),
        "StringLike": lambda v, e: _wildcard(e).fullmatch(v) is not None,
        "StringNotLike": lambda v, e: _wildcard(e).fullmatch(v) is None,
    }.get(test)
    if compare is None or quantifier not in ("", "ForAllValues", "ForAnyValue"):
        return None
    negated = "Not" in test
    if values is None:
        return quantifier == "ForAllValues" or if_exists or negated

    def one(v) -> bool:
        return all(compare(v, e) for e in expected) if negated else any(compare(v, e) for e in expected)

    if quantifier == "ForAllValues":
        return all(one(v) for v in values)
    return any(one(v) for v in values)


@lru_cache(maxsize=4096)
def _wildcard(pattern: str, ignore_case: bool = False) -> re.Pattern:
    """IAM's wildcards: * any run of characters, ? one; everything else literal."""
    text = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(text + r"\Z", re.S | (re.I if ignore_case else 0))


def _matches_any(patterns: list, value: str, ignore_case: bool = False) -> bool:
    return any(_wildcard(p, ignore_case).match(value) for p in patterns if isinstance(p, str))


def decide(documents: list[dict], action: str, resource: str, context: dict) -> str | None:
    """ "Deny", "Allow", or None (no statement applies) for one request, over a set of policies."""
    allowed = False
    for document in documents:
        for st in _statements(document):
            if "NotAction" in st:
                if _matches_any(_listed(st["NotAction"]), action, ignore_case=True):
                    continue
            elif not _matches_any(_listed(st.get("Action")), action, ignore_case=True):
                continue
            if "NotResource" in st:
                if _matches_any(_listed(st["NotResource"]), resource):
                    continue
            elif not _matches_any(_listed(st.get("Resource")), resource):
                continue
            deny = st.get("Effect") == "Deny"
            if not conditions_hold(st.get("Condition", {}), context, fail_as=deny):
                continue
            if deny:
                return "Deny"
            allowed = True
    return "Allow" if allowed else None


def role_of_session(arn: str):
    """The IAM role an assumed-role session ARN (arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION) is of."""
    m = re.fullmatch(r"arn:[a-z-]+:sts::(\d{12}):assumed-role/([^/]+)/.+", arn or "")
    if not m or m.group(1) not in iam_backends:
        return None
    backend = iam_backends[m.group(1)]["global"]
    return next((r for r in list(backend.roles.values()) if r.name == m.group(2)), None)


def identity_policies(role) -> list[dict]:
    """The role's own permissions: its inline policies and the managed policies attached to it."""
    documents = [json.loads(text) if isinstance(text, str) else text for text in role.policies.values()]
    for arn in list(role.managed_policies):
        document = managed_policy(arn, role.account_id)
        if document is not None:
            documents.append(document)
    return documents


@lru_cache(maxsize=1)
def _aws_managed() -> dict:
    """AWS's managed policies as AWS publishes them (moto keeps a copy: ReadOnlyAccess and the rest)."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return json.loads(aws_managed_policies_data)


def managed_policy(arn: str, account: str) -> dict | None:
    """A managed policy's document by ARN: AWS's own (arn:aws:iam::aws:policy/...), or a customer
    managed policy of `account` (AWS takes only those of the role's account); None if there is none."""
    m = re.fullmatch(r"arn:[a-z-]+:iam::(aws|\d{12}):policy/(?:(.*)/)?([^/]+)", arn or "")
    if not m:
        return None
    if m.group(1) == "aws":
        found = _aws_managed().get(m.group(3))
        path = f"/{m.group(2)}/" if m.group(2) else "/"
        return found["Document"] if found and found.get("Path", "/") == path else None
    if m.group(1) != account or account not in iam_backends:
        return None
    policy = iam_backends[account]["global"].managed_policies.get(arn)
    if policy is None:
        return None
    version = next((v for v in policy.versions if v.is_default), None)
    return json.loads(version.document) if version else None


def with_default_user_name(body: bytes, form: dict, user_name: str | None) -> bytes:
    """ListMFADevices without UserName means the caller on AWS; moto needs it spelled out."""
    if user_name and not (form.get("UserName") or [None])[0]:
        return (body.decode() + "&" + urlencode({"UserName": user_name})).encode()
    return body


def query_error(namespace: str, fault: Fault) -> bytes:
    """The error document of the query protocol (IAM, STS)."""
    kind = "Sender" if fault.status < 500 else "Receiver"
    return (
        f'<ErrorResponse xmlns="{namespace}"><Error><Type>{kind}</Type>'
        f"<Code>{fault.code}</Code><Message>{xml_escape(fault.message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()


def error_body(fault: Fault) -> tuple[bytes, str]:
    return query_error(NAMESPACE, fault), "text/xml"
