"""Prompt drivers: how an MFA code is asked for when neither --code nor mfa_process gives it.

One module per driver: terminal.py (the controlling terminal, or stdin in the classic flow),
zenity.py and kdialog.py (desktop dialogs on Linux), osascript.py (a dialog on macOS), ykman.py
(a YubiKey's OATH code). `auto`, the default, picks one for where the tool runs now (below):
the terminal when there is one, else a dialog when there is a display and its program is
installed.

A dialog closes itself before the caller's deadline (the AWS SDK stops a credential_process
at 60 s). Its text never goes through a shell: every program gets it as one argument.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

from ..errors import Interrupted, MfaError

CODE = re.compile(r"[0-9]{6}")
ATTEMPTS = 3
DRIVERS = ("auto", "terminal", "zenity", "kdialog", "osascript", "ykman")
DIALOGS = ("zenity", "kdialog", "osascript")
ENV = "TERRAFORM_SESSION_TOKEN_PROMPT"
TITLE = "terraform-session-token"
DIALOG_TIMEOUT = 300.0  # a dialog nobody answers closes after this when no deadline is given


class Cancelled(Interrupted):
    """The user cancelled the prompt: exits like an interrupt, and parallel callers are told the same."""


def check_code(code: str, where: str) -> str:
    code = code.strip()
    if not CODE.fullmatch(code):
        raise MfaError(f"the MFA code from {where} is not 6 digits", "give the code your MFA app shows now")
    return code


class Ask:
    """What one code is asked for, and how: the device, the text a prompt shows, the deadline,
    the prompt driver (prompts.DRIVERS) and, for ykman, which account and key."""

    def __init__(
        self,
        serial: str,
        text: str | None = None,
        timeout: float | None = None,
        driver: str = "auto",
        ykman_account: str | None = None,
        ykman_device: str | None = None,
        classic: bool = False,
        limit: float | None = None,
    ):
        self.serial, self.text, self.timeout, self.driver = serial, text, timeout, driver
        self.ykman_account, self.ykman_device, self.classic = ykman_account, ykman_device, classic
        self.limit = limit  # the whole wait the caller allows (timeout is what is left of it), for messages

    @property
    def prompt(self) -> str:
        """The terminal prompt: the classic flow keeps the seed's bare one."""
        return "Code: " if self.classic or not self.text else f"{self.text}: "


def describe(serial: str, profile: str | None, role: str | None, no_role: bool = False) -> str:
    """What a prompt asks for: the device, and the profile and role the code is for."""
    context = [f"profile {profile}"] if profile else []
    if no_role:
        context.append("no role")
    elif role:
        parts = role.split(":")
        if role.startswith("arn:") and len(parts) == 6:
            context.append(f"role {parts[5].split('/')[-1]} in {parts[4]}")
        else:
            context.append(f"role {role}")
    return f"MFA code for {serial}" + (f" ({', '.join(context)})" if context else "")


def check_name(name: str, where: str, error) -> str:
    name = name.strip().lower()
    if name not in DRIVERS:
        raise error(f"unknown MFA prompt {name!r} in {where}", "use one of: " + ", ".join(DRIVERS))
    return name


def has_display(env=os.environ, platform: str = sys.platform) -> bool:
    if platform == "darwin":
        return True  # a logged-in macOS user always has the window server
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


X_DISPLAY = re.compile(r"(?P<host>[^:]*):(?P<number>[0-9]+)(?:\.[0-9]+)?")


def _connects(family: int, address, timeout: float = 1.0) -> bool:
    import socket

    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.settimeout(timeout)
            probe.connect(address)
        return True
    except (OSError, ValueError):
        return False


def _x_server_listens(display: str) -> bool:
    """Whether an X server listens where DISPLAY says (its socket, as Xlib finds it)."""
    import socket

    m = X_DISPLAY.fullmatch(display)
    if m is None:
        return False
    host, number = m.group("host"), int(m.group("number"))
    if host.startswith("/"):  # a launchd socket path (XQuartz): the path before the display number
        return _connects(socket.AF_UNIX, host)
    if host in ("", "unix"):
        paths = [f"/tmp/.X11-unix/X{number}"]
        if sys.platform.startswith("linux"):
            paths.insert(0, f"\0/tmp/.X11-unix/X{number}")  # the abstract socket Xorg and Xvfb also bind
        return any(_connects(socket.AF_UNIX, path) for path in paths)
    return number < 59536 and _connects(socket.AF_INET, (host.strip("[]"), 6000 + number))


def _wayland_listens(name: str, env) -> bool:
    path = name if os.path.isabs(name) else os.path.join(env.get("XDG_RUNTIME_DIR") or "/nonexistent", name)
    import socket

    return _connects(socket.AF_UNIX, path)


def display_problem(env=os.environ, platform: str = sys.platform) -> str | None:
    """Why a dialog can't be shown (None: a display server answers where DISPLAY or WAYLAND_DISPLAY
    says). A connection to its socket is the probe: cheap, and what the dialog would do first. A
    stale DISPLAY (after ssh or tmux) names a display nobody serves."""
    if platform == "darwin":
        return None
    if not has_display(env, platform):
        return "there is no display (DISPLAY and WAYLAND_DISPLAY are unset)"
    if env.get("WAYLAND_DISPLAY") and _wayland_listens(env["WAYLAND_DISPLAY"], env):
        return None
    if env.get("DISPLAY") and _x_server_listens(env["DISPLAY"]):
        return None
    return f"no display server answers at {_display(env)}"


