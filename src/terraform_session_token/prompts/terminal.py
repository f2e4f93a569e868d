"""terminal: the controlling terminal (credential-process, exec, env), or stdin and stdout in the
classic flow, which keeps the original script's bare `Code:` prompt."""

from __future__ import annotations

from ..errors import MfaError
from ..mfa import ATTEMPTS, CODE, check_code


def ask(question, prompter) -> str:
    """A code typed at the prompter: up to three tries at a terminal, one from piped input."""
    serial, timeout = question.serial, question.timeout
    attempts = ATTEMPTS if prompter.interactive else 1
    for _ in range(attempts):
        answer = prompter.ask(question.prompt, timeout, question.limit)
        while answer is not None and not answer.strip() and not prompter.interactive:
            answer = prompter.ask(
                question.prompt, timeout, question.limit
            )  # piped input: blank lines are answers to other prompts
        if answer is None:
            raise MfaError("no MFA code: input ended before one was given", "run again and type the code")
        if CODE.fullmatch(answer.strip()):
            return answer.strip()
        if not prompter.interactive:
            check_code(answer, "standard input")  # says what is wrong with it
        if prompter.interactive:
            prompter.say(f"An MFA code is 6 digits (device {serial}); try again.")
    raise MfaError("no valid MFA code was given", "type the 6 digits your MFA app shows for " + serial)
