"""Wear levelling figures: the per-cell wear distribution and the lifetime of each scheme under each leveller.

Both read tidy tables (as written by ``scripts/wear_levelling.py``):

* ``wear_distribution``: ``scheme``, ``leveller``, ``bin_lo``, ``bin_hi`` (flips per iteration of a
  physical cell, in the leveller's steady state), ``cells`` (physical cells in the bin);
* a summary with ``scheme``, ``wear_leveling``, ``lifetime_levelled_iterations`` and
  ``lifetime_mean_iterations`` (one row per scheme and leveller).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from plots._style import legend_above
from plots._tables import require


def wear_distribution_figure(table: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Histogram (log counts) of flips per iteration per physical cell, one panel per scheme, one
    curve per leveller."""
    require(table, ("scheme", "leveller", "bin_lo", "bin_hi", "cells"), "the wear distribution figure")
    schemes = list(dict.fromkeys(table["scheme"]))
    cols = min(3, len(schemes))
    rows = -(-len(schemes) // cols)
    fig = Figure(figsize=(4.2 * cols, 3.0 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax, scheme in zip(axes, schemes):
        part = table[table["scheme"] == scheme]
        for leveller, df in part.groupby("leveller", sort=False):
            edges = np.append(df["bin_lo"].to_numpy(), df["bin_hi"].to_numpy()[-1])
            counts = df["cells"].to_numpy(dtype=float)
            ax.stairs(np.where(counts > 0, counts, np.nan), edges, label=str(leveller))
        ax.set_yscale("log")
        ax.set_title(scheme, fontsize=9)
        ax.set_xlabel("flips per iteration of a physical cell", fontsize=8)
        ax.set_ylabel("physical cells (count), log scale", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[len(schemes):]:
        ax.set_visible(False)
    t = "Per-cell wear (steady state of each leveller)"
    fig.suptitle(f"{t}: {title}" if title else t, fontsize=10)
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:   # one legend for every panel, below them
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(handles), 6), frameon=False, fontsize=8)
    return fig


def lifetime_levellers_figure(summary: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Lifetime (iterations to the first physical cell's failure) per scheme under each leveller,
    log scale (points, not bars), with each scheme's mean-wear bound marked."""
    require(summary, ("scheme", "wear_leveling", "lifetime_levelled_iterations", "lifetime_mean_iterations"),
            "the lifetime-per-leveller figure")
    schemes = list(dict.fromkeys(summary["scheme"]))
    levellers = list(dict.fromkeys(summary["wear_leveling"]))
    fig = Figure(figsize=(max(6.0, 1.1 * len(schemes) + 2), 4), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(schemes))
    width = 0.8 / len(levellers)
    for i, lv in enumerate(levellers):
        df = summary[summary["wear_leveling"] == lv].set_index("scheme")
        v = df["lifetime_levelled_iterations"].reindex(schemes).to_numpy(dtype=float)
        ax.plot(x - 0.4 + width * (i + 0.5), np.where(v > 0, v, np.nan), ls="none", marker="o", ms=7,
                label=lv)   # points: a bar on a log axis would start from an arbitrary bottom
    bound = summary.groupby("scheme", sort=False)["lifetime_mean_iterations"].first().reindex(schemes)
    ax.scatter(x, bound.to_numpy(dtype=float), marker="_", s=900, color="black", zorder=3,
               label="mean-wear bound")
    ax.set_xticks(x, schemes)
    ax.set_xlabel("write scheme")
    ax.set_yscale("log")
    ax.set_ylabel("lifetime (iterations), log scale")
    ax.grid(axis="y", alpha=0.3)
    legend_above(ax)
    t = "Lifetime per scheme under each wear leveller"
    fig.suptitle(f"{t}: {title}" if title else t, fontsize=10)
    return fig
