"""``archsim completion SHELL``: print a tab-completion script for bash, zsh or tcsh (via shtab).

The script is static (generated from the full parser once), so pressing TAB runs no Python. Besides the
commands and options it completes the values a researcher types most: ``--schemes`` (every registered scheme
of every memory technology, comma after comma; ``archsim racetrack``: its schemes; ``archsim accuracy``: also
``baseline`` and ``TECH:SCHEME``), ``--memory``, ``--presets`` (the analog device presets) and
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
    """The words each value-completed option offers, by option string (:func:`command_words` for the
    sub-commands whose choices differ)."""
    from archsim.analog import PRESETS
    from archsim.config import load_config
    from archsim.contracts import TECHNOLOGIES

    schemes = sorted({s for names in _schemes().values() for s in names})
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


def command_words(words: dict[str, list[str]]) -> dict[str, dict[str, list[str]]]:
    """The sub-commands whose value-completed options offer other words than ``words`` (:func:`value_words`):
    ``archsim racetrack`` replays only racetrack schemes; ``archsim accuracy`` also takes ``baseline`` and
    ``TECH:SCHEME``."""
    from archsim.accuracy import BASELINE

    every = _schemes()
    qualified = [f"{name}:{s}" for name, schemes in every.items() for s in schemes]
    return {"racetrack": {"--schemes": every["racetrack"]},
            "accuracy": {"--schemes": [BASELINE, *words["--schemes"], *qualified]}}


def _schemes() -> dict[str, list[str]]:
    """Every memory technology's registered schemes, by technology (the built-ins loaded)."""
    from archsim.compose import load_builtins
    from archsim.contracts import TECHNOLOGIES

    load_builtins()
    return {name: sorted(TECHNOLOGIES.get(name).schemes.names()) for name in TECHNOLOGIES.names()}


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
    completers: dict[tuple[str, str], dict[str, str]] = {}   # (command or "", option) -> its completer
    for command, options in [("", words), *command_words(words).items()]:
        for option, values in options.items():
            name = "_archsim_values_" + "_".join(filter(None, (command, option.strip("-"))))
            preamble.append(_bash_function(name, values, lists=option in ("--schemes", "--presets")))
            listed = "(" + " ".join(values) + ")"
            completers[command, option] = {"bash": name, "zsh": listed, "tcsh": listed}
    for sub in _parsers(parser):
        command = sub.prog.split()[-1]
        for action in sub._actions:
            for option in action.option_strings:
                complete = completers.get((command, option)) or completers.get(("", option))
                if complete:
                    action.complete = complete
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
