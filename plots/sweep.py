"""Sweep figures: a ratio of two schemes over swept configuration keys."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from plots._tables import require  # noqa: E402


def scheme_ratio_table(table: pd.DataFrame, *, numerator: str, denominator: str, metric: str,
                       keys: list[str]) -> pd.DataFrame:
    """``metric`` of ``numerator`` / ``metric`` of ``denominator`` at every point (one row per
    combination of ``keys``), from the combined sweep table (``archsim.sweep.load_results``)."""
    require(table, ["scheme", metric, *keys], "the ratio table")
    a = table[table["scheme"] == numerator].set_index(keys)[metric]
    b = table[table["scheme"] == denominator].set_index(keys)[metric]
    out = (a / b).rename("ratio").reset_index()
    return out.sort_values(keys, kind="stable").reset_index(drop=True)


def scheme_ratio_figure(table: pd.DataFrame, *, numerator: str = "appwom", denominator: str = "wom-set",
                        metric: str = "energy_pj", x: str, hue: str | None = None, col: str | None = None,
                        logx: bool = True, title: str | None = None) -> Figure:
    """Lines of the ratio over ``x``, one per ``hue`` value, one panel per ``col`` value;
    a dashed line marks 1 (the two schemes equal): below it ``numerator`` wins."""
    keys = [k for k in (x, hue, col) if k]
    r = scheme_ratio_table(table, numerator=numerator, denominator=denominator, metric=metric, keys=keys)
    cols = list(dict.fromkeys(r[col])) if col else [None]
    fig = Figure(figsize=(4.2 * len(cols) + 0.5, 3.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(cols), squeeze=False, sharey=True)).ravel()
    for ax, c in zip(axes, cols):
        d = r if c is None else r[r[col] == c]
        for h in (dict.fromkeys(d[hue]) if hue else [None]):
            dh = d if h is None else d[d[hue] == h]
            ax.plot(dh[x], dh["ratio"], marker="o", label=None if h is None else f"{hue.split('.')[-1]} = {h}")
        ax.axhline(1.0, color="grey", ls="--", lw=0.8)
        if logx:
            ax.set_xscale("log")
        ax.set_xlabel(x.split(".")[-1])
        if c is not None:
            ax.set_title(f"{col.split('.')[-1]} = {c}", fontsize=9)
        if hue:
            ax.legend(fontsize=7)
    axes[0].set_ylabel(f"{metric} {numerator} / {denominator}")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
