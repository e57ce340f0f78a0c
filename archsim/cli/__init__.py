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
import logging
import os
import pkgutil
import sys
from typing import Sequence

from archsim import __version__
from archsim.errors import ArchsimError
from archsim.registry import load_plugin


def _command_modules() -> dict[str, object]:
    """The sub-command modules by command name (cheap: a module imports its machinery when it runs)."""
    out = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            out[info.name] = importlib.import_module(f"{__name__}.{info.name}")
    return out


class _Parser(argparse.ArgumentParser):
    """A usage error is one line, ``archsim: error: <command>: <what>`` (exit status 2), like every other
    error of the command line; ``--help`` shows the usage."""

    def error(self, message: str):
        where = self.prog.removeprefix("archsim").strip()
        self.exit(2, f"archsim: error: {where + ': ' if where else ''}{message} (see {self.prog} --help)\n")


def build_parser(command: str | None = "*") -> argparse.ArgumentParser:
    """The parser, with every sub-command's options (``command="*"``) or only ``command``'s.

    The others get a one-line parser of their name and help: building a sub-command's options
    may list registry choices, which loads the technologies and workloads, and ``archsim --help``
    or a mistyped command should not wait for that.
    """
    parser = _Parser(
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
    for name, module in _command_modules().items():
        if command in ("*", name):
            module.register(sub)
        else:
            sub.add_parser(name, help=module.HELP, description=module.HELP)
    return parser


def _command_of(argv: list[str]) -> tuple[list[str], str | None]:
    """The ``--plugin`` values and the sub-command named in ``argv`` (``None`` when there is none)."""
    pre = _Parser(prog="archsim", add_help=False)
    pre.add_argument("--plugin", action="append", default=[])
    known, rest = pre.parse_known_args(argv)
    names = _command_modules()
    command = next((a for a in rest if not a.startswith("-")), None)
    return known.plugin, command if command in names else None


class _ToStderr(logging.StreamHandler):
    """The CLI's messages (notes, warnings, what sweep points logged on Dask workers): one line each."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("archsim: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr  # the stream of now (tests and notebooks replace sys.stderr)
        super().emit(record)


def _log_to_stderr() -> None:
    for name in ("archsim", "workloads"):
        lg = logging.getLogger(name)
        if not any(isinstance(h, _ToStderr) for h in lg.handlers):
            lg.addHandler(_ToStderr())


def console() -> None:
    """The ``archsim`` console script (and ``python -m archsim``): :func:`main`, then the exit.

    The heap is frozen first (:func:`gc.freeze`): the interpreter's last garbage collection at exit
    would otherwise walk every object left (numpy, pandas, matplotlib and the run's own: 0.1-0.2 s of the
    default job) to free nothing that matters, every file having been written and closed."""
    import gc

    status = main()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        status = _closed_stdout()
    gc.freeze()
    sys.exit(status)


def _stdout_gone() -> bool:
    """Whether stdout is a pipe whose reader has closed it (poll reports an error on its write end), as
    opposed to another pipe of the run breaking."""
    import select

    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):  # replaced by a capture, or closed
        return False
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return any(events & select.POLLERR for _, events in poller.poll(0))


def _closed_stdout() -> int:
    """The reader of stdout went away (``archsim trace info T | head``): as a Unix tool, stop quietly
    (the Python documentation's recipe: stdout pointed at /dev/null so that the exit's flush is silent);
    the status of a command killed by SIGPIPE."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 128 + 13


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``archsim`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    _log_to_stderr()
    plugins, command = _command_of(argv)
    try:
        for spec in plugins:  # before the parser lists registry choices
            load_plugin(spec)
        parser = build_parser(command)
        args = parser.parse_args(argv)
        return int(args.func(args) or 0)
    except ArchsimError as exc:
        print(f"archsim: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a path the user gave: --out naming a file, no permission, disk full, ...
        if isinstance(exc, BrokenPipeError) and _stdout_gone():
            return _closed_stdout()
        where = exc.filename if exc.filename is not None else ""
        print(f"archsim: error: {where}: {exc.strerror or exc}" if where else f"archsim: error: {exc}",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("archsim: interrupted", file=sys.stderr)
        return 130
