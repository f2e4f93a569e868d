"""The hot path: `credential-process` answered from the cache without argparse, re, json or datetime.

Terraform's SDKs run `credential-process -p NAME` several times per plan, and the full command
(parser, settings merge, checks) costs more than the interpreter's own start. This path answers
only when the outcome is already known: the arguments have the shape `configure` writes, and the
AWS files and the AWS_* / TERRAFORM_SESSION_TOKEN_* environment are byte for byte what they were
when the full path last served this cached session to this profile (it records their checksum,
`FastCheck`, in the cache file). The cache directory and file pass the same ownership and mode
checks (written out here: importing storage would cost more than all the rest). Anything else
(a flag, a changed file, less time left than the margin, an unreadable or unusual cache, a
special file) goes the full way, which decides, explains and records anew.
"""

from __future__ import annotations

import os
import sys

CHECK_KEY = "FastCheck"
MARGIN_KEY = "FastMargin"
SERVE_AHEAD = 1  # as sessions.SERVE_AHEAD
SAFE_NAME = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@+=,.-")
_IGNORED_ENV = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")  # never redirect the tool


def profile_of(argv: list[str]) -> str | None:
    """The profile of `credential-process [-p NAME]` (the shape configure writes; -p also before
    the command), "" for the default profile; None for any other command line."""
    rest = list(argv)
    if "credential-process" not in rest:
        return None
    rest.remove("credential-process")
    if not rest:
        return ""
    if len(rest) == 2 and rest[0] in ("-p", "--profile") and rest[1] and not rest[1].startswith("-"):
        return rest[1]
    if len(rest) == 1 and rest[0].startswith("--profile=") and len(rest[0]) > len("--profile="):
        return rest[0][len("--profile=") :]
    return None


def file_name(name: str) -> str:
    """sessions.file_name without re: a profile name as a file name inside the cache directory."""
    encoded = "".join(c if c in SAFE_NAME else f"%{ord(c):02X}" for c in name)
    return "%2E" + encoded[1:] if encoded.startswith(".") else encoded


def _expand(path: str) -> str | None:
    if "$" in path:
        return None  # expandvars imports re: the full path handles it
    return os.path.expanduser(path)


def files_key(env) -> str:
    """sessions.files_key for paths without $VARS (aws_file_paths sends those the full way)."""
    if not (env.get("AWS_SHARED_CREDENTIALS_FILE") or env.get("AWS_CONFIG_FILE")):
        return ""
    import zlib

    credentials, config = aws_file_paths(env)
    pair = f"{credentials}\0{config}".encode("utf-8", "surrogateescape")
    return f"%files-{zlib.crc32(pair):08x}"


def aws_file_paths(env) -> tuple[str | None, str | None]:
    return (
        _expand(env.get("AWS_SHARED_CREDENTIALS_FILE") or os.path.join("~", ".aws", "credentials")),
        _expand(env.get("AWS_CONFIG_FILE") or os.path.join("~", ".aws", "config")),
    )


def checksum(credentials_text: str | None, config_text: str | None, env, paths) -> str:
    """What a cached session's serving depends on besides itself: the two files (and where they
    are) and the environment that can change a setting. Not a secret: a change detector."""
    import zlib

    crc = 0
    size = 0
    parts = [str(paths), credentials_text, config_text]
    parts += [
        f"{k}={env[k]}"
        for k in sorted(env)
        if k.startswith(("AWS_", "TERRAFORM_SESSION_TOKEN_")) and k not in _IGNORED_ENV
    ]
    for part in parts:
        data = b"\x00missing" if part is None else part.encode("utf-8", "surrogateescape")
        crc = zlib.crc32(data + b"\x00", crc)
        size += len(data)
    return f"{crc:08x}-{size}"


# -- a strict reader for the flat JSON object the cache holds -----------------------------------------
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def read_flat_json(text: str) -> dict | None:
    """{"key": string | true | false | null | integer, ...}; None for anything else."""
    i, n = 0, len(text)

    def skip(i: int) -> int:
        while i < n and text[i] in " \t\r\n":
            i += 1
        return i

    def string(i: int) -> tuple[str, int]:
        if text[i] != '"':
            raise ValueError
        out, i = [], i + 1
        while True:
            c = text[i]
            if c == '"':
                return "".join(out), i + 1
            if c == "\\":
                e = text[i + 1]
                if e == "u":
                    point = int(text[i + 2 : i + 6], 16)
                    if 0xD800 <= point <= 0xDFFF:
                        raise ValueError  # a surrogate pair: never in what the cache holds
                    out.append(chr(point))
                    i += 6
                else:
                    out.append(_ESCAPES[e])
                    i += 2
            elif c < " ":
                raise ValueError
            else:
                out.append(c)
                i += 1

    try:
        i = skip(0)
        if text[i] != "{":
            return None
        result: dict = {}
        i = skip(i + 1)
        if text[i] == "}":
            return result if skip(i + 1) == n else None
        while True:
            key, i = string(skip(i))
            i = skip(i)
            if text[i] != ":":
                return None
            i = skip(i + 1)
            if text[i] == '"':
                value, i = string(i)
            else:
                for word, literal in (("true", True), ("false", False), ("null", None)):
                    if text.startswith(word, i):
                        value, i = literal, i + len(word)
                        break
                else:
                    j = i + (text[i] == "-")
                    while j < n and text[j].isdigit():
                        j += 1
                    if j == i or not text[i:j].lstrip("-").isdigit():
                        return None
                    value, i = int(text[i:j]), j
            result[key] = value
            i = skip(i)
            if text[i] == ",":
                i += 1
                continue
            if text[i] == "}":
                return result if skip(i + 1) == n else None
            return None
    except (IndexError, KeyError, ValueError):
        return None


