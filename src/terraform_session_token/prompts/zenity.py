"""zenity: GNOME's dialog program, an entry box with the prompt's text."""

from __future__ import annotations

from . import TITLE


def argv(text: str, seconds: int) -> list[str]:
    return ["zenity", "--entry", f"--title={TITLE}", f"--text={_markup_escaped(text)}", f"--timeout={seconds}",
            "--width=480"]  # fmt: skip


def _markup_escaped(text: str) -> str:
    """zenity reads --text as Pango markup: a device named a<b&c must show as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def timed_out(done) -> bool:
    return done.returncode == 5


def cancelled(done) -> bool:
    return done.returncode == 1
