"""osascript: a macOS dialog, the text given as an argument (nothing in it can end an AppleScript string)."""

from __future__ import annotations

from . import TITLE

SCRIPT = (
    "on run argv",
    'display dialog (item 1 of argv) default answer "" with title (item 2 of argv) '
    "giving up after (item 3 of argv as integer)",
    "if gave up of result then error number 124",
    "return text returned of result",
    "end run",
)


def argv(text: str, seconds: int) -> list[str]:
    command = ["osascript"]
    for line in SCRIPT:
        command += ["-e", line]
    return command + [text, TITLE, str(seconds)]


def timed_out(done) -> bool:
    return "(124)" in done.stderr


def cancelled(done) -> bool:
    return "(-128)" in done.stderr  # "User canceled."
