"""The IAM setup as documents: the users' group policy and the role's trust policy (JSON, HCL), and
the inline session policy of a Terraform plan profile."""

from __future__ import annotations

import json

ACCOUNT_PLACEHOLDER = "123456789012"


SET_SOURCE_IDENTITY = "sts:SetSourceIdentity"
TAG_SESSION = "sts:TagSession"


def trust_actions(source_identity: bool = False, tags: bool = False) -> list[str]:
    """What the trust policy lets the users do: assume the role and, when they use them, set a
    source identity (--source-identity) and pass session tags (--tag)."""
    return ["sts:AssumeRole"] + [SET_SOURCE_IDENTITY] * source_identity + [TAG_SESSION] * tags


def trust_policy(
    account: str, max_mfa_age: int | None = None, source_identity: bool = False, tags: bool = False
) -> dict:
    """The role may be assumed by the account's principals only with MFA (and a recent one)."""
    condition: dict = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    if max_mfa_age:
        condition["NumericLessThan"] = {"aws:MultiFactorAuthAge": str(max_mfa_age)}
    actions = trust_actions(source_identity, tags)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowAssumeRoleOnlyWithMFA",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": actions[0] if len(actions) == 1 else actions,
                "Condition": condition,
            }
        ],
    }


def group_policy(account: str, role: str, source_identity: bool = False, tags: bool = False) -> dict:
    """What the users' group needs: find their own MFA device, read and assume the role; with a
    source identity, set their own user name as it (and no one else's); with tags, tag the session."""
    role_arn = f"arn:aws:iam::{account}:role/{role}"
    statements = [
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
    ]
    if source_identity:
        statements.append(
            {
                "Sid": "AllowOwnUserNameAsSourceIdentity",
                "Effect": "Allow",
                "Action": SET_SOURCE_IDENTITY,
                "Resource": role_arn,
                "Condition": {"StringEquals": {"sts:SourceIdentity": "${aws:username}"}},
            }
        )
    if tags:
        statements.append({"Sid": "AllowSessionTags", "Effect": "Allow", "Action": TAG_SESSION, "Resource": role_arn})
    return {"Version": "2012-10-17", "Statement": statements}


def allows_action(document, action: str) -> bool:
    """Whether a policy document (a dict, or JSON text as IAM may return it, URL-encoded) has an Allow
    statement for `action`, wildcards read as IAM reads them. Principals and conditions are not
    judged: False means AWS will certainly refuse the action, True only that it may allow it."""
    import fnmatch

    if isinstance(document, str):
        from urllib.parse import unquote

        try:
            document = json.loads(unquote(document) if document.lstrip().startswith("%") else document)
        except ValueError:
            return True  # unreadable here: AWS decides
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    for st in [statements] if isinstance(statements, dict) else statements:
        if not isinstance(st, dict) or st.get("Effect") != "Allow":
            continue
        actions = st.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if any(isinstance(a, str) and fnmatch.fnmatchcase(action.lower(), a.lower()) for a in actions):
            return True
    return False


WORKSPACE_PREFIX = "env:"  # the S3 backend's default workspace_key_prefix


def plan_session_policy(bucket: str, key: str, lock_table: str | None = None) -> dict:
    """The inline session policy that, with AWS's managed ReadOnlyAccess, lets `terraform plan` take
    and release its state lock and nothing else: the S3 lock file (`use_lockfile`) of this state,
    and with a DynamoDB lock table, the lock item of this state alone (its partition key is
    BUCKET/KEY). Both for the default workspace and the others (env:/NAME/KEY)."""
    states = [key, f"{WORKSPACE_PREFIX}/*/{key}"]
    statements: list[dict] = [
        {
            "Sid": "TakeAndReleaseTheStateLockFile",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:DeleteObject"],
            "Resource": [f"arn:aws:s3:::{bucket}/{state}.tflock" for state in states],
        }
    ]
    if lock_table:
        statements.append(
            {
                "Sid": "TakeAndReleaseTheStateLockItem",
                "Effect": "Allow",
                "Action": ["dynamodb:PutItem", "dynamodb:DeleteItem"],
                "Resource": f"arn:aws:dynamodb:*:*:table/{lock_table}",
                "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{bucket}/{s}" for s in states]}},
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


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


def as_hcl(
    account: str,
    role: str,
    group: str,
    max_mfa_age: int | None,
    document: str | None = None,
    source_identity: bool = False,
    tags: bool = False,
) -> str:
    """Current Terraform syntax: aws_iam_policy_document data sources, no 0.11 interpolation."""
    ident = "".join(c if c.isalnum() else "_" for c in role).lower()
    extra = ""
    if source_identity:
        extra += f"""
  statement {{
    sid       = "AllowOwnUserNameAsSourceIdentity"
    actions   = ["{SET_SOURCE_IDENTITY}"]
    resources = [aws_iam_role.{ident}.arn]

    condition {{
      test     = "StringEquals"
      variable = "sts:SourceIdentity"
      values   = ["$${{aws:username}}"]
    }}
  }}
"""
    if tags:
        extra += f"""
  statement {{
    sid       = "AllowSessionTags"
    actions   = ["{TAG_SESSION}"]
    resources = [aws_iam_role.{ident}.arn]
  }}
"""
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
    actions = {_hcl_list(trust_actions(source_identity, tags))}

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
{extra}}}

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
