"""Figures of the timing model from its results: per-bank latency, utilisation and wear; the idle-gap knee.

The drawing is in :mod:`plots.timing` (one function per figure, reading the tidy tables, so that
``archsim report`` redraws them from a results folder); these helpers take the model's results.
"""
from __future__ import annotations

import pandas as pd


def banks_table(results: dict) -> pd.DataFrame:
    """The ``timing_banks`` table (scheme first) of ``results``: scheme -> TimingResult."""
    banks = pd.concat([r.per_bank.assign(scheme=s) for s, r in results.items()], ignore_index=True)
    return banks[["scheme"] + [c for c in banks.columns if c != "scheme"]]


def bank_figure(results: dict, *, title: str | None = None):
    """Three panels over the banks, one bar per scheme: average write latency (queued), utilisation,
    mean cell flips. ``results``: scheme -> TimingResult."""
    from plots.timing import timing_banks_figure

    return timing_banks_figure(banks_table(results), title=title)


def knee_figure(sweep: pd.DataFrame, *, set_ns: float | None = None, reset_ns: float | None = None,
                title: str | None = None):
    """Average write latency against the idle gap per iteration (log x), one line per scheme."""
    from plots.timing import gap_knee_figure

    return gap_knee_figure(sweep, set_ns=set_ns, reset_ns=reset_ns, title=title)
