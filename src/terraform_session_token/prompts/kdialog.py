"""kdialog: KDE's dialog program, an input box (it has no timeout: the caller kills it)."""

from __future__ import annotations

from . import TITLE


def argv(text: str, seconds: int) -> list[str]:
    return ["kdialog", "--title", TITLE, "--inputbox", text, ""]


def timed_out(done) -> bool:
    return False


def cancelled(done) -> bool:
    return done.returncode == 1
