"""Bit flips per bit group of a word, one panel per scheme (the AppWOM paper's Figs. 4 and 9).

Reads the ``bit_flips`` table of a run (columns ``scheme``, ``position``,
``group``, ``flips``): raw schemes have one bar per data bit (S, E1..E8,
M1..M23), WOM schemes one bar per 3-cell group ("S+E1", "M2+M13", ...).
"""
from __future__ import annotations

import math
from typing import Mapping

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from plots._tables import as_runs, require  # noqa: E402


def _colour(label: str) -> str:
    first = label.split("+")[0]
    return {"S": "tab:red", "E": "tab:orange", "M": "tab:blue", "f": "tab:green"}.get(first[:1], "tab:grey")


def bit_flips_figure(tables: pd.DataFrame | Mapping[str, pd.DataFrame], *, title: str | None = None,
                     per_word_iteration: bool = False) -> Figure:
    """One panel per scheme (and run): flips of each bit group (log scale when they span
    more than a factor of 20, else linear from 0).

    ``per_word_iteration`` plots ``flips_per_word_iteration`` (comparable across
    model sizes and run lengths) instead of total flips.
    """
    runs = as_runs(tables)
    column = "flips_per_word_iteration" if per_word_iteration else "flips"
    panels = []
    for label, df in runs.items():
        require(df, ("scheme", "position", "group", column), "the bit-flips figure")
        for scheme in dict.fromkeys(df["scheme"]):
            panels.append((f"{scheme} ({label})" if label else scheme, df[df["scheme"] == scheme]))
    if not panels:
        raise ValueError("the bit-flips table is empty")
    ncol = 2 if len(panels) > 1 else 1
    nrow = math.ceil(len(panels) / ncol)
    fig = Figure(figsize=(7 * ncol, 2.6 * nrow + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False)).ravel()
    for ax, (name, d) in zip(axes, panels):
        d = d.sort_values("position")
        values = d[column].to_numpy(dtype=float)
        ax.bar(np.arange(len(d)), np.where(values > 0, values, np.nan), color=[_colour(g) for g in d["group"]])
        positive = values[values > 0]
        if positive.size and positive.max() > 20 * positive.min():
            ax.set_yscale("log")      # spans orders of magnitude (raw schemes: MSBs vs LSBs)
        else:
            ax.set_ylim(0, (positive.max() if positive.size else 1) * 1.1)
        ax.set_title(name, fontsize=9)
        ax.set_xticks(np.arange(len(d)), d["group"], rotation=90, fontsize=6 if len(d) > 20 else 7)
        ax.set_ylabel("flips per word-iteration" if per_word_iteration else "bit flips", fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    t = "Bit flips per bit group (cells of a group summed over all words)"
    fig.suptitle(f"{t}: {title}" if title else t, fontsize=10)
    return fig
