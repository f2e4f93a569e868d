"""status: every session this tool manages, with its expiry. No AWS call, no botocore."""

from __future__ import annotations

import argparse
import json

from .. import sessions
from ..errors import terminal_safe
from ..narrowing import describe_key
from ..profiles import AwsFiles
from ..sessions import Session, describe_left, format_time

LOGIN = "aws login cache"


def add_arguments(parser) -> None:
    parser.add_argument(
        "-p", "--profile", default=argparse.SUPPRESS, metavar="NAME", help="only this profile's sessions"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--keys", action="store_true", help="list where each profile's long-term keys live")


def collect(files: AwsFiles) -> list[dict]:
    rows = []
    now = sessions.utcnow()
    for name in files.managed_profiles():
        session = Session.from_profile(files.credentials[name])
        rows.append(_row(name, "credentials file", session, now))
    for name in sessions.cached_names():
        kind = "MFA session cache" if name.startswith(sessions.MFA_PREFIX) else "cache"
        rows.append(_row(name, kind, sessions.read_cached(name), now))
    for name in files.login_sources():
        rows.append(_login_row(name, files.config_for(name)["login_session"], now))
    return rows


def _login_row(name: str, session: str, now) -> dict:
    """An `aws login` source: its access token's expiry (the AWS CLI and botocore refresh it)."""
    from ..login_cache import token_expiry

    expires, _ = token_expiry(session)
    when = sessions.parse_time(expires) if expires else None
    left = int((when - now).total_seconds()) if when else 0
    return {
        "profile": name,
        "where": LOGIN,
        "identity": session,
        "expires": format_time(when) if when else "",
        "seconds_left": max(left, 0),
        "expired": left <= 0,
    }


def _row(name: str, where: str, session: Session | None, now) -> dict:
    if session is None:
        return {"profile": name, "where": where, "identity": "", "expires": "", "seconds_left": 0, "expired": True}
    left = int(session.seconds_left(now))
    row = {
        "profile": name,
        "where": where,
        "identity": session.arn,
        "expires": format_time(session.expiration),
        "seconds_left": max(left, 0),
        "expired": left <= 0,
    }
    if session.narrowing:
        row["session_options"] = describe_key(session.narrowing)
    return row


def source_keys(files: AwsFiles) -> list[dict]:
    """Where each profile's long-term keys live (read from the files: the keyring is not opened)."""
    rows = []
    for name in files.profile_names():
        if files.keys_in_keyring(name):
            rows.append({"profile": name, "keys": "OS keyring"})
        elif files.plaintext_keys(name):
            rows.append({"profile": name, "keys": f"plaintext in {files.plaintext_location(name)}"})
    return rows


def _check_profile(files: AwsFiles, name: str) -> None:
    """status -p NAME of a profile no file and no cache knows: a typo, said as such."""
    from ..errors import UsageError

    if files.has_profile(name) or name in sessions.cached_names():
        return
    import difflib

    close = difflib.get_close_matches(name, files.profile_names(), n=1)
    raise UsageError(
        f"profile [{name}] is not in the credentials or config file",
        f"did you mean -p {close[0]}?" if close else "see: terraform-session-token status",
    )


def run(args) -> int:
    files = AwsFiles.load()
    rows = collect(files)
    profile = getattr(args, "profile", None)
    if profile:  # -p before or after the command: that profile's rows only
        _check_profile(files, profile)
        rows = [r for r in rows if r["profile"] == profile]
    keys = source_keys(files)
    if args.json:
        print(json.dumps({"sessions": rows, "long_term_keys": keys} if args.keys else rows, indent=2))
        return 0
    if args.keys:
        if keys:
            print("Long-term keys (keys import NAME moves plaintext ones into the OS keyring):")
            _table(("PROFILE", "KEYS"), [(f"[{r['profile']}]", r["keys"]) for r in keys])
        else:
            print("No long-term keys in the AWS files or the OS keyring.")
        print()
    else:
        _key_summary(keys)
    profile_rows = [r for r in rows if r["where"] not in ("MFA session cache", LOGIN)]
    mfa_rows = [r for r in rows if r["where"] == "MFA session cache"]
    login_rows = [r for r in rows if r["where"] == LOGIN]
    if not rows:
        print(f"No session for [{profile}]." if profile else "No sessions managed by terraform-session-token.")
        return 0
    if profile_rows:
        # Session policies, source identity and tags: a column of their own when any session has them.
        options = ("SESSION OPTIONS",) if any(r.get("session_options") for r in profile_rows) else ()
        _table(
            ("PROFILE", "WHERE", "IDENTITY", "EXPIRES", "LEFT", *options),
            [(r["profile"], r["where"], r["identity"] or "-", r["expires"] or "-", describe_left(r["seconds_left"]),
              *([r.get("session_options") or "-"] if options else [])) for r in profile_rows],
        )  # fmt: skip
    if mfa_rows:
        if profile_rows:
            print()
        print("MFA sessions (mfa_session = true; clear -p PROFILE removes the one it uses):")
        _table(
            ("SOURCE", "USER", "EXPIRES", "LEFT"),
            [(f"[{sessions.mfa_cache_source(r['profile'])}]", r["identity"] or "-", r["expires"] or "-",
              describe_left(r["seconds_left"])) for r in mfa_rows],
        )  # fmt: skip
    if login_rows:
        if profile_rows or mfa_rows:
            print()
        print("aws login sources (their 15-min access token is refreshed without a prompt for up to 12 h):")
        _table(
            ("SOURCE", "LOGIN SESSION", "ACCESS TOKEN EXPIRES", "LEFT"),
            [(f"[{r['profile']}]", r["identity"], r["expires"] or "not signed in: run aws login --profile "
              + r["profile"], describe_left(r["seconds_left"]) if r["expires"] else "-") for r in login_rows],
        )  # fmt: skip
    return 0


def _key_summary(keys: list[dict]) -> None:
    in_keyring = [f"[{r['profile']}]" for r in keys if r["keys"] == "OS keyring"]
    plaintext = [r for r in keys if r["keys"] != "OS keyring"]
    if in_keyring:
        print("Long-term keys in the OS keyring: " + ", ".join(in_keyring))
    if plaintext:
        where = sorted({r["keys"][len("plaintext in ") :] for r in plaintext})
        print(
            f"Long-term keys in plaintext: {len(plaintext)} profile(s) in {' and '.join(where)} "
            "(status --keys names them; keys import moves them)"
        )
    if keys:
        print()


def _table(header: tuple[str, ...], body: list[tuple[str, ...]]) -> None:
    table = [header, *body]
    widths = [max(len(terminal_safe(row[i])) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(terminal_safe(cell).ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
