"""completion: print a shell completion script (bash, zsh, fish) generated from the argparse tree.

Profile names (-p, --source-profile) complete from the AWS files, read by
`terraform-session-token completion --list-profiles` (no botocore, no AWS call).
"""

from __future__ import annotations

import argparse

from ..errors import ExtraMissing, UsageError

SHELLS = ("bash", "zsh", "fish")
PROFILE_OPTIONS = ("profile", "source_profile")


def add_arguments(parser) -> None:
    parser.usage = "terraform-session-token completion [-h] {bash,zsh,fish}"
    parser.add_argument("shell", choices=SHELLS, nargs="?", metavar="{bash,zsh,fish}", help="the shell to complete in")
    parser.add_argument("--list-profiles", action="store_true", help=argparse.SUPPRESS)


def _complete_profiles(parser, shtab) -> None:
    """Every -p / --source-profile in the tree completes from the files' profile names."""
    completer = shtab.cmd("terraform-session-token completion --list-profiles")
    for action in parser._actions:
        if action.dest in PROFILE_OPTIONS:
            action.complete = completer
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _complete_profiles(sub, shtab)


def run(args) -> int:
    if args.list_profiles:
        from ..profiles import AwsFiles

        print("\n".join(AwsFiles.load().profile_names()))
        return 0
    if not args.shell:
        raise UsageError("completion needs a shell: bash, zsh or fish", "e.g. completion bash")
    try:
        import shtab
    except ImportError:
        raise ExtraMissing(
            "shell completion needs the shtab package",
            "pipx inject terraform-session-token shtab (or pip install 'terraform-session-token[completion]')",
        )
    from ..cli import build_parser

    parser = build_parser(complete=True)
    _complete_profiles(parser, shtab)
    print(shtab.complete(parser, shell=args.shell))
    return 0
