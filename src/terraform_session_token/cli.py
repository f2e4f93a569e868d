"""The argparse tree and dispatch. Imports nothing heavy: commands load on demand."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from . import __version__
from .errors import Interrupted, ToolError, UsageError
from .options import SESSION_COMMANDS

PROG = "terraform-session-token"
USAGE = f"{PROG} [-h] [-d 3600] [-p terraform_session] [-v] [options] [command ...]"

COMMANDS = {
    "refresh": ("refresh", "write a session into the credentials file (the default command)"),
    "exec": ("exec_command", "run a command with credentials served to it, refreshed for as long as it runs"),
    "env": ("env", "print the session as environment variables for eval"),
    "credential-process": ("credential_process", "print the session as credential_process JSON"),
    "configure": ("configure", "point a config profile's credential_process at this tool"),
    "status": ("status", "list the sessions this tool manages (no AWS call)"),
    "clear": ("clear", "remove session profiles and caches this tool wrote"),
    "console": ("console", "open the AWS console as the profile's role, from the same session"),
    "policy": ("policy", "print the IAM policies the setup needs (JSON or HCL)"),
    "doctor": ("doctor", "explain why Terraform may not be authenticating"),
    "keys": (
        "keys",
        "keep source profiles' long-term keys in the OS keyring (import, add, list, rotate, remove, export)",
    ),
    "completion": ("completion", "print shell completion for bash, zsh or fish"),
}


def add_session_options(parser: argparse.ArgumentParser, nested: bool, command: str | None = None) -> None:
    """The options of the commands that obtain a session: those `command` offers (None: all).

    On subcommands the defaults are suppressed, so an option given before the command
    name is not reset by the subcommand's parser.
    """
    from .options import for_command

    for option in for_command(command):
        kwargs = option.argparse_kwargs()
        if nested:
            kwargs["default"] = argparse.SUPPRESS
        parser.add_argument(*option.flags, **kwargs)


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, sized without importing shutil (a cost on every start)."""

    def __init__(self, prog: str, **kwargs) -> None:
        if kwargs.get("width") is None:
            try:
                kwargs["width"] = (
                    int(os.environ.get("COLUMNS") or os.get_terminal_size(sys.stdout.fileno()).columns) - 2
                )
            except (OSError, ValueError):
                kwargs["width"] = 78
        super().__init__(prog, **kwargs)


