"""The AWS console sign-in, pure: partition hosts, the Destination, the federation URLs.

AWS's federation endpoint trades a role session for a one-time sign-in token (valid 15
minutes); the login URL carrying it signs a browser in to the console as the role.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote, urlsplit

# partition: (sign-in host, console host, the region its console opens in by default)
PARTITIONS = {
    "aws": ("signin.aws.amazon.com", "console.aws.amazon.com", "us-east-1"),
    "aws-cn": ("signin.amazonaws.cn", "console.amazonaws.cn", "cn-north-1"),
    "aws-us-gov": ("signin.amazonaws-us-gov.com", "console.amazonaws-us-gov.com", "us-gov-west-1"),
}
REGION_PREFIXES = {"aws-cn": "cn-", "aws-us-gov": "us-gov-"}
CONSOLE_DURATION = (900, 43200)  # what AWS accepts as SessionDuration
DEFAULT_CONSOLE_DURATION = 43200  # one sign-in a day, where AWS allows it
CHAINED_LIMIT = 3600  # a role session chained from an MFA session lasts at most 1 h, and so does its console
ISSUER = "terraform-session-token"
SERVICE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


def partition_of(arn: str) -> str:
    """The partition of an ARN (arn:PARTITION:...), "aws" when it can't be told."""
    parts = (arn or "").split(":")
    return parts[1] if len(parts) > 2 and parts[0] == "arn" and parts[1] else "aws"


def console_region(partition: str, region: str | None) -> str:
    """The profile's region when it belongs to the partition, else the partition's usual one."""
    prefix = REGION_PREFIXES.get(partition)
    default = PARTITIONS[partition][2]
    if not region:
        return default
    if prefix:
        return region if region.startswith(prefix) else default
    return default if region.startswith(tuple(REGION_PREFIXES.values())) else region


def signin_base(partition: str, region: str, override: str | None = None) -> str:
    """The federation endpoint's base URL: an override (a local AWS, a proxy) or AWS's host.

    The commercial partition has regional sign-in hosts (REGION.signin.aws.amazon.com).
    """
    if override:
        return override.rstrip("/")
    host = PARTITIONS[partition][0]
    if partition == "aws" and region != "us-east-1":
        host = f"{region}.{host}"
    return f"https://{host}"


def console_base(partition: str, region: str) -> str:
    host = PARTITIONS[partition][1]
    if partition == "aws" and region != "us-east-1":
        host = f"{region}.{host}"
    return f"https://{host}"


HOST = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*")


def url_problem(url: str, partition: str | None = None) -> str | None:
    """Why `url` is not a console URL (of `partition`, else of any partition), or None.

    Browsers parse URLs as WHATWG says, not as urlsplit does: a backslash ends the host
    (`https://evil.example\\@console.aws.amazon.com/` is evil.example to Chromium, the console
    to urlsplit), tabs and line breaks are dropped, the host is percent-decoded. So nothing is
    taken that the two could read apart: no backslash, white space or control character, no
    user or password, no port, and a host of plain labels on the console domain."""
    domains = [PARTITIONS[partition][1]] if partition else [p[1] for p in PARTITIONS.values()]
    if "\\" in url:
        return "it has a backslash, which browsers read as a slash"
    if not url.isprintable() or any(c.isspace() for c in url):
        return "it has white space or a control character"
    parts = urlsplit(url)
    if parts.scheme != "https" or not url.startswith("https://"):
        return "it is not an https URL"
    if "@" in parts.netloc:
        return "it names a user before the host"
    host = parts.netloc.lower()
    if not HOST.fullmatch(host):
        return "its host is not a plain host name (no port, no escapes)"
    if not any(host == d or host.endswith("." + d) for d in domains):
        return f"its host is not on the console's domain ({', '.join(domains)})"
    return None


def is_console_url(url: str, partition: str) -> bool:
    """An https URL on the partition's console domain (AWS redirects only there), read the same by
    browsers and by Python."""
    return url_problem(url, partition) is None


def _with_region(url: str, region: str) -> str:
    """`url` with ?region=REGION added before any #fragment, unless it names a region already."""
    head, hash_, fragment = url.partition("#")
    if "region=" not in head.partition("?")[2]:
        head += ("&" if "?" in head else "?") + f"region={region}"
    return head + hash_ + fragment


def destination(wanted: str | None, partition: str, region: str) -> str:
    """The console page to land on: the home page, a service (`s3`), a path (`ec2/home#Instances`)
    or a full console URL of the partition. ValueError says why a value is not one of those."""
    base = console_base(partition, region)
    if not wanted:
        return f"{base}/console/home?region={region}"
    if "://" in wanted:
        problem = url_problem(wanted, partition)
        if problem:
            domain = PARTITIONS[partition][1]
            raise ValueError(f"{wanted!r} is not an https URL of the {partition} console ({domain}): {problem}")
        return wanted
    if SERVICE.fullmatch(wanted):
        return f"{base}/{wanted}/home?region={region}"
    if any(c.isspace() for c in wanted) or not wanted.isprintable():
        raise ValueError(f"{wanted!r} is not a console service or path")
    return _with_region(f"{base}/{wanted.lstrip('/')}", region)


def signin_token_url(base: str, access_key_id: str, secret: str, token: str, duration: int | None) -> str:
    """getSigninToken's URL: it carries the session's secret, so it is never shown or kept."""
    session = json.dumps({"sessionId": access_key_id, "sessionKey": secret, "sessionToken": token})
    url = f"{base}/federation?Action=getSigninToken"
    if duration is not None:
        url += f"&SessionDuration={duration}"
    return url + "&Session=" + quote(session, safe="")


def login_url(base: str, signin_token: str, destination_url: str, logout_first: bool = False) -> str:
    """The URL that signs a browser in (a credential until used, or for 15 minutes)."""
    url = (
        f"{base}/federation?Action=login&Issuer={quote(ISSUER, safe='')}"
        f"&Destination={quote(destination_url, safe='')}&SigninToken={quote(signin_token, safe='')}"
    )
    if logout_first:
        # AWS's sign-out, then on to the sign-in: a console of another account open in the
        # same browser would otherwise stay in place.
        url = f"{base}/oauth?Action=logout&redirect_uri={quote(url, safe='')}"
    return url


def check_duration(seconds: int, where: str) -> int:
    low, high = CONSOLE_DURATION
    if not low <= seconds <= high:
        raise ValueError(f"a console session of {seconds} s is out of range ({where}): use {low} to {high} seconds")
    return seconds
