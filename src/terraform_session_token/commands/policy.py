"""policy: print the IAM setup (group policy, trust policy requiring MFA) as JSON or HCL, or the
inline session policy of a Terraform plan profile."""

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
    parser.add_argument(
        "--set-source-identity",
        action="store_true",
        help="the users pass --source-identity: allow sts:SetSourceIdentity (their own user name only)",
    )
    parser.add_argument("--tag-session", action="store_true", help="the users pass --tag: allow sts:TagSession")
    parser.add_argument(
        "--plan-session",
        action="store_true",
        help="instead: the inline session policy of a Terraform plan profile (with ReadOnlyAccess, it lets "
        "plan take and release the state lock, nothing more); needs --state-bucket and --state-key",
    )
    parser.add_argument("--state-bucket", metavar="BUCKET", help="with --plan-session: the S3 backend's bucket")
    parser.add_argument("--state-key", metavar="KEY", help="with --plan-session: the S3 backend's key")
    parser.add_argument(
        "--lock-table", metavar="TABLE", help="with --plan-session: the S3 backend's DynamoDB lock table, if any"
    )


BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
TABLE = re.compile(r"[A-Za-z0-9_.-]{3,255}")
PLAN_NOTE = (
    "# the inline session policy of a plan profile: give it to configure with --policy (the JSON, or "
    "file://PATH of a file holding it), together with --policy-arn arn:aws:iam::aws:policy/ReadOnlyAccess"
)


def plan_session(args) -> int:
    """The plan profile's inline session policy, checked so that it can't grant more than meant."""
    if args.format == "hcl" or args.document or args.login or args.set_source_identity or args.tag_session:
        raise UsageError(
            "--plan-session prints one JSON session policy: --format hcl, --document, --login, "
            "--set-source-identity and --tag-session are for the IAM setup",
            "run policy again without --plan-session for those",
        )
    if not args.state_bucket or not args.state_key:
        raise UsageError("--plan-session needs --state-bucket and --state-key", "the S3 backend's bucket and key")
    if not BUCKET.fullmatch(args.state_bucket):
        raise UsageError(f"--state-bucket {args.state_bucket!r} is not an S3 bucket name", "3-63 of a-z 0-9 . -")
    # A wildcard would unlock more than this state; IAM reads * and ? in a Resource as wildcards.
    if any(c in args.state_key for c in "*?$") or not args.state_key.isprintable() or args.state_key.startswith("/"):
        raise UsageError(
            f"--state-key {args.state_key!r} is not a plain S3 key", "the backend's key, e.g. network/terraform.tfstate"
        )
    if args.lock_table is not None and not TABLE.fullmatch(args.lock_table):
        raise UsageError(f"--lock-table {args.lock_table!r} is not a DynamoDB table name", "3-255 of A-Z a-z 0-9 _ . -")
    print(PLAN_NOTE, file=sys.stderr)
    sys.stderr.flush()
    print(json.dumps(policy.plan_session_policy(args.state_bucket, args.state_key, args.lock_table), indent=2))
    return 0


def run(args) -> int:
    if args.plan_session:
        return plan_session(args)
    if args.state_bucket or args.state_key or args.lock_table:
        raise UsageError("--state-bucket, --state-key and --lock-table go with --plan-session", "add --plan-session")
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
        text = policy.as_hcl(
            args.account,
            args.role,
            args.user_group,
            args.max_mfa_age,
            args.document,
            args.set_source_identity,
            args.tag_session,
        )
        if args.login and args.document in (None, "group"):
            text += policy.login_hcl(args.user_group)
        print(text, end="")
        return 0
    extra = {"source_identity": args.set_source_identity, "tags": args.tag_session}
    documents = {
        "group": ("the users' group policy", policy.group_policy(args.account, args.role, **extra)),
        "trust": ("the role's trust policy", policy.trust_policy(args.account, args.max_mfa_age, **extra)),
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
