"""What a role session is asked to be besides its role and duration: narrowed by session policies
(managed policy ARNs, an inline policy), and marked for the audit trail (a source identity, session
tags). AssumeRole carries all of it.

Pure functions over values: the values are checked against AWS's limits before any call, turned
into AssumeRole's parameters, and summed up in one line (`key`) that a session carries in the cache
and the credentials file, so that a session serves only a profile that asks for the same.
"""

from __future__ import annotations

import re

from .errors import ConfigError, RoleError, ToolError, UsageError

MAX_POLICY_ARNS = 10
# The plain text of the session policies, the inline policy and the policy ARNs together (AWS's
# AssumeRole reference and "Passing session tags in AWS STS"). AWS also packs policies and tags
# into a binary form with a limit of its own, which it does not publish: that one only AWS can
# check, and its PackedPolicyTooLarge is translated when it comes.
MAX_POLICY_CHARS = 2048
MAX_TAGS = 50
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
POLICY_ARN = re.compile(r"arn:aws[a-z-]*:iam::(?:[0-9]{12}|aws):policy/[\x21-\x7e]+", re.ASCII)
SOURCE_IDENTITY = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)
TAG_PUNCTUATION = frozenset("_.:/=+-@")
TAG_CHARS = "letters, digits, spaces and _ . : / = + - @"
ARN_COMMA = re.compile(r",(?=arn:)")  # a policy name may hold a comma; an ARN starts with arn:


def split_arns(text: str) -> list[str]:
    """Policy ARNs as a config file lists them: separated by white space (as configure writes
    them), or by commas, which a policy name may also hold: a comma separates before arn: only."""
    return [part for chunk in text.split() for part in ARN_COMMA.split(chunk) if part]


def split_list(text: str) -> list[str]:
    """Tags (KEY=VALUE) or tag keys as a config file lists them: separated by commas, which AWS
    allows in neither."""
    return [part.strip() for part in text.split(",") if part.strip()]


def policy_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


class Narrowing:
    """The session policies, source identity and session tags of one role session."""

    def __init__(
        self,
        policy_arns: tuple[str, ...] = (),
        policy: str | None = None,
        source_identity: str | None = None,
        tags: tuple[tuple[str, str], ...] = (),
        transitive_tag_keys: tuple[str, ...] = (),
    ):
        self.policy_arns = tuple(policy_arns)
        self.policy = policy  # compact JSON, exactly as sent
        self.source_identity = source_identity
        self.tags = tuple(tags)
        self.transitive_tag_keys = tuple(transitive_tag_keys)
        self.policy_from_file = False  # file:// in the config file: read on every run

    def __bool__(self) -> bool:
        return bool(self.policy_arns or self.policy or self.source_identity or self.tags)

    def params(self) -> dict:
        """AssumeRole's parameters for it (botocore's shapes)."""
        params: dict = {}
        if self.policy_arns:
            params["PolicyArns"] = [{"arn": arn} for arn in self.policy_arns]
        if self.policy:
            params["Policy"] = self.policy
        if self.source_identity:
            params["SourceIdentity"] = self.source_identity
        if self.tags:
            params["Tags"] = [{"Key": k, "Value": v} for k, v in self.tags]
        if self.transitive_tag_keys:
            params["TransitiveTagKeys"] = list(self.transitive_tag_keys)
        return params

    def describe(self) -> str:
        """One line for status and doctor: policy names, never a tag's value or the policy's text."""
        parts = []
        policies = sorted(policy_name(arn) for arn in self.policy_arns) + (["an inline policy"] if self.policy else [])
        if policies:
            parts.append("narrowed to " + " + ".join(policies))
        if self.source_identity:
            parts.append(f"source identity {self.source_identity}")
        if self.tags:
            transitive = f" ({len(self.transitive_tag_keys)} transitive)" if self.transitive_tag_keys else ""
            parts.append(f"{len(self.tags)} session tag{'s' if len(self.tags) > 1 else ''}{transitive}")
        return ", ".join(parts)

    def key(self) -> str:
        """What a session records of it: the description and a digest of every value ("" for none).
        Order does not matter to AWS, so it does not matter here; tag keys ignore case, as AWS's do."""
        if not self:
            return ""
        import hashlib
        import json

        canonical = json.dumps(
            {
                "PolicyArns": sorted(self.policy_arns),
                "Policy": self.policy,
                "SourceIdentity": self.source_identity,
                "Tags": sorted((k.lower(), k, v) for k, v in self.tags),
                "TransitiveTagKeys": sorted(k.lower() for k in self.transitive_tag_keys),
            },
            separators=(",", ":"),
            ensure_ascii=True,
        )
        return f"{self.describe()} (sha256 {hashlib.sha256(canonical.encode()).hexdigest()[:24]})"


