"""The AWS CLI's `aws login` cache, read without trusting it: where a session's file is, whether it
holds what botocore needs to use and refresh it, and the one lock all runs refresh it under.

The file is the AWS CLI's: botocore reads it, refreshes it and replaces it (a new file renamed
over the old one). The tool only checks it first, so that an empty or cut file (what a killed
refresh leaves), a FIFO or a value of the wrong type is one line naming the file and what to
run, never an error deep inside botocore.
"""

from __future__ import annotations

import os
import stat

from . import system
from .errors import CredentialsError

SIZE_LIMIT = 1 << 20  # a login cache is about 2 KB: more is not one the AWS CLI wrote
ACCESS_FIELDS = ("accessKeyId", "secretAccessKey", "sessionToken", "accountId", "expiresAt")
TOP_FIELDS = ("refreshToken", "clientId", "dpopKey")  # what botocore's refresh reads


class Unusable(Exception):
    """Why the cache file can't be used (`missing`: there is none)."""

    def __init__(self, path: str, reason: str, missing: bool = False):
        super().__init__(reason)
        self.path, self.reason, self.missing = path, reason, missing


def cache_file(session: str, env=os.environ) -> str:
    """Where the AWS CLI keeps an `aws login` session: AWS_LOGIN_CACHE_DIRECTORY, else
    ~/.aws/login/cache, in a file named by the session's SHA-256 (as botocore finds it)."""
    import hashlib

    directory = env.get("AWS_LOGIN_CACHE_DIRECTORY")
    directory = (
        os.path.expanduser(os.path.expandvars(directory))
        if directory
        else os.path.expanduser(os.path.join("~", ".aws", "login", "cache"))
    )
    return os.path.join(directory, hashlib.sha256(session.encode("utf-8")).hexdigest() + ".json")


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file"


def read(session: str, env=os.environ) -> dict:
    """The login cache's document, checked: Unusable says why it can't serve botocore."""
    import json

    from .sessions import parse_time

    path = cache_file(session, env)
    try:
        fd = os.open(path, os.O_RDONLY | system.OPEN_FLAGS)  # non-blocking: a FIFO must not hang the open
    except FileNotFoundError:
        raise Unusable(path, "does not exist", missing=True) from None
    except IsADirectoryError:
        raise Unusable(path, "is a directory, not a file") from None
    except PermissionError:
        raise Unusable(path, "is not readable (permission denied)") from None
    except OSError as e:
        raise Unusable(path, f"can't be read ({e.strerror})") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise Unusable(path, f"is {_kind(mode)}, not a file")
        data = os.read(fd, SIZE_LIMIT + 1)
        while data and len(data) <= SIZE_LIMIT:
            more = os.read(fd, SIZE_LIMIT + 1 - len(data))
            if not more:
                break
            data += more
    except OSError as e:
        raise Unusable(path, f"can't be read ({e.strerror})") from None
    finally:
        os.close(fd)
    if not data.strip():
        raise Unusable(path, "is empty, as a refresh killed halfway leaves it")
    if len(data) > SIZE_LIMIT:
        raise Unusable(path, "is far larger than a login cache")
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Unusable(path, "is cut short or is not JSON, as a refresh killed halfway leaves it") from None
    if not isinstance(document, dict):
        raise Unusable(path, "is not the JSON object the AWS CLI writes")
    access = document.get("accessToken")
    if not isinstance(access, dict):
        raise Unusable(path, "has no accessToken object")
    for name in ACCESS_FIELDS:
        if not isinstance(access.get(name), str) or not access[name]:
            raise Unusable(path, f"has no accessToken.{name} text")
    if parse_time(access["expiresAt"]) is None:
        raise Unusable(path, f"has an accessToken.expiresAt that is not a time ({access['expiresAt'][:40]!r})")
    for name in TOP_FIELDS:
        if not isinstance(document.get(name), str) or not document[name]:
            raise Unusable(path, f"has no {name} text")
    return document


def check(session: str, source_profile: str, env=os.environ) -> str:
    """Before botocore reads it: the cache file's path, or one line naming it and `aws login`."""
    try:
        read(session, env)
    except Unusable as e:
        again = f"run: aws login --profile {source_profile}"
        if e.missing:
            raise CredentialsError(f"no aws login session for source profile [{source_profile}]: {e.path} {e.reason}",
                                   again) from None  # fmt: skip
        if "not a file" in e.reason:
            again = f"remove it, then {again}"
        raise CredentialsError(
            f"the aws login cache of source profile [{source_profile}] can't be used: {e.path} {e.reason}", again
        ) from None
    return cache_file(session, env)


def token_expiry(session: str, env=os.environ) -> tuple[str | None, str]:
    """The access token's expiry (ISO 8601), for status and doctor: (expiry, the file), or (None, why)."""
    try:
        document = read(session, env)
    except Unusable as e:
        if e.missing:
            return None, f"no login cache at {e.path}"
        return None, f"the login cache {e.path} {e.reason}"
    return document["accessToken"]["expiresAt"], cache_file(session, env)


def lock_directory(path: str) -> str:
    """The directory whose lock guards the refresh of the login cache at `path`: its real path, so
    that runs reaching the file through other names (another AWS_CONFIG_FILE, a link, another
    cache directory of the tool's) take the same lock."""
    return os.path.dirname(os.path.realpath(path))
