"""completion: print a shell completion script (bash, zsh, fish) generated from the argparse tree.

Profile names complete from the AWS files, read by `terraform-session-token completion
--list-profiles` (no botocore, no AWS call): -p offers the profiles a session can go to (not the
sources, whose keys a session would shadow), --source-profile every profile.
"""

from __future__ import annotations

import argparse

from ..errors import ExtraMissing, UsageError

SHELLS = ("bash", "zsh", "fish")
LISTS = {"profile": "sessions", "source_profile": "all"}  # option -> the names it completes


def add_arguments(parser) -> None:
    parser.usage = "terraform-session-token completion [-h] {bash,zsh,fish}"
    parser.add_argument("shell", choices=SHELLS, nargs="?", metavar="{bash,zsh,fish}", help="the shell to complete in")
    parser.add_argument(
        "--list-profiles", nargs="?", const="all", choices=("all", "sessions"), default=None, help=argparse.SUPPRESS
    )


# Profile names are data, never code: each shell gets them through a function that adds them as
# they are (bash's compgen -W and zsh's "(a b)" action would expand them once more).
_BASH = """
_terraform_session_token_{kind}() {{
  local name
  while IFS= read -r name; do
    [[ "$name" == "$1"* ]] && printf '%s\\n' "$name"
  done < <(terraform-session-token completion --list-profiles {kind} 2>/dev/null)
}}
"""
_ZSH = """
_terraform_session_token_{kind}() {{
  local -a names
  names=("${{(@f)$(terraform-session-token completion --list-profiles {kind} 2>/dev/null)}}")
  compadd -a names
}}
"""
PREAMBLE = {
    "bash": "".join(_BASH.format(kind=kind) for kind in ("all", "sessions")),
    "zsh": "".join(_ZSH.format(kind=kind) for kind in ("all", "sessions")),
}


def _complete_profiles(parser, shtab) -> None:
    """Every -p / --source-profile in the tree completes from the files' profile names."""
    for action in parser._actions:
        kind = LISTS.get(action.dest)
        if kind and action.option_strings:
            action.complete = {
                "bash": f"_terraform_session_token_{kind}",
                "zsh": f"_terraform_session_token_{kind}",
                "fish": shtab.cmd(f"terraform-session-token completion --list-profiles {kind}").get("fish"),
            }
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _complete_profiles(sub, shtab)


def session_targets(files) -> list[str]:
    """The profiles -p may name: not those holding long-term keys (in a file or the keyring) or an
    aws login session, which are sources (a session written there would shadow them)."""
    return [
        name
        for name in files.profile_names()
        if not files.plaintext_keys(name)
        and not files.keys_in_keyring(name)
        and not files.config_for(name).get("login_session")
    ]


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

        files = AwsFiles.load()
        names = session_targets(files) if args.list_profiles == "sessions" else files.profile_names()
        print("\n".join(name for name in names if accepted(name)))
        return 0
    if not args.shell:
        raise UsageError("completion needs a shell: bash, zsh or fish", "e.g. completion bash")
    try:
        import shtab
    except ImportError:
        raise ExtraMissing(
            "shell completion needs the shtab package",
            "pipx inject terraform-session-token shtab, or pip install 'terraform-session-token[completion]'",
        )
    from ..cli import build_parser

    parser = build_parser(complete=True)
    _complete_profiles(parser, shtab)
    print(shtab.complete(parser, shell=args.shell, preamble=PREAMBLE))
    return 0
