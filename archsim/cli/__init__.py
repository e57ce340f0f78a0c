"""The ``archsim`` command line.

Each sub-command is a module of this package with a ``register(subparsers)``
function that adds its parser and sets ``func`` (called with the parsed
arguments, returns an exit code). Modules are discovered, so a new command is
one new file. User errors (:class:`archsim.errors.ArchsimError`) print one line
and exit with status 2; no traceback.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from typing import Sequence

from archsim import __version__
from archsim.errors import ArchsimError
from archsim.registry import load_plugin


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="archsim",
        description="Memory-system simulator for PCM and skyrmion racetrack memory under NN training.",
    )
    parser.add_argument("--version", action="version", version=f"archsim {__version__}")
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE_OR_FILE",
        help="import a module or .py file that registers schemes, policies or workloads (repeatable)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``archsim`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # plugins must be loaded before the parser lists registry choices
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--plugin", action="append", default=[])
    known, _ = pre.parse_known_args(argv)
    try:
        for spec in known.plugin:
            load_plugin(spec)
        parser = build_parser()
        args = parser.parse_args(argv)
        return int(args.func(args) or 0)
    except ArchsimError as exc:
        print(f"archsim: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a path the user gave: --out naming a file, no permission, disk full, ...
        where = exc.filename if exc.filename is not None else ""
        print(f"archsim: error: {where}: {exc.strerror or exc}" if where else f"archsim: error: {exc}",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("archsim: interrupted", file=sys.stderr)
        return 130