def refused_by_trust(role: str, action: str, what: str, by_aws: bool = False) -> RoleError:
    """AWS refuses (`by_aws`: refused) `action` (sts:SetSourceIdentity, sts:TagSession) on the role:
    what to add, and where."""
    flag = "--set-source-identity" if action == "sts:SetSourceIdentity" else "--tag-session"
    chain = " (in a role chain, a source identity set earlier can't change)" if by_aws and "Source" in action else ""
    return RoleError(
        f"AWS refused {what} on {role}: {action} was not allowed{chain}"
        if by_aws
        else f"AWS refuses {what} on {role}: its trust policy does not allow {action}",
        f"add {action} to the Action of the trust statement that lets you assume {role}, and to your users' "
        f"policy: terraform-session-token policy {flag} prints both",
    )


def describe_key(key: str) -> str:
    """The description part of a session's recorded key."""
    return re.sub(r" \(sha256 [0-9a-f]+\)$", "", key or "")


class _Source:
    """Where one value came from, to word its refusal: a flag (exit 2) or the config file (exit 3)."""

    def __init__(self, flag: str, config_key: str, origin: str, where: str):
        self.from_config = origin.startswith("config")
        self.name = f"{config_key} in {where}" if self.from_config else flag
        self.where = where

    def fail(self, message: str, hint: str):
        if self.from_config:
            return ConfigError(message, f"fix it there: {hint}" if hint else "fix it there")
        return UsageError(message, hint)


def compact_policy(text: str, source: _Source) -> str:
    """The inline policy as sent: JSON without white space between tokens (AWS counts what is sent),
    characters above U+00FF escaped (AWS takes U+0020 to U+00FF, tab and line breaks)."""
    import json

    def pairs(items):
        seen = set()
        for key, _ in items:
            if key in seen:
                raise source.fail(f"{source.name}: the policy has the key {key!r} twice in one object", "give it once")
            seen.add(key)
        return dict(items)

    try:
        document = json.loads(text, object_pairs_hook=pairs)
    except ValueError as e:
        raise source.fail(f"{source.name}: the policy is not JSON: {e}", "give the document as JSON, or file://PATH")
    except RecursionError:
        raise source.fail(f"{source.name}: the policy is nested deeper than any IAM policy", "") from None
    if not isinstance(document, dict) or "Statement" not in document:
        raise source.fail(
            f"{source.name}: the policy is not an IAM policy document (a JSON object with a Statement)",
            'e.g. {"Version": "2012-10-17", "Statement": [...]}',
        )
    compact = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    return re.sub(r"[^\x20-\xff]", lambda m: json.dumps(m.group())[1:-1], compact)


def read_policy(value: str, source: _Source) -> tuple[str, bool]:
    """JSON text, or file://PATH as the AWS CLI reads it (~ and $VARS expanded); (text, from a file).
    A FIFO or a device is refused, not waited on."""
    if not value.startswith("file://"):
        return value, False
    import os

    from . import storage

    path = os.path.expandvars(os.path.expanduser(value[len("file://") :]))
    try:
        text = storage.read_text(path)
    except ToolError as e:
        raise source.fail(f"{source.name}: {e.message}", e.hint) from None
    if text is None:
        raise source.fail(f"{source.name}: can't read {path}: no such file", "give the JSON, or file://PATH of a file")
    return text, True


def _first_refused_tag_char(text: str) -> str | None:
    """The first character AWS does not take in a tag ([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]), or None. Line and
    paragraph separators (\\p{Zl}, \\p{Zp}) are refused too: no file keeps them on one line."""
    import unicodedata

    for c in text:
        category = unicodedata.category(c)
        if not (category[0] in "LN" or category == "Zs" or c in TAG_PUNCTUATION):
            return c
    return None


