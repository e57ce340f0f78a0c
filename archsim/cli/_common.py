"""The options every simulation command shares, spelt and parsed one way.

``run``, ``timing run``, ``timing sweep-gap``, ``accuracy``, ``analog`` and ``racetrack`` take the same
``--config FILE``, ``--set SECTION.KEY=VALUE`` (repeatable), ``--schemes A,B,...`` (or the simulated
device presets for ``analog``), ``--seed``, ``--out DIR`` (an output folder, see :mod:`archsim.outputs`),
``--no-figures``, ``--no-progress`` and ``--overwrite``. Only the defaults and the help texts differ.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from archsim.errors import ConfigError


def add_config(p: argparse.ArgumentParser, *, example: str = "pcm.set_energy_pj=10",
               metavar: str = "SECTION.KEY=VALUE") -> None:
    """``--config FILE`` and ``--set KEY=VALUE`` (stored as ``args.config`` and ``args.overrides``)."""
    p.add_argument("--config", type=Path, metavar="FILE", help="TOML or YAML configuration file")
    p.add_argument("--set", action="append", default=[], metavar=metavar, dest="overrides",
                   help=f"override one configuration key (repeatable), e.g. --set {example}")


def add_schemes(p: argparse.ArgumentParser, help: str) -> None:
    """``--schemes A,B,...`` (comma-separated, repeatable); ``--scheme A`` is accepted for it (not listed)."""
    p.add_argument("--schemes", action="append", default=[], metavar="A,B,...", help=help)
    p.add_argument("--scheme", action="append", dest="schemes", help=argparse.SUPPRESS)


def add_seed(p: argparse.ArgumentParser, help: str = "seed (run.seed)") -> None:
    p.add_argument("--seed", type=int, help=help)


def add_outputs(p: argparse.ArgumentParser, *, required: bool = False, figures: bool = True,
                resumable: bool = False) -> None:
    """``--out DIR``, ``--no-figures``, ``--no-progress`` and ``--overwrite``."""
    default = "" if required else " (default: a new folder under ./archsim-results/)"
    p.add_argument("--out", type=Path, metavar="DIR", required=required, help=f"output folder{default}")
    if figures:
        p.add_argument("--no-figures", action="store_true", help="write the tables only")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    again = "; an interrupted run resumes without it" if resumable else ""
    p.add_argument("--overwrite", action="store_true",
                   help=f"replace the results of an earlier run of this command in DIR{again}")


def names(values: list[str] | None, option: str = "--schemes") -> list[str] | None:
    """The names of a comma-separated, repeatable option (``None`` when it was not given)."""
    if not values:
        return None
    out = [s.strip() for v in values for s in v.split(",") if s.strip()]
    if not out:
        raise ConfigError(f"{option}: name at least one")
    return list(dict.fromkeys(out))


def default_out_dir(label: str) -> Path:
    """A new folder ``./archsim-results/<date>-<time>-<label>`` (numbered when taken)."""
    root = Path("archsim-results")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in label)
    out = root / f"{stamp}-{safe}"
    n = 1
    while out.exists():
        n += 1
        out = root / f"{stamp}-{safe}-{n}"
    return out
