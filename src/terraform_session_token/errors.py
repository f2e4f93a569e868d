"""Every failure a user can meet, as one exception type each with its exit code.

cli.py is the one place that prints these and exits; everything else raises.
The catalogue below is also the source of docs/troubleshooting.md's table of exit codes.
"""

from __future__ import annotations


class ToolError(Exception):
    """A failure with a one-line message for the user and a hint saying what to do."""

    exit_code = 1
    summary = "unexpected failure"

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def line(self) -> str:
        """The single line printed on stderr: control characters (a value from a file, a terminal
        escape sequence) are shown escaped, never sent raw to the terminal."""
        text = self.message.rstrip(".")
        if self.hint:
            text += f" ({self.hint})"
        return terminal_safe(text)


def terminal_safe(text: str) -> str:
    """`text` with control characters (terminal escape sequences, line breaks, bidi overrides) escaped."""
    import re

    return re.sub(
        "[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]",
        lambda m: f"\\x{ord(m.group()):02x}",
        str(text),
    )


class UsageError(ToolError):
    exit_code = 2
    summary = "a flag or value given on the command line is invalid"


class ConfigError(ToolError):
    exit_code = 3
    summary = "a configuration or credentials file is missing, unreadable or unparseable"


class UnsafeWriteError(ToolError):
    exit_code = 4
    summary = "the tool refused to write a file because the change would not be safe"


class CredentialsError(ToolError):
    exit_code = 5
    summary = "no usable source credentials (missing profile, expired, or invalid keys)"


class MfaSessionRejected(CredentialsError):
    """AWS refused a role request signed with the cached MFA session (expired early, or revoked)."""


class MfaError(ToolError):
    exit_code = 6
    summary = "no MFA code could be had, or AWS rejected it"


class RoleError(ToolError):
    exit_code = 7
    summary = "the role can't be found or assumed, or the duration is not allowed"


class NetworkError(ToolError):
    exit_code = 8
    summary = "the AWS endpoint could not be reached (DNS, proxy, TLS, time-out)"


class AwsError(ToolError):
    exit_code = 9
    summary = "AWS refused the request for another reason (throttling, clock skew, ...)"


class KeyringError(ToolError):
    exit_code = 10
    summary = "the OS keyring is not available, locked, or does not hold the keys"


class ExtraMissing(ToolError):
    exit_code = 11
    summary = "an optional extra this command needs is not installed (keyring, shtab)"


class Interrupted(ToolError):
    exit_code = 130
    summary = "interrupted with Ctrl-C; nothing was written"


ALL_ERRORS = [
    UsageError,
    ConfigError,
    UnsafeWriteError,
    CredentialsError,
    MfaError,
    RoleError,
    NetworkError,
    AwsError,
    KeyringError,
    ExtraMissing,
    Interrupted,
]
