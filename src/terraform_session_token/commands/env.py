"""env: print the session as environment variables for `eval "$(...)"`."""

from __future__ import annotations

import json

from ..sessions import Session, format_time
from . import common

# Variables that would make AWS tools use something other than the session.
CONFLICTING = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_SESSION_NAME",
)


# Shells that quote as another does: bash and zsh take sh's quoting.
ALIASES = {"bash": "sh", "zsh": "sh", "pwsh": "powershell"}
FORMATS = ("sh", "bash", "zsh", "fish", "powershell", "pwsh", "cmd", "json")


def add_arguments(parser) -> None:
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="the shell to quote for: sh (also bash, zsh, dash: the default), fish, powershell (pwsh; "
        "the default on Windows) or cmd; json for programs",
    )


def session_environment(session: Session, region: str) -> dict[str, str | None]:
    """Variables to set (value) and to remove (None)."""
    env: dict[str, str | None] = {
        "AWS_ACCESS_KEY_ID": session.access_key_id,
        "AWS_SECRET_ACCESS_KEY": session.secret_access_key,
        "AWS_SESSION_TOKEN": session.session_token,
        "AWS_CREDENTIAL_EXPIRATION": format_time(session.expiration),
    }
    if region:
        env["AWS_REGION"] = env["AWS_DEFAULT_REGION"] = region
    env.update(dict.fromkeys(CONFLICTING))
    return env


# PowerShell takes these as single quotes too: each must be doubled inside a '...' string.
POWERSHELL_QUOTES = "'\u2018\u2019\u201a\u201b"


def quote_sh(value: str) -> str:
    """POSIX sh: inside '...' nothing is special; a ' ends the string, so it is written '\\''."""
    return "'" + value.replace("'", "'\\''") + "'"


def quote_fish(value: str) -> str:
    """fish: inside '...' a backslash escapes ' and \\ (sh quoting would let a trailing \\ run code)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def quote_powershell(value: str) -> str:
    """PowerShell: inside '...' only the single quotes (four of them) are special, each doubled."""
    return "'" + "".join(c + c if c in POWERSHELL_QUOTES else c for c in value) + "'"


# cmd.exe expands %VAR% (and !VAR! with delayed expansion) even inside "...", and a " ends the
# quoted part: a value holding one of these can't be written safely for it.
CMD_UNSAFE = set('"%!\r\n\x00')


def quote_cmd(name: str, value: str) -> str:
    """cmd.exe: set "NAME=value" keeps & | < > ^ literal; values it can't keep literal are refused."""
    if CMD_UNSAFE & set(value):
        from ..errors import UsageError

        raise UsageError(
            f"the value of {name} has a character cmd.exe would expand or end the quotes with",
            "use --format powershell",
        )
    return f'set "{name}={value}"'


def render(env: dict[str, str | None], shell: str) -> str:
    if shell == "json":
        return json.dumps({k: v for k, v in env.items() if v is not None}, indent=2)
    lines = []
    for name, value in env.items():
        if shell == "sh":
            lines.append(f"unset {name}" if value is None else f"export {name}={quote_sh(value)}")
        elif shell == "fish":
            lines.append(f"set -e {name}" if value is None else f"set -gx {name} {quote_fish(value)}")
        elif shell == "cmd":
            lines.append(f'set "{name}="' if value is None else quote_cmd(name, value))
        else:
            if value is None:
                lines.append(f"Remove-Item Env:{name} -ErrorAction SilentlyContinue")
            else:
                lines.append(f"$Env:{name} = {quote_powershell(value)}")
    return "\n".join(lines)


def run(args) -> int:
    import os

    shell = ALIASES.get(args.format, args.format) or ("powershell" if os.name == "nt" else "sh")
    session, settings = common.cached_session(args)
    print(render(session_environment(session, settings.region), shell))
    return 0
