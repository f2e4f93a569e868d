"""Where an MFA code comes from: --code, stdin, a command (mfa_process), or a prompt driver
(prompts/, which never import this module)."""

from __future__ import annotations

import os
import sys

from .errors import MfaError
from .prompts import ATTEMPTS, CODE, Ask, check_code
from .prompts.terminal import Prompter

PROCESS_TIMEOUT = 120


def _terminal_streams():
    """The controlling terminal as (stdin, stderr) for a code command; with none, no input and its
    messages kept for the error line (under an SDK our stderr is not the user's to fill)."""
    import subprocess

    from . import system

    return system.open_terminal_fds() or (subprocess.DEVNULL, subprocess.PIPE)


def code_from_process(
    command, timeout: float | None = None, name: str = "mfa_process", wait_limit: float | None = None
) -> str:
    """Run a code command (mfa_process through the shell, or an argv list) and take the 6-digit
    code it prints. Its stdin and stderr are the controlling terminal when there is one, so that
    its own prompts (a YubiKey's "Touch your key", an OATH password) reach the user. `wait_limit`:
    the wait the user set (--timeout), named when it runs out, rather than what was left of it."""
    import subprocess

    from . import system

    limit = PROCESS_TIMEOUT if timeout is None else max(min(timeout, PROCESS_TIMEOUT), 1)
    shown = command if isinstance(command, str) else " ".join(command)
    stdin, stderr = _terminal_streams()
    try:
        # Past the deadline every process it started is killed, not the shell alone.
        done = system.run_bounded(command, isinstance(command, str), stdin, subprocess.PIPE, stderr, limit)
    except FileNotFoundError:
        raise MfaError(f"{name} can't run: {shown.split()[0]} is not installed or not on PATH", f"check: {shown}")
    except subprocess.TimeoutExpired:
        said = wait_limit if wait_limit is not None and timeout is not None and timeout <= wait_limit else limit
        raise MfaError(f"{name} did not finish within {said:.0f} s", f"check: {shown}")
    finally:
        for fd in {stdin, stderr}:
            if isinstance(fd, int) and fd >= 0:
                os.close(fd)
    if done.returncode != 0:
        said = (done.stderr or "").strip().splitlines()
        why = f": {said[-1][:200]}" if said else ""
        raise MfaError(f"{name} failed with exit code {done.returncode}{why}", f"run it by hand: {shown}")
    codes = [line.strip() for line in done.stdout.splitlines() if CODE.fullmatch(line.strip())]
    if not codes:
        raise MfaError(f"{name} printed no 6-digit code", f"run it by hand: {shown}")
    return codes[-1]


def get_code(ask: Ask, code_flag: str | None, mfa_process: str | None, prompter: Prompter) -> str:
    """The MFA code, from the first source that is set: --code, mfa_process, then the prompt driver."""
    if code_flag == "-":
        line = sys.stdin.readline()
        if not line:
            raise MfaError("--code - was given but standard input is empty", "pipe the code in, e.g. echo 123456 |")
        return check_code(line, "standard input")
    if code_flag:
        return check_code(code_flag, "--code")
    if mfa_process:
        return code_from_process(mfa_process, ask.timeout, wait_limit=ask.limit)
    from . import prompts

    driver = ask.driver
    if driver == "auto":
        driver, why = prompts.auto_choice(prompter.available)
        if driver is None:
            raise prompts.nothing_can_ask(why)
    if driver == "ykman":
        from .prompts import ykman

        if not prompter.available:
            prompts.notify(f"{ask.text or 'MFA code'}: {ykman.TOUCH}")
        argv = ykman.argv(ask.serial, ask.ykman_account, ask.ykman_device)
        return code_from_process(argv, ask.timeout, "ykman", wait_limit=ask.limit)
    if driver in prompts.DIALOGS:
        return _from_dialog(driver, ask)
    if not prompter.available:
        raise prompts.nothing_can_ask("there is no terminal to ask on (mfa_prompt is terminal)")
    from .prompts import terminal

    return terminal.ask(ask, prompter)


def _from_dialog(program: str, ask: Ask) -> str:
    import time

    from . import prompts

    text = ask.text or f"MFA code for {ask.serial}"
    deadline = None if ask.timeout is None else time.monotonic() + ask.timeout
    for attempt in range(ATTEMPTS):
        left = None if deadline is None else max(deadline - time.monotonic(), 1.0)
        shown = text if attempt == 0 else f"{text}\n\nA code is 6 digits; try again."
        answer = prompts.ask_dialog(program, shown, left, ask.limit)
        if CODE.fullmatch(answer.strip()):
            return answer.strip()
    raise MfaError("no valid MFA code was given", "type the 6 digits your MFA app shows for " + ask.serial)


def choose_device(serials: list[str], prompter: Prompter) -> str:
    """With several MFA devices, ask which; never silently take the first."""
    if not prompter.interactive:
        raise MfaError(
            f"you have {len(serials)} MFA devices and no terminal to ask which: " + ", ".join(serials),
            "pass --serial ARN or set mfa_serial in the profile",
        )
    for number, serial in enumerate(serials, start=1):
        prompter.say(f"  {number}) {serial}")
    for _ in range(ATTEMPTS):
        answer = prompter.ask(f"MFA device [1-{len(serials)}]: ")
        if answer is None:
            break
        if answer.strip().isdigit() and 1 <= int(answer) <= len(serials):
            return serials[int(answer) - 1]
    raise MfaError("no MFA device was chosen", "pass --serial ARN or set mfa_serial in the profile")