def dialog_program(env=os.environ, platform: str = sys.platform) -> tuple[str | None, str]:
    """The dialog program `auto` uses here and why, or None and why none."""
    if platform == "darwin":
        if shutil.which("osascript", path=env.get("PATH")):
            return "osascript", "this is macOS"
        return None, "osascript is not on PATH"
    if platform == "win32":
        return None, "no console to ask on (a Windows dialog is not built yet)"
    if not has_display(env, platform):
        return None, "no display to show a dialog on (DISPLAY and WAYLAND_DISPLAY are unset)"
    problem = display_problem(env, platform)
    if problem:
        return None, problem  # as if there were none, and said
    order = ["zenity", "kdialog"]
    if "KDE" in env.get("XDG_CURRENT_DESKTOP", "").upper():
        order.reverse()
    for program in order:
        if shutil.which(program, path=env.get("PATH")):
            return program, f"there is a display ({_display(env)}) and {program} is installed"
    return None, f"there is a display ({_display(env)}) but neither zenity nor kdialog is installed"


def _display(env) -> str:
    return f"DISPLAY={env['DISPLAY']}" if env.get("DISPLAY") else f"WAYLAND_DISPLAY={env.get('WAYLAND_DISPLAY')}"


def auto_choice(has_terminal: bool, env=os.environ, platform: str = sys.platform) -> tuple[str | None, str]:
    """The driver `auto` picks and why; None, and why, when nothing can ask."""
    if has_terminal:
        return "terminal", "there is a controlling terminal"
    program, why = dialog_program(env, platform)
    if program:
        return program, f"there is no terminal, but {why}"
    if why.startswith("no display to show"):
        return None, "there is no terminal to ask on and no display to show a dialog on"
    if why.startswith("no console"):
        return None, f"there is {why}"
    return None, f"there is no terminal to ask on and {why}"


def nothing_can_ask(why: str) -> MfaError:
    return MfaError(
        f"an MFA code is needed but {why}",
        "pass --code, set mfa_process to a command that prints the code, or choose a prompt with mfa_prompt",
    )


# -- dialogs: each dialog module says how to call its program and how to read its ending --------


# How GTK (zenity) and Qt (kdialog) say that they could not open the display.
DISPLAY_FAILURE = re.compile(r"cannot open display|could not connect to display|Failed to connect to Wayland", re.I)


def ask_dialog(program: str, text: str, timeout: float | None, limit: float | None = None) -> str:
    """One answer typed into a dialog; Cancelled when the user cancels, MfaError when it times out
    or can't be shown."""
    import importlib

    if program != "osascript":
        problem = display_problem()
        if problem:
            raise MfaError(
                f"mfa_prompt is {program} but {problem}",
                "fix or unset DISPLAY / WAYLAND_DISPLAY, use mfa_prompt = auto, or pass --code",
            )
    driver = importlib.import_module(f"{__name__}.{program}")
    seconds = max(int(timeout if timeout is not None else DIALOG_TIMEOUT), 1)
    from .. import system

    try:
        # kdialog has no timeout of its own: past this one, it and all it started are killed.
        done = system.run_bounded(
            driver.argv(text, seconds), False, subprocess.DEVNULL, subprocess.PIPE, subprocess.PIPE, seconds + 2
        )
    except FileNotFoundError:
        raise MfaError(f"mfa_prompt is {program} but {program} is not installed", f"install {program}, or use auto")
    except subprocess.TimeoutExpired:
        done = None
    if done is None or driver.timed_out(done):
        raise MfaError(
            f"no MFA code was typed into the {program} dialog within {limit if limit is not None else seconds:.0f} s",
            "run 'terraform-session-token exec -- ...' or the classic flow first, or set mfa_process",
        )
    if done.returncode == 0:
        return done.stdout.strip()
    unusable = next((line for line in done.stderr.splitlines() if DISPLAY_FAILURE.search(line)), None)
    if unusable:
        # Not a cancel: the dialog was never shown (a display nobody serves, or that refused us).
        raise MfaError(
            f"the {program} dialog can't be shown on {_display(os.environ)}: {unusable.strip()[:200]}",
            "fix or unset DISPLAY / WAYLAND_DISPLAY, which may be stale after ssh or tmux, or pass --code",
        )
    if driver.cancelled(done):
        raise Cancelled(f"the {program} dialog asking for the MFA code was cancelled; nothing was written")
    last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
    raise MfaError(f"the {program} dialog failed: {last[:200]}", "check the display, or pass --code")


def notify(text: str, env=os.environ) -> None:
    """A desktop notification, where one can be shown (ykman's touch request with no terminal)."""
    if not has_display(env) or not shutil.which("notify-send", path=env.get("PATH")):
        return
    try:
        subprocess.run(
            ["notify-send", "--app-name", TITLE, TITLE, text],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        pass  # a notification is a courtesy
