"""completion: print a bash or zsh completion script generated from the argparse tree."""

from __future__ import annotations

from ..errors import UsageError


def add_arguments(parser) -> None:
    parser.add_argument("shell", choices=("bash", "zsh"))


def run(args) -> int:
    try:
        import shtab
    except ImportError:
        raise UsageError(
            "shell completion needs the shtab package", "pip install 'terraform-session-token[completion]'"
        )
    from ..cli import build_parser

    print(shtab.complete(build_parser(complete=True), shell=args.shell))
    return 0
