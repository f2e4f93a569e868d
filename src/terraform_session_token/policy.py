"""The IAM setup as documents: the users' group policy and the role's trust policy (JSON, HCL)."""

from __future__ import annotations

import json

ACCOUNT_PLACEHOLDER = "123456789012"


def trust_policy(account: str, max_mfa_age: int | None = None) -> dict:
    """The role may be assumed by the account's principals only with MFA (and a recent one)."""
    condition: dict = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    if max_mfa_age:
        condition["NumericLessThan"] = {"aws:MultiFactorAuthAge": str(max_mfa_age)}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowAssumeRoleOnlyWithMFA",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "sts:AssumeRole",
                "Condition": condition,
            }
        ],
    }


def group_policy(account: str, role: str) -> dict:
    """What the users' group needs: find their own MFA device, read and assume the role."""
    role_arn = f"arn:aws:iam::{account}:role/{role}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowListOwnMFADevices",
                "Effect": "Allow",
                "Action": "iam:ListMFADevices",
                "Resource": f"arn:aws:iam::{account}:user/${{aws:username}}",
            },
            {
                "Sid": sid(role),
                "Effect": "Allow",
                "Action": ["iam:GetRole", "sts:AssumeRole"],
                "Resource": role_arn,
            },
        ],
    }


def sid(role: str) -> str:
    """A statement id: IAM allows only letters and digits there (a role name may have - _ . @ ...)."""
    return "AllowGetAndAssume" + "".join(c for c in role if c.isascii() and c.isalnum())


def _hcl_list(items: list[str]) -> str:
    return "[" + ", ".join(json.dumps(i).replace("${", "$${") for i in items) + "]"


LOGIN_POLICY_ARN = "arn:aws:iam::aws:policy/SignInLocalDevelopmentAccess"
LOGIN_NOTE = (
    "for 'aws login' as the source (no long-term keys): also attach the AWS managed policy "
    f"SignInLocalDevelopmentAccess ({LOGIN_POLICY_ARN}) to the users; it lets them sign in with "
    "'aws login' and refresh that session (signin:CreateOAuth2Token)"
)


def login_hcl(group: str) -> str:
    return f"""
# 'aws login' as the source identity: sign-in from the command line, and its refresh.
resource "aws_iam_group_policy_attachment" "sign_in_local_development" {{
  group      = aws_iam_group.{group.lower()}.name
  policy_arn = "{LOGIN_POLICY_ARN}"
}}
"""


def as_hcl(account: str, role: str, group: str, max_mfa_age: int | None, document: str | None = None) -> str:
    """Current Terraform syntax: aws_iam_policy_document data sources, no 0.11 interpolation."""
    ident = "".join(c if c.isalnum() else "_" for c in role).lower()
    mfa_age = ""
    if max_mfa_age:
        mfa_age = f"""
    condition {{
      test     = "NumericLessThan"
      variable = "aws:MultiFactorAuthAge"
      values   = ["{max_mfa_age}"]
    }}
"""
    trust = f"""data "aws_iam_policy_document" "{ident}_trust" {{
  statement {{
    sid     = "AllowAssumeRoleOnlyWithMFA"
    actions = ["sts:AssumeRole"]

    principals {{
      type        = "AWS"
      identifiers = ["arn:aws:iam::{account}:root"]
    }}

    condition {{
      test     = "Bool"
      variable = "aws:MultiFactorAuthPresent"
      values   = ["true"]
    }}
{mfa_age}  }}
}}

resource "aws_iam_role" "{ident}" {{
  name                 = "{role}"
  description          = "High privileged access for Terraform, only with MFA"
  assume_role_policy   = data.aws_iam_policy_document.{ident}_trust.json
  max_session_duration = 3600
}}
"""
    group_part = f"""data "aws_iam_policy_document" "assume_{ident}" {{
  statement {{
    sid       = "AllowListOwnMFADevices"
    actions   = ["iam:ListMFADevices"]
    resources = {_hcl_list([f"arn:aws:iam::{account}:user/${{aws:username}}"])}
  }}

  statement {{
    sid       = "{sid(role)}"
    actions   = ["iam:GetRole", "sts:AssumeRole"]
    resources = [aws_iam_role.{ident}.arn]
  }}
}}

resource "aws_iam_policy" "assume_{ident}" {{
  name        = "Assume{role}"
  description = "Lets users find their MFA device and assume {role} with MFA"
  policy      = data.aws_iam_policy_document.assume_{ident}.json
}}

resource "aws_iam_group" "{group.lower()}" {{
  name = "{group}"
}}

resource "aws_iam_group_policy_attachment" "assume_{ident}" {{
  group      = aws_iam_group.{group.lower()}.name
  policy_arn = aws_iam_policy.assume_{ident}.arn
}}
"""
    return {"trust": trust, "group": group_part, None: trust + "\n" + group_part}[document]
