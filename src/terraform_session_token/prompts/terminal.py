"""terminal: the controlling terminal (credential-process, exec, env), or stdin and stdout in the
classic flow, which keeps the original script's bare `Code:` prompt."""

from __future__ import annotations

import sys

from ..errors import MfaError
from . import ATTEMPTS, CODE, check_code

NO_INPUT = "pass --code, set mfa_process to a command that prints the code, or choose a prompt with mfa_prompt"


def ask(question, prompter) -> str:
    """A code typed at the prompter: up to three tries at a terminal, one from piped input."""
    serial, timeout = question.serial, question.timeout
    attempts = ATTEMPTS if prompter.interactive else 1
    for attempt in range(1, attempts + 1):
        answer = prompter.ask(question.prompt, timeout, question.limit)
        while answer is not None and not answer.strip() and not prompter.interactive:
            answer = prompter.ask(
                question.prompt, timeout, question.limit
            )  # piped input: blank lines are answers to other prompts
        if answer is None:
            if prompter.interactive:
                raise MfaError("no MFA code: input ended before one was given", "run again and type the code")
            raise MfaError("an MFA code is needed but there is no terminal, and the input ended before one", NO_INPUT)
        if CODE.fullmatch(answer.strip()):
            return answer.strip()
        if not prompter.interactive:
            check_code(answer, "standard input")  # says what is wrong with it
        elif attempt < attempts:
            prompter.say(f"An MFA code is 6 digits (device {serial}); try again.")
    raise MfaError(
        f"no valid MFA code was given in {attempts} tries",
        "run again, and type the 6 digits your MFA app shows for " + serial,
    )


class Prompter:
    """Asks the user questions on stdin/stdout, or on the controlling terminal.

    credential-process uses the terminal: the AWS SDK that runs it owns stdin and stdout.
    """

    def __init__(self, use_tty: bool = False, banner: str = ""):
        self.use_tty = use_tty
        self._tty = self._tty_out = None
        self._opened = False
        self.banner = banner  # printed before the first prompt, if one is shown
        self._ahead: str | None = None  # piped input read before its prompt was shown
        self._read_ahead = False
        self.asked = False  # whether a prompt was shown

    def _show_banner(self) -> None:
        if self.banner:
            banner, self.banner = self.banner, ""
            self.say(banner)

    def has_input(self) -> bool:
        """Whether someone can answer: a terminal, or piped input. Input that is there already (a
        line, or its end) is read now, before the prompt: with none, nothing is shown. A pipe
        still empty gets the prompt first, for a program that answers prompts once it sees them."""
        if self.interactive:
            return True
        if self.use_tty:
            return False
        if not self._read_ahead:
            from .. import system

            try:
                waiting = system.input_waiting(sys.stdin)
            except (OSError, ValueError):
                waiting = True
            if not waiting:
                return True
            self._ahead, self._read_ahead = sys.stdin.readline(), True
        return bool(self._ahead)

    def _open(self) -> None:
        """Open the terminal on first use: a cached session never needs it."""
        if self._opened or not self.use_tty:
            return
        self._opened = True
        from .. import system

        try:
            # Two streams: a terminal can't be opened "r+" in text mode (it is not seekable).
            self._tty = open(system.TERMINAL_IN, encoding="utf-8")  # noqa: SIM115
            self._tty_out = open(system.TERMINAL_OUT, "w", encoding="utf-8")  # noqa: SIM115
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
        self._show_banner()
        self._open()
        out = self._tty_out if self.use_tty else sys.stdout
        if out is not None:
            out.write(text + "\n")
            out.flush()

    def ask(self, prompt: str, timeout: float | None = None, limit: float | None = None, lead: str = "") -> str | None:
        """One answer, or None at end of input; MfaError when `timeout` seconds pass first (the error
        names `limit`, the whole wait the user set, of which `timeout` is what was left). The banner
        and `lead` (lines before the prompt) are shown only if the prompt is: piped input that has
        ended shows nothing."""
        if not self.use_tty and not self.has_input():
            return None
        self._show_banner()
        if lead:
            self.say(lead)
        self.asked = True
        if not self.use_tty and self._read_ahead:
            line, self._ahead, self._read_ahead = self._ahead, None, False
            sys.stdout.write(prompt + "\n")  # piped input is not echoed: end the prompt's line
            sys.stdout.flush()
            return line.rstrip("\r\n")
        if self.use_tty:
            self._open()
            if self._tty is None:
                return None
            self._tty_out.write(prompt)
            self._tty_out.flush()
            if timeout is not None:
                from .. import system

                if not system.readable_within(self._tty, timeout):
                    self._tty_out.write("\n")
                    self._tty_out.flush()
                    raise MfaError(
                        f"no MFA code was typed within {limit if limit is not None else timeout:.0f} s "
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
