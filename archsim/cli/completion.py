"""``archsim completion SHELL``: print a tab-completion script for bash, zsh or tcsh (via shtab).

The script is static (generated from the full parser once), so pressing TAB runs no Python. Besides the
commands and options it completes the values a researcher types most: ``--schemes`` (every registered scheme
of every memory technology, comma after comma), ``--memory``, ``--presets`` (the analog device presets) and
``--set`` (every configuration key, as ``SECTION.KEY=``), from the registries as loaded when the script was
generated (plugins included with ``archsim --plugin FILE completion bash``).
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


def value_words() -> dict[str, list[str]]:
    """The words each value-completed option offers, by option string."""
    from archsim.analog import PRESETS
    from archsim.compose import load_builtins
    from archsim.config import load_config
    from archsim.contracts import TECHNOLOGIES

    load_builtins()
    schemes = sorted({s for name in TECHNOLOGIES.names() for s in TECHNOLOGIES.get(name).schemes.names()})
    keys: list[str] = []

    def walk(prefix: str, d) -> None:
        for k, v in d.items():
            if isinstance(v, dict) and v and k != "knobs":
                if "name" in v:  # a choice slot: also `--set slot=NAME`
                    keys.append(f"{prefix}{k}=")
                walk(f"{prefix}{k}.", v)
            else:
                keys.append(f"{prefix}{k}=")

    walk("", load_config(None).to_dict())
    return {"--schemes": schemes, "--memory": sorted(TECHNOLOGIES.names()), "--presets": sorted(PRESETS.names()),
            "--set": sorted(keys)}


def _bash_function(name: str, words: list[str], *, lists: bool) -> str:
    """A bash completer ``name WORD`` offering ``words``; with ``lists``, the item after the last comma."""
    split = ('  local head="" cur="$1"\n  if [[ "$cur" == *,* ]]; then head="${cur%,*},"; cur="${cur##*,}"; fi\n'
             if lists else '  local head="" cur="$1"\n')
    return f'{name}() {{\n{split}  compgen -P "$head" -W "{" ".join(words)}" -- "$cur"\n}}\n'


#: After a value that the user goes on typing (``KEY=``, ``A,``) bash must not insert a space.
_BASH_NOSPACE = """
_archsim_complete() {
  _shtab_archsim "$@"
  if [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *[=,] ]]; then compopt -o nospace 2>/dev/null || :; fi
}
complete -o bashdefault -F _archsim_complete archsim
"""


def run(args: argparse.Namespace) -> int:
    import shtab

    from archsim.cli import build_parser

    parser = build_parser("*")
    words = value_words()
    preamble = []
    for option, values in words.items():
        name = "_archsim_values_" + option.strip("-")
        preamble.append(_bash_function(name, values, lists=option in ("--schemes", "--presets")))
        zsh = "(" + " ".join(values) + ")"
        for sub in _parsers(parser):
            for action in sub._actions:
                if option in action.option_strings:
                    action.complete = {"bash": name, "zsh": zsh, "tcsh": "(" + " ".join(values) + ")"}
    if args.shell == "bash":
        print(shtab.complete(parser, shell="bash", preamble="".join(preamble)), end="")
        print(_BASH_NOSPACE, end="")
    else:
        print(shtab.complete(parser, shell=args.shell), end="")
    return 0


def _parsers(parser: argparse.ArgumentParser):
    """``parser`` and every sub-command parser under it."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                yield from _parsers(sub)