_ARGV: list[str] = []  # the command line being parsed, for the error message


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line, like every other failure: a word argparse can't place is named,
    with the option meant or the place it belongs (mistakes.py, loaded only then)."""

    def error(self, message: str):
        if message.startswith(("unrecognized arguments", "argument command: invalid choice")):
            from .mistakes import explain

            found = explain(_ARGV)
            if found:
                from .errors import terminal_safe

                self.exit(2, f"{PROG}: error: {terminal_safe(found[0])} ({terminal_safe(found[1])})\n")
        command = f"{PROG} {getattr(self, '_command', '')}".strip()
        self.exit(2, f"{PROG}: error: {message} (see: {command} --help)\n")


class _CommandParser(_Parser):
    """A subcommand's parser that adds its options only when it is the command being run.

    Importing every command module to build the whole tree would cost start-up time on
    every run; top-level --help needs only the names and summaries.
    """

    def __init__(self, *args, command: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self._command = command
        self._populated = False

    def populate(self) -> None:
        if self._populated or self._command not in COMMANDS:
            return  # a nested parser (keys import ...) has its options already
        self._populated = True
        self.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        if self._command in SESSION_COMMANDS:
            add_session_options(self, nested=True, command=self._command)
        module = importlib.import_module(f".commands.{COMMANDS[self._command][0]}", __package__)
        module.add_arguments(self)

    def parse_known_args(self, args=None, namespace=None):
        self.populate()
        return super().parse_known_args(args, namespace)


def build_parser(complete: bool = False) -> argparse.ArgumentParser:
    """The argparse tree; `complete` fills in every subcommand (for shell completion)."""
    parser = _Parser(
        prog=PROG,
        usage=USAGE,
        formatter_class=_Formatter,
        description="Generates a Session Token using a Role and MFA Device, for Terraform and every AWS tool.",
        epilog=f"Run '{PROG} COMMAND -h' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks (never secrets)")
    add_session_options(parser, nested=False)
    parser.add_argument(
        "--min-left",
        metavar="DURATION",
        help="how long the session must still last, e.g. 2h: refresh first when less is left",
    )
    sub = parser.add_subparsers(dest="command", metavar="command", title="commands", parser_class=_CommandParser)
    for name, (_, summary) in COMMANDS.items():
        p = sub.add_parser(
            name, help=summary, description=summary, command=name, formatter_class=_Formatter, prog=f"{PROG} {name}"
        )
        if complete:
            p.populate()
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    _ARGV[:] = argv
    parser = build_parser()
    args = parser.parse_args(argv)
    command = args.command or "refresh"
    module = importlib.import_module(f".commands.{COMMANDS[command][0]}", __package__)
    try:
        _refuse_options_that_do_not_apply(command, args, parser)
        try:
            return int(module.run(args) or 0)
        except KeyboardInterrupt:
            _end_prompt_line()
            raise Interrupted("interrupted; nothing was written", "") from None
        except BrokenPipeError:
            return 141
    except ToolError as error:
        if getattr(args, "debug", False):
            import traceback

            traceback.print_exc()
        print(f"{PROG}: error: {error.line()}", file=sys.stderr)
        return error.exit_code
    except Exception as error:  # a bug: still one line, with the way to see more
        if getattr(args, "debug", False):
            raise
        print(
            f"{PROG}: error: unexpected {type(error).__name__} (run again with --debug and report it)",
            file=sys.stderr,
        )
        return 1


def _dests(parser) -> set[str]:
    """Every destination a parser and its nested parsers (keys list ...) define."""
    found = set()
    for action in parser._actions:
        found.add(action.dest)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _dests(sub)
    return found


def _refuse_options_that_do_not_apply(command: str, args, parser) -> None:
    """A session option given before a command that does not use it is a mistake, said at once."""
    from .options import OPTIONS, given

    if command == "configure":
        return  # configure names what it can't store, and why
    offered = {o.dest for o in OPTIONS if command in o.commands}
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[command]
    offered |= _dests(sub)  # the command's own options of the same name (policy --role, keys list --region)
    for option in OPTIONS:
        if option.dest not in offered and given(args, option.dest) is not None:
            raise UsageError(f"{option.flags[0]} does not apply to {command}", f"see: {PROG} {command} --help")


def _end_prompt_line() -> None:
    """Ctrl-C at a prompt leaves the cursor after it: the error goes on a line of its own."""
    try:
        if os.isatty(2):
            sys.stderr.write("\n")
    except (OSError, ValueError):
        pass


def _standard_streams() -> None:
    """Closed stdin/stdout/stderr become /dev/null: no traceback, and no later open() takes fd 1
    or 2 (a warning written there would land in a file, or in credential_process's JSON)."""
    for fd, flags in ((0, os.O_RDONLY), (1, os.O_WRONLY), (2, os.O_WRONLY)):
        try:
            os.fstat(fd)
        except OSError:
            opened = os.open(os.devnull, flags)
            if opened != fd:
                os.dup2(opened, fd)
                os.close(opened)
    if sys.stdin is None:
        sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
    if sys.stdout is None:
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    if sys.stderr is None:
        sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115


def entry() -> None:
    _standard_streams()
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        code = code or 141
    except OSError:  # a full device or a vanished terminal: nothing more can be said
        code = code or 1
    # Skip the interpreter's teardown: after botocore is loaded, freeing its module graph
    # costs a noticeable part of a refresh. Every file we write is fsynced and closed by now.
    os._exit(code)