def _check_tag(key: str, value: str, source: _Source) -> None:
    for what, text, limit in (("key", key, MAX_TAG_KEY), ("value", value, MAX_TAG_VALUE)):
        if len(text) > limit:
            raise source.fail(
                f"{source.name}: the tag {what} {text[:20]!r}... has {len(text)} characters; AWS takes at most {limit}",
                "shorten it",
            )
        bad = _first_refused_tag_char(text)
        if bad is not None:
            raise source.fail(
                f"{source.name}: the tag {what} {text!r} has a character AWS does not take in a session tag: "
                f"{bad!r} (U+{ord(bad):04X})",
                TAG_CHARS,
            )
    if key.lower().startswith("aws:"):
        raise source.fail(f"{source.name}: the tag key {key!r} starts with aws:, which AWS keeps for itself", "")


def build(values: dict, origins: dict, where: str, no_role: bool) -> Narrowing:
    """Check what the profile asks for against AWS's rules, before any call; the Narrowing to send.

    `values`: the Settings attribute of each session option (lists already split); `origins`:
    options.pick's record of where each came from."""
    from .options import BY_DEST

    def source(dest: str) -> _Source:
        option = BY_DEST[dest]
        return _Source(option.flags[-1], option.config[0], origins.get(option.setting, "flag"), where)

    arns = list(values.get("policy_arns") or [])
    for arn in arns:
        if not (20 <= len(arn) <= 2048 and POLICY_ARN.fullmatch(arn)):
            raise source("policy_arns").fail(
                f"{source('policy_arns').name}: {arn!r} is not a managed policy ARN",
                "e.g. arn:aws:iam::aws:policy/ReadOnlyAccess",
            )
    if len(arns) > MAX_POLICY_ARNS:
        raise source("policy_arns").fail(
            f"{len(arns)} session policy ARNs: AWS takes at most {MAX_POLICY_ARNS}",
            "combine some into one managed policy",
        )
    policy, from_file = None, False
    if values.get("session_policy"):
        src = source("session_policy")
        text, from_file = read_policy(values["session_policy"], src)
        policy = compact_policy(text, src)
    total = len(policy or "") + sum(len(arn) for arn in arns)
    if total > MAX_POLICY_CHARS:
        src = source("session_policy" if policy else "policy_arns")
        raise src.fail(
            f"the session policies come to {total:,} characters: AWS takes at most {MAX_POLICY_CHARS:,} "
            "(the inline policy without white space, plus the policy ARNs)",
            "shorten the inline policy (wildcards, fewer statements), or make it a managed policy",
        )
    identity = values.get("source_identity")
    if identity is not None and not SOURCE_IDENTITY.fullmatch(identity):
        src = source("source_identity")
        raise src.fail(
            f"{src.name}: {identity!r} is not a source identity AWS takes", "2 to 64 letters, digits and _ + = , . @ -"
        )
    tags = []
    src = source("session_tags")
    for item in values.get("session_tags") or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise src.fail(f"{src.name}: {item!r} is not KEY=VALUE", "e.g. Project=network")
        _check_tag(key, value, src)
        tags.append((key, value))
    if len(tags) > MAX_TAGS:
        raise src.fail(f"{len(tags)} session tags: AWS takes at most {MAX_TAGS}", "drop some")
    seen: dict[str, str] = {}
    for key, _ in tags:
        if key.lower() in seen:
            raise src.fail(
                f"{src.name}: the tag keys {seen[key.lower()]!r} and {key!r} are one key to AWS (tag keys ignore case)",
                "give each key once",
            )
        seen[key.lower()] = key
    transitive = list(values.get("transitive_tag_keys") or [])
    for key in transitive:
        if key.lower() not in seen:
            src = source("transitive_tag_keys")
            raise src.fail(f"{src.name}: {key!r} names no session tag", f"give the tag {key}=VALUE too")
    narrowing = Narrowing(tuple(arns), policy, identity, tuple(tags), tuple(transitive))
    narrowing.policy_from_file = from_file and source("session_policy").from_config
    if narrowing and no_role:
        raise UsageError(
            "session policies, a source identity and session tags need a role: GetSessionToken (--no-role) "
            "takes none of them",
            "drop them for this profile, or give it a role",
        )
    return narrowing
