"""``archsim completion SHELL``: print a tab-completion script for bash, zsh or tcsh (via shtab).

The script is static (generated from the full parser once), so pressing TAB runs no Python.
"""
from __future__ import annotations

import argparse

HELP = "print a shell completion script (bash, zsh, tcsh)"
SHELLS = ("bash", "zsh", "tcsh")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "completion", help=HELP,
        description="Print a tab-completion script for archsim's commands and options. Install it with, "
                    "for bash: archsim completion bash > ~/.local/share/bash-completion/completions/archsim; "
                    "for zsh: archsim completion zsh > \"${fpath[1]}/_archsim\". Regenerate it after loading "
                    "plugins that add choices (archsim --plugin FILE completion bash).")
    p.add_argument("shell", choices=SHELLS, help="the shell")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import shtab

    from archsim.cli import build_parser

    print(shtab.complete(build_parser("*"), shell=args.shell), end="")
    return 0
