"""DAP figures: training accuracy against the lossy-SET retention time.

Reads a tidy table (as written by ``scripts/dap_validation.py``): ``retention_s``, ``seed``,
``scheme`` and ``test_accuracy`` (%), one row per run; the baseline's rows (exact storage, no
retention) have ``retention_s`` NaN and are drawn as a band.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from plots._tables import require


def retention_sweep_figure(table: pd.DataFrame, *, lifetime_s: float | None = None,
                           iteration_time_s: float | None = None, title: str | None = None,
                           ylim: tuple[float, float] | None = None) -> Figure:
    """Test accuracy (mean and per-seed points) of each lossy scheme against ``retention_s`` (log axis),
    with the baseline's range across seeds as a band; optional vertical lines at the longest
    intermediate lifetime and at the iteration time. ``ylim``: the accuracy axis (default: from 2
    points below the lowest accuracy, in steps of 5, to 100)."""
    require(table, ("retention_s", "seed", "scheme", "test_accuracy"), "the retention sweep figure")
    fig = Figure(figsize=(6.4, 4.0), layout="constrained")
    ax = fig.subplots()
    base = table[table["retention_s"].isna()]
    if len(base):
        lo, hi, mean = base["test_accuracy"].min(), base["test_accuracy"].max(), base["test_accuracy"].mean()
        ax.axhspan(lo, hi, color="0.85", label=f"baseline (seeds' range, mean {mean:.1f} %)")
    swept = table[table["retention_s"].notna()]
    for scheme, df in swept.groupby("scheme", sort=False):
        g = df.groupby("retention_s")["test_accuracy"]
        line, = ax.plot(g.mean().index, g.mean().values, marker="o", lw=1.6, label=f"{scheme} (mean)")
        ax.scatter(df["retention_s"], df["test_accuracy"], s=10, color=line.get_color(), alpha=0.5)
    if lifetime_s:
        ax.axvline(lifetime_s, color="tab:red", ls="--", lw=1, label=f"longest intermediate lifetime {lifetime_s * 1e3:.1f} ms")
    if iteration_time_s:
        ax.axvline(iteration_time_s, color="tab:gray", ls=":", lw=1, label=f"iteration time {iteration_time_s * 1e3:.0f} ms")
    ax.set_xscale("log")
    ax.set_xlabel("dap.retention_s (s)")
    ax.set_ylabel("test accuracy (%)")
    if ylim is None:
        lo = float(np.nanmin(table["test_accuracy"])) - 2
        ylim = (max(0.0, 5 * np.floor(lo / 5)), 100.0)
    ax.set_ylim(*ylim)
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="lower right", fontsize=8)
    if title:
        ax.set_title(title)
    return fig
