"""policy: print the IAM setup (group policy, trust policy requiring MFA) as JSON or HCL."""

from __future__ import annotations

import json
import re
import sys

from .. import policy
from ..errors import UsageError


def add_arguments(parser) -> None:
    parser.add_argument("--role", default="TerraformRole", help="the role's name (default TerraformRole)")
    parser.add_argument("--account", help="the 12-digit account ID (without it: a placeholder, said on stderr)")
    parser.add_argument("--user-group", default="TerraformUsers", help="IAM group of the users (HCL)")
    parser.add_argument(
        "--format", choices=("json", "hcl"), default="json", help="JSON documents (default) or Terraform HCL"
    )
    parser.add_argument(
        "--document",
        choices=("group", "trust"),
        help="only the users' group policy or only the role's trust policy (JSON: one document to paste "
        "into IAM as is; HCL: only the resources of that part)",
    )
    parser.add_argument("--max-mfa-age", type=int, metavar="SECONDS", help="also require MFA at most this old")
    parser.add_argument(
        "--login",
        action="store_true",
        help="the users sign in with 'aws login' (no long-term keys): also attach SignInLocalDevelopmentAccess",
    )


def run(args) -> int:
    if args.account is None:
        print(
            f"terraform-session-token: warning: no --account: {policy.ACCOUNT_PLACEHOLDER} is a placeholder; "
            "pass your 12-digit account ID",
            file=sys.stderr,
        )
        args.account = policy.ACCOUNT_PLACEHOLDER
    if not re.fullmatch(r"[0-9]{12}", args.account):
        raise UsageError(f"--account must be a 12-digit AWS account ID, not {args.account!r}", "")
    if not re.fullmatch(r"[\w+=,.@-]{1,64}", args.role):
        raise UsageError(f"invalid role name {args.role!r}", "letters, digits and + = , . @ _ - only")
    if not re.fullmatch(r"[A-Za-z][\w+=,.@-]{0,127}", args.user_group):
        raise UsageError(f"invalid group name {args.user_group!r}", "letters, digits and + = , . @ _ - only")
    if args.format == "hcl":
        text = policy.as_hcl(args.account, args.role, args.user_group, args.max_mfa_age, args.document)
        if args.login and args.document in (None, "group"):
            text += policy.login_hcl(args.user_group)
        print(text, end="")
        return 0
    documents = {
        "group": ("the users' group policy", policy.group_policy(args.account, args.role)),
        "trust": ("the role's trust policy", policy.trust_policy(args.account, args.max_mfa_age)),
    }
    chosen = [args.document] if args.document else ["group", "trust"]
    for n, name in enumerate(chosen):
        if len(chosen) > 1:  # the titles go to stderr: stdout holds only documents IAM takes as they are
            print(("\n" if n else "") + f"# {documents[name][0]} (--document {name} prints it alone)", file=sys.stderr)
            sys.stderr.flush()
        print(json.dumps(documents[name][1], indent=2))
        sys.stdout.flush()
    if args.login:
        print(f"\n# {policy.LOGIN_NOTE}", file=sys.stderr)
    return 0
