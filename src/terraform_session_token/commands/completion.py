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


# Profile names are data, never code: each shell gets them through a function that adds them as
# they are (bash's compgen -W and zsh's "(a b)" action would expand them once more).
PREAMBLE = {
    "bash": """
_terraform_session_token_profiles() {
  local name
  while IFS= read -r name; do
    [[ "$name" == "$1"* ]] && printf '%s\\n' "$name"
  done < <(terraform-session-token completion --list-profiles 2>/dev/null)
}
""",
    "zsh": """
_terraform_session_token_profiles() {
  local -a names
  names=("${(@f)$(terraform-session-token completion --list-profiles 2>/dev/null)}")
  compadd -a names
}
""",
}
COMPLETER = {"bash": "_terraform_session_token_profiles", "zsh": "_terraform_session_token_profiles"}


def _complete_profiles(parser, shtab) -> None:
    """Every -p / --source-profile in the tree completes from the files' profile names."""
    completer = dict(COMPLETER, fish=shtab.cmd("terraform-session-token completion --list-profiles").get("fish"))
    for action in parser._actions:
        if action.dest in PROFILE_OPTIONS:
            action.complete = completer
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _complete_profiles(sub, shtab)


def run(args) -> int:
    if args.list_profiles:
        from .. import inifile
        from ..profiles import AwsFiles

        def accepted(name: str) -> bool:  # only names the tool takes: no shell can read code into them
            try:
                inifile.check_profile_name(name)
                return True
            except ValueError:
                return False

        print("\n".join(name for name in AwsFiles.load().profile_names() if accepted(name)))
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
    print(shtab.complete(parser, shell=args.shell, preamble=PREAMBLE))
    return 0