# -- UTC times as the cache writes them: YYYY-MM-DDTHH:MM:SS[.fff]Z ------------------------------------
def _days_from_civil(y: int, m: int, d: int) -> int:
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(z: int) -> tuple[int, int, int]:
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (m <= 2), m, d


def parse_utc(value) -> float | None:
    """Seconds since the epoch, for exactly the shapes the cache writes; None otherwise."""
    if not isinstance(value, str) or not value.endswith("Z") or len(value) not in (20, 24):
        return None
    digits = value[0:4] + value[5:7] + value[8:10] + value[11:13] + value[14:16] + value[17:19]
    shape = (value[4], value[7], value[10], value[13], value[16])
    if shape != ("-", "-", "T", ":", ":") or not digits.isdigit() or not digits.isascii():
        return None
    y, mo, d, h, mi, s = (int(value[a:b]) for a, b in ((0, 4), (5, 7), (8, 10), (11, 13), (14, 16), (17, 19)))
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h < 24 and mi < 60 and s < 60):
        return None
    fraction = 0.0
    if len(value) == 24:
        if value[19] != "." or not value[20:23].isdigit() or not value[20:23].isascii():
            return None
        fraction = int(value[20:23]) / 1000
    return _days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s + fraction


def format_utc(seconds: float) -> str:
    """sessions.format_time to the whole second (truncated, as strftime does)."""
    whole = int(seconds // 1)
    days, rest = divmod(whole, 86400)
    y, m, d = _civil_from_days(days)
    return f"{y:04d}-{m:02d}-{d:02d}T{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}Z"


def _plain(value) -> bool:
    """A value json.dumps writes as it is: printable ASCII without quote or backslash."""
    return isinstance(value, str) and value.isascii() and value.isprintable() and '"' not in value and "\\" not in value


class _Decline(Exception):
    """Not for the hot path: the full path decides (and explains)."""


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _private_dir(path: str) -> bool:
    """storage.check_private_dir's conditions (False: no directory); anything else declines.
    Written out here: importing storage (contextlib, functools, collections) costs more than the rest."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    mode = st.st_mode
    if (mode & 0o170000) != 0o040000 or st.st_uid != os.geteuid() or mode & 0o077:
        raise _Decline
    parent = os.lstat(os.path.dirname(os.path.abspath(path))).st_mode
    if parent & 0o022 and not parent & 0o1000:
        raise _Decline
    return True


def _read_private(path: str) -> str | None:
    """storage.read_private's checks: no link followed, a regular file, the user's, 0600."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        st = os.fstat(fd)
        if (st.st_mode & 0o170000) != 0o100000 or st.st_uid != os.geteuid() or st.st_mode & 0o077:
            raise _Decline
        return _read_all(fd).decode("utf-8", errors="replace")
    finally:
        os.close(fd)


def _read_text(path: str) -> str | None:
    """storage.read_text for a regular file or a missing one; anything else declines."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        if (os.fstat(fd).st_mode & 0o170000) != 0o100000:
            raise _Decline
        return _read_all(fd).decode("utf-8")
    finally:
        os.close(fd)


def answer(argv: list[str], env, now: float | None = None) -> str | None:
    """The credential_process JSON line when the cache can answer alone; None for the full path."""
    profile = profile_of(argv)
    if profile is None:
        return None

    profile = profile or "terraform_session"
    credentials, config = aws_file_paths(env)
    if credentials is None or config is None:
        return None
    if env.get("TERRAFORM_SESSION_TOKEN_CACHE"):
        directory = os.path.expanduser(env["TERRAFORM_SESSION_TOKEN_CACHE"])
    else:
        base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        directory = os.path.join(base, "terraform-session-token")
    try:
        if not _private_dir(directory):
            return None
        text = _read_private(os.path.join(directory, file_name(profile) + files_key(env) + ".json"))
        if text is None:
            return None
        cached = read_flat_json(text)
        if not cached or cached.get("Version") != 1:
            return None
        margin = cached.get(MARGIN_KEY)
        expires = parse_utc(cached.get("Expiration"))
        fields = [cached.get(k) for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")]
        if type(margin) is not int or margin < 0 or expires is None or not all(_plain(v) for v in fields):
            return None
        now = __import__("time").time() if now is None else now
        if not expires - now > margin + SERVE_AHEAD:
            return None
        current = checksum(_read_text(credentials), _read_text(config), env, (credentials, config))
        if cached.get(CHECK_KEY) != current:
            return None
    except Exception:  # whatever it is, the full path says it properly
        return None
    return (
        f'{{"Version": 1, "AccessKeyId": "{fields[0]}", "SecretAccessKey": "{fields[1]}", '
        f'"SessionToken": "{fields[2]}", "Expiration": "{format_utc(expires - margin)}"}}'
    )


def main() -> None:
    """The command's entry point (pyproject.toml): the hot path when it can answer, else the full
    command. The launcher an installer makes of it imports this module first: nothing here, nor in
    the package's __init__, may import more than os and sys before the answer."""
    try:
        os.fstat(1)
        line = answer(sys.argv[1:], os.environ)
    except Exception:
        line = None
    if line is not None:
        data = (line + "\n").encode("ascii")
        try:
            while data:
                data = data[os.write(1, data) :]
            os._exit(0)
        except OSError:
            pass  # the full path reports a closed or broken stdout as it always does
    from .cli import entry

    entry()
