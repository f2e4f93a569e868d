"""IAM: the roles' trust policies and their conditions, users by access key, AWS's defaults moto lacks."""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import urlencode

from moto.iam.models import iam_backends

from .model import Fault, xml_escape

NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"


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


def trusts(role, caller_account: str, caller_arns: list[str], context: dict) -> bool:
    policy = json.loads(role.assume_role_policy_document)
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    for st in statements:
        actions = st.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if st.get("Effect") != "Allow" or not {"sts:AssumeRole", "sts:*", "*"} & set(actions):
            continue
        principals = st.get("Principal", {})
        aws = principals.get("AWS", []) if isinstance(principals, dict) else principals
        aws = [aws] if isinstance(aws, str) else aws
        allowed = {"*", caller_account, f"arn:aws:iam::{caller_account}:root", *caller_arns}
        if not set(aws) & allowed:
            continue
        if all(condition_holds(op, body, context) for op, body in st.get("Condition", {}).items()):
            return True
    return False


def condition_holds(operator: str, body: dict, context: dict) -> bool:
    for key, expected in body.items():
        expected = [expected] if isinstance(expected, str) else list(expected)
        actual = context.get(key)
        if operator in ("Bool", "BoolIfExists"):
            if actual is None:
                if operator == "BoolIfExists" or expected == ["false"]:
                    continue
                return False
            if actual not in expected:
                return False
        elif operator == "NumericLessThan":
            if actual is None or not int(actual) < int(expected[0]):
                return False
        elif operator == "StringEquals":
            if actual not in expected:
                return False
        else:
            return False  # an operator we don't model: fail closed
    return True


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
