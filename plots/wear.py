"""Wear levelling figures: the per-cell wear distribution and the lifetime of each scheme under each leveller.

Both read tidy tables (as written by ``scripts/wear_levelling.py``):

* ``wear_distribution``: ``scheme``, ``leveller``, ``bin_lo``, ``bin_hi`` (flips per iteration of a
  physical cell, in the leveller's steady state), ``cells`` (physical cells in the bin);
* a summary with ``scheme``, ``wear_leveling``, ``lifetime_levelled_iterations`` and
  ``lifetime_mean_iterations`` (one row per scheme and leveller).
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from plots._tables import require  # noqa: E402


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
        ax.set_ylabel("cells", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
    for ax in axes[len(schemes):]:
        ax.set_visible(False)
    t = "Per-cell wear (steady state of each leveller)"
    fig.suptitle(f"{t}: {title}" if title else t, fontsize=10)
    return fig


def lifetime_levellers_figure(summary: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Lifetime (iterations to the first physical cell's failure) per scheme under each leveller,
    log scale, with each scheme's mean-wear bound marked."""
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
        ax.bar(x - 0.4 + width * (i + 0.5), v, width, label=lv)
    bound = summary.groupby("scheme", sort=False)["lifetime_mean_iterations"].first().reindex(schemes)
    ax.scatter(x, bound.to_numpy(dtype=float), marker="_", s=900, color="black", zorder=3,
               label="mean-wear bound")
    ax.set_xticks(x, schemes)
    ax.set_yscale("log")
    ax.set_ylabel("lifetime (iterations)")
    ax.legend(fontsize=8)
    t = "Lifetime per scheme under each wear leveller"
    ax.set_title(f"{t}: {title}" if title else t, fontsize=10)
    return fig
