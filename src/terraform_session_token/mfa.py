"""Where an MFA code comes from: --code, stdin, a command (mfa_process), or a prompt."""

from __future__ import annotations

import re
import sys

from .errors import MfaError

CODE = re.compile(r"[0-9]{6}")
ATTEMPTS = 3
PROCESS_TIMEOUT = 120


class Prompter:
    """Asks the user questions on stdin/stdout, or on the controlling terminal.

    credential-process uses the terminal: the AWS SDK that runs it owns stdin and stdout.
    """

    def __init__(self, use_tty: bool = False):
        self.use_tty = use_tty
        self._tty = self._tty_out = None
        self._opened = False

    def _open(self) -> None:
        """Open the terminal on first use: a cached session never needs it."""
        if self._opened or not self.use_tty:
            return
        self._opened = True
        try:
            # Two streams: a terminal can't be opened "r+" in text mode (it is not seekable).
            self._tty = open("/dev/tty", encoding="utf-8")  # noqa: SIM115
            self._tty_out = open("/dev/tty", "w", encoding="utf-8")  # noqa: SIM115
        except OSError:
            self.close()

    @property
    def available(self) -> bool:
        self._open()
        return self._tty is not None if self.use_tty else True

    @property
    def interactive(self) -> bool:
        self._open()
        return self._tty is not None if self.use_tty else sys.stdin.isatty()

    def say(self, text: str) -> None:
        self._open()
        out = self._tty_out if self.use_tty else sys.stdout
        if out is not None:
            out.write(text + "\n")
            out.flush()

    def ask(self, prompt: str, timeout: float | None = None) -> str | None:
        """One answer, or None at end of input; MfaError when `timeout` seconds pass first."""
        if self.use_tty:
            self._open()
            if self._tty is None:
                return None
            self._tty_out.write(prompt)
            self._tty_out.flush()
            if timeout is not None:
                import select

                ready, _, _ = select.select([self._tty], [], [], timeout)
                if not ready:
                    self._tty_out.write("\n")
                    self._tty_out.flush()
                    raise MfaError(
                        f"no MFA code was typed within {timeout:.0f} s "
                        "(the AWS SDK stops a credential_process after 60 s)",
                        "run 'terraform-session-token exec -- ...' or the classic flow first, or set mfa_process",
                    )
            line = self._tty.readline()
        else:
            sys.stdout.write(prompt)
            sys.stdout.flush()
            line = sys.stdin.readline()
            if not sys.stdin.isatty():
                sys.stdout.write("\n")  # piped input is not echoed: end the prompt's line
        return line.rstrip("\r\n") if line else None

    def close(self) -> None:
        for stream in (self._tty, self._tty_out):
            if stream is not None:
                stream.close()
        self._tty = self._tty_out = None


def check_code(code: str, where: str) -> str:
    code = code.strip()
    if not CODE.fullmatch(code):
        raise MfaError(f"the MFA code from {where} is not 6 digits", "give the code your MFA app shows now")
    return code


def code_from_process(command: str, timeout: float | None = None) -> str:
    """Run mfa_process (through the shell) and take the 6-digit code it prints."""
    import subprocess

    limit = PROCESS_TIMEOUT if timeout is None else max(min(timeout, PROCESS_TIMEOUT), 1)
    try:
        done = subprocess.run(
            command,
            shell=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            timeout=limit,
            text=True,
        )
    except subprocess.TimeoutExpired:
        raise MfaError(f"mfa_process did not finish within {limit:.0f} s", f"check: {command}")
    if done.returncode != 0:
        raise MfaError(f"mfa_process failed with exit code {done.returncode}", f"run it by hand: {command}")
    codes = [line.strip() for line in done.stdout.splitlines() if CODE.fullmatch(line.strip())]
    if not codes:
        raise MfaError("mfa_process printed no 6-digit code", f"run it by hand: {command}")
    return codes[-1]


def get_code(
    serial: str, code_flag: str | None, mfa_process: str | None, prompter: Prompter, timeout: float | None = None
) -> str:
    """The MFA code for `serial`, from the first source that is set."""
    if code_flag == "-":
        line = sys.stdin.readline()
        if not line:
            raise MfaError("--code - was given but standard input is empty", "pipe the code in, e.g. echo 123456 |")
        return check_code(line, "standard input")
    if code_flag:
        return check_code(code_flag, "--code")
    if mfa_process:
        return code_from_process(mfa_process, timeout)
    if not prompter.available:
        raise MfaError(
            "an MFA code is needed but there is no terminal to ask on",
            "pass --code, or set mfa_process in the profile (e.g. mfa_process = ykman oath accounts code -s aws)",
        )
    attempts = ATTEMPTS if prompter.interactive else 1
    for _ in range(attempts):
        answer = prompter.ask("Code: ", timeout)
        while answer is not None and not answer.strip() and not prompter.interactive:
            answer = prompter.ask("Code: ", timeout)  # piped input: blank lines are answers to other prompts
        if answer is None:
            raise MfaError("no MFA code: input ended before one was given", "run again and type the code")
        if CODE.fullmatch(answer.strip()):
            return answer.strip()
        if not prompter.interactive:
            check_code(answer, "standard input")  # says what is wrong with it
        if prompter.interactive:
            prompter.say(f"An MFA code is 6 digits (device {serial}); try again.")
    raise MfaError("no valid MFA code was given", "type the 6 digits your MFA app shows for " + serial)


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
