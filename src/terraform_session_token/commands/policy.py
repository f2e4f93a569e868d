"""policy: print the IAM setup (group policy, trust policy requiring MFA) as JSON or HCL."""

from __future__ import annotations

import json
import re

from .. import policy
from ..errors import UsageError


def add_arguments(parser) -> None:
    parser.add_argument("--role", default="TerraformRole", help="the role's name (default TerraformRole)")
    parser.add_argument("--account", default=policy.ACCOUNT_PLACEHOLDER, help="the 12-digit account ID")
    parser.add_argument("--user-group", default="TerraformUsers", help="IAM group of the users (HCL)")
    parser.add_argument("--format", choices=("json", "hcl"), default="json")
    parser.add_argument("--document", choices=("group", "trust"), help="print only one JSON document")
    parser.add_argument("--max-mfa-age", type=int, metavar="SECONDS", help="also require MFA at most this old")


def run(args) -> int:
    if not re.fullmatch(r"\d{12}", args.account):
        raise UsageError(f"--account must be a 12-digit AWS account ID, not {args.account!r}", "")
    if not re.fullmatch(r"[\w+=,.@-]{1,64}", args.role):
        raise UsageError(f"invalid role name {args.role!r}", "letters, digits and + = , . @ _ - only")
    if not re.fullmatch(r"[A-Za-z][\w+=,.@-]{0,127}", args.user_group):
        raise UsageError(f"invalid group name {args.user_group!r}", "letters, digits and + = , . @ _ - only")
    if args.format == "hcl":
        print(policy.as_hcl(args.account, args.role, args.user_group, args.max_mfa_age), end="")
    elif args.document == "group":
        print(json.dumps(policy.group_policy(args.account, args.role), indent=2))
    elif args.document == "trust":
        print(json.dumps(policy.trust_policy(args.account, args.max_mfa_age), indent=2))
    else:
        print(policy.as_json(args.account, args.role, args.max_mfa_age))
    return 0
