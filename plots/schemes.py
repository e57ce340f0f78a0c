"""Energy, lifetime and average write latency per scheme (the AppWOM paper's Fig. 10 a, b, c).

Each function reads a summary table (``summary.csv``/``.parquet`` of a run: one
row per scheme) or a ``{run label: summary}`` mapping, drawn side by side as
grouped bars, and returns a matplotlib Figure.
"""
from __future__ import annotations

from typing import Mapping

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from plots._tables import as_runs, require  # noqa: E402


def _scheme_bars(tables, column: str, ylabel: str, title: str, *, scale: float = 1.0, log: bool = False,
                 baseline: str | None = None) -> Figure:
    runs = as_runs(tables)
    for label, df in runs.items():
        require(df, ("scheme", column), f"the {title.lower()} figure")
    schemes: list[str] = []
    for df in runs.values():
        for s in df["scheme"]:
            if s not in schemes:
                schemes.append(s)
    fig = Figure(figsize=(max(5.5, 1.0 * len(schemes) * max(1, len(runs)) ** 0.5 + 2), 4), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(schemes))
    width = 0.8 / len(runs)
    for i, (label, df) in enumerate(runs.items()):
        values = df.set_index("scheme")[column].reindex(schemes).to_numpy(dtype=float) * scale
        finite = np.where(np.isfinite(values), values, np.nan)
        bars = ax.bar(x - 0.4 + width * (i + 0.5), finite, width, label=label or None)
        if len(runs) == 1:
            for b, v in zip(bars, finite):
                if np.isfinite(v):
                    ax.annotate(f"{v:.3g}", (b.get_x() + b.get_width() / 2, v), ha="center", va="bottom",
                                fontsize=7, xytext=(0, 1), textcoords="offset points")
    ax.set_xticks(x, schemes)
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    if len(runs) > 1:
        ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    return fig


def energy_figure(tables: pd.DataFrame | Mapping[str, pd.DataFrame], *, title: str | None = None) -> Figure:
    """Write energy per iteration (nJ), refresh included (Fig. 10a)."""
    t = "Energy per training iteration (writes and refreshes)"
    return _scheme_bars(tables, "energy_per_iteration_pj", "energy per iteration (nJ)",
                        f"{t}: {title}" if title else t, scale=1e-3)


def lifetime_figure(tables: pd.DataFrame | Mapping[str, pd.DataFrame], *, title: str | None = None) -> Figure:
    """Lifetime in training iterations until the first cell wears out (Fig. 10b)."""
    t = "Lifetime (iterations until the first cell reaches its endurance)"
    return _scheme_bars(tables, "lifetime_iterations", "lifetime (iterations)", f"{t}: {title}" if title else t,
                        log=True)


def write_latency_figure(tables: pd.DataFrame | Mapping[str, pd.DataFrame], *, title: str | None = None) -> Figure:
    """Average (unqueued) write latency of the line writes that program a cell, ns (Fig. 10c)."""
    t = "Average write latency (unqueued)"
    return _scheme_bars(tables, "avg_write_latency_ns", "average write latency (ns)",
                        f"{t}: {title}" if title else t)
