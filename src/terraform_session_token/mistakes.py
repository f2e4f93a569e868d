"""A command line argparse refused, explained: a misspelt option gets its close name, a misplaced
one the place it belongs, an option a command does not take says so by name.

Loaded only after parsing failed: it builds every command's parser (importing every command
module) and difflib, which a run that parses never pays for.
"""

from __future__ import annotations

import argparse
import difflib

from .cli import COMMANDS, PROG, build_parser
from .options import OPTIONS

_REFUSED_BY_CONFIGURE = {flag: o for o in OPTIONS if o.refuse for flag in o.flags}
_SESSION_FLAGS = {flag: o for o in OPTIONS for flag in o.flags}


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {flag: action for action in parser._actions for flag in action.option_strings}


def _match(token: str, options: dict[str, argparse.Action]) -> argparse.Action | None:
    """The option `token` means to argparse: exact, a unique prefix of a long one, or a short one
    with its value attached (-d900); None when it means none."""
    flag = token.split("=", 1)[0]
    if flag in options:
        return options[flag]
    if flag.startswith("--"):
        found = {options[o] for o in options if o.startswith(flag) and o.startswith("--")}
        return found.pop() if len(found) == 1 else None
    short = options.get(token[:2])
    return short if short is not None and short.nargs != 0 else None


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def explain(argv: list[str]) -> tuple[str, str] | None:
    """(what is wrong, what to do) for the first word of `argv` that has no place; None when each
    has one (argparse's own message then stands)."""
    top = build_parser(complete=True)
    commands = _subparsers(top)
    parser, command, action_name, i = top, None, "", 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            return None
        if token.startswith("-") and token != "-":
            action = _match(token, _options(parser))
            if action is None:
                return _misplaced(token.split("=", 1)[0], command, action_name, argv[i + 1 :], commands)
            takes_value = action.nargs != 0 and "=" not in token and not (len(token) > 2 and token[1] != "-")
            i += 2 if takes_value else 1
            continue
        if command is None:
            if token not in commands:
                return _unknown_command(token)
            parser, command = commands[token], token
        elif command == "exec":
            return None  # the command to run and its own words
        elif token in _subparsers(parser):
            parser, action_name = _subparsers(parser)[token], token  # keys import, keys add ...
        i += 1
    return None


def _offered_by(flag: str, commands: dict[str, argparse.ArgumentParser]) -> list[str]:
    found = []
    for name, parser in commands.items():
        parsers = [parser, *_subparsers(parser).values()]
        if any(flag in _options(p) for p in parsers):
            found.append(name)
    return found


def _misplaced(flag: str, command: str | None, action: str, rest: list[str], commands) -> tuple[str, str]:
    if command is None:
        later = next((word for word in rest if word in commands), None)
        owners = _offered_by(flag, commands)
        if owners:
            where = later if later in owners else owners[0]
            value = rest[0] if rest and rest[0] not in commands and not rest[0].startswith("-") else "..."
            what = f"{flag} is an option of {_names(owners)}: it goes after the command"
            return what, f"{PROG} {where} {flag} {value}"
        return _unknown_option(flag, _options(build_parser()), f"{PROG} --help")
    if command == "configure" and flag in _REFUSED_BY_CONFIGURE:
        words = [w.split("=", 1)[0] for w in [flag, *rest]]
        what = "; ".join(dict.fromkeys(_REFUSED_BY_CONFIGURE[w].refuse for w in words if w in _REFUSED_BY_CONFIGURE))
        return f"configure can't store {what}", "pass those to the commands that use them"
    if flag in _SESSION_FLAGS or flag in ("--min-left", "--version"):
        return f"{flag} does not apply to {command}", f"see: {PROG} {command} --help"
    owners = [name for name in _offered_by(flag, commands) if name != command]
    if owners:
        return f"{flag} is an option of {_names(owners)}, not of {command}", f"see: {PROG} {command} --help"
    parsers = [commands[command], *_subparsers(commands[command]).values()]
    known = {o: a for p in parsers for o, a in _options(p).items()}
    where = f"{command} {action}".strip()
    return _unknown_option(flag, known, f"{PROG} {where} --help", where)


def _unknown_option(flag: str, known: dict, help_line: str, command: str | None = None) -> tuple[str, str]:
    names = [o for o, action in known.items() if action.help is not argparse.SUPPRESS]
    close = difflib.get_close_matches(flag, names, n=1, cutoff=0.7)
    what = f"unknown option {flag}" + (f" for {command}" if command else "")
    return what, (f"did you mean {close[0]}?" if close else f"see: {help_line}")


def _unknown_command(word: str) -> tuple[str, str]:
    close = difflib.get_close_matches(word, list(COMMANDS), n=1, cutoff=0.7)
    if close:
        return f"unknown command {word!r}", f"did you mean {close[0]}?"
    from .profiles import AwsFiles

    try:
        profiles = AwsFiles.load().profile_names()
    except Exception:  # an unreadable file: no profile hint
        profiles = []
    if word in profiles:
        return f"unknown command {word!r}", f"for the profile [{word}], give -p {word}"
    return f"unknown command {word!r}", f"the commands: {', '.join(COMMANDS)}"


def _names(commands: list[str]) -> str:
    return commands[0] if len(commands) == 1 else ", ".join(commands[:-1]) + " and " + commands[-1]
