"""The plotting layer: one function per figure, reading a result table, returning a Figure.

Every function builds a :class:`matplotlib.figure.Figure` directly (no pyplot), so importing
:mod:`plots` leaves the matplotlib backend alone (Jupyter keeps its inline backend) and no display is
needed: save with ``fig.savefig(path)``, or show it in a notebook by evaluating it. The conventions
(engineering units, one scale per figure, no bars on log axes, legends outside the axes, the
configuration in the title) are in :mod:`plots._style`.
"""
from __future__ import annotations

import importlib

# name -> the module that defines it, imported on first use (PEP 562): ``import plots`` and its
# matplotlib-free helpers (``plots._style``'s units, used by the summary text) do not import matplotlib
_WHERE = {
    "MissingColumns": "_tables",
    "bit_statistics_figure": "bit_statistics", "bit_statistics_comparison_figure": "bit_statistics",
    "appwom_prereset_figure": "controller", "read_latency_by_policy_figure": "controller",
    "bit_flips_figure": "flips",
    "racetrack_counts_figure": "racetrack",
    "energy_figure": "schemes", "lifetime_figure": "schemes", "write_latency_figure": "schemes",
    "scheme_ratio_figure": "sweep", "scheme_ratio_table": "sweep", "sweep_key_figure": "sweep",
    "sweep_ratio_table": "sweep",
    "gap_knee_figure": "timing", "timing_banks_figure": "timing",
    "lifetime_levellers_figure": "wear", "wear_distribution_figure": "wear",
}

__all__ = list(_WHERE)


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'plots' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"plots.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
