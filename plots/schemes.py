"""Energy, lifetime and average write latency per scheme (the AppWOM paper's Fig. 10 a, b, c).

Each function reads a summary table (``summary.csv``/``.parquet`` of a run: one
row per scheme) or a ``{run label: summary}`` mapping, drawn side by side, and
returns a :class:`matplotlib.figure.Figure`. Schemes are keyed by (memory,
scheme): racetrack ``dcw`` and PCM ``dcw`` are different bars. The unit is
chosen from the data (pJ -> nJ, uJ, mJ; ns -> us); the axis is linear with
bars from 0 unless the values span more than a factor of 20, then it is
logarithmic with points (no bars on a log axis). The configuration (memory,
workload, iterations) is in the title.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from plots._style import config_caption, eng_unit, fmt3, legend_above, titled, unit_label, wants_log
from plots._tables import as_runs, require


def scheme_keys(runs: Mapping[str, pd.DataFrame]) -> tuple[list[tuple[str, str]], bool]:
    """The (memory, scheme) pairs of the tables in order of appearance, and whether several memories occur."""
    keys: list[tuple[str, str]] = []
    for df in runs.values():
        mem = df["memory"].astype(str) if "memory" in df.columns else pd.Series([""] * len(df), index=df.index)
        for m, s in zip(mem, df["scheme"].astype(str)):
            if (m, s) not in keys:
                keys.append((m, s))
    return keys, len({m for m, _ in keys}) > 1


def _values(df: pd.DataFrame, column: str, keys: list[tuple[str, str]]) -> np.ndarray:
    mem = df["memory"].astype(str) if "memory" in df.columns else pd.Series([""] * len(df), index=df.index)
    index = pd.MultiIndex.from_arrays([mem, df["scheme"].astype(str)])
    s = pd.Series(df[column].to_numpy(dtype=float), index=index)
    s = s[~s.index.duplicated()]
    return s.reindex(pd.MultiIndex.from_tuples(keys)).to_numpy(dtype=float)


def _scheme_figure(tables, column: str, quantity: str, base: str, what: str, default_title: str,
                   title: str | None) -> Figure:
    runs = as_runs(tables)
    for df in runs.values():
        require(df, ("scheme",), f"the {default_title.lower()} figure")
    # a run whose memory reports no such column (racetrack: no lifetime) is left out; none: MissingColumns
    with_column = {label: df for label, df in runs.items() if column in df.columns}
    if not with_column:
        require(next(iter(runs.values())), (column,), f"the {default_title.lower()} figure")
    runs = with_column
    keys, several_memories = scheme_keys(runs)
    data = {label: _values(df, column, keys) for label, df in runs.items()}
    every = np.concatenate(list(data.values()))
    log = wants_log(every)
    factor, unit = (1.0, "") if log and base == "" else eng_unit(every, base)
    fig = Figure(figsize=(max(5.5, 0.9 * len(keys) * max(1, len(runs)) ** 0.5 + 2), 4.2), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(keys))
    # each scheme's slot is shared by the runs that have it (a PCM and a racetrack run: full-width bars)
    have = np.array([np.isfinite(v) for v in data.values()])          # runs x keys
    count = np.maximum(have.sum(axis=0), 1)
    rank = np.cumsum(have, axis=0) - 1
    width_k = 0.8 / count
    for i, (label, values) in enumerate(data.items()):
        v = np.where(np.isfinite(values), values / factor, np.nan)
        xi = x - 0.4 + width_k * (rank[i] + 0.5)
        if log:   # points on a log axis: a bar there would start from an arbitrary bottom
            ax.plot(xi, np.where(v > 0, v, np.nan), ls="none", marker="o", ms=7, label=label or None)
        else:
            ax.bar(xi, v, width_k, label=label or None)
        if len(runs) == 1:
            for xx, vv in zip(xi, v):
                if np.isfinite(vv):
                    ax.annotate(fmt3(vv), (xx, vv), ha="center", va="bottom", fontsize=7, xytext=(0, 3),
                                textcoords="offset points")
    ax.set_xticks(x, [f"{s}\n({m})" if several_memories else s for m, s in keys])
    ax.set_xlabel("write scheme")
    if log:
        ax.set_yscale("log")
        ax.set_ylabel(unit_label(quantity, unit, what) + ", log scale")
        ax.grid(axis="y", which="major", alpha=0.3)
    else:
        ax.set_ylim(0, (np.nanmax(every / factor) if np.isfinite(every).any() else 1) * 1.12)
        ax.set_ylabel(unit_label(quantity, unit, what))
    if len(runs) > 1:
        legend_above(ax)
    fig.suptitle(titled(default_title, title, config_caption(runs.values())), fontsize=10)
    return fig


def energy_figure(tables: pd.DataFrame | Mapping[str, pd.DataFrame], *, title: str | None = None) -> Figure:
    """Write energy per training iteration, refreshes included (Fig. 10a); unit from the data (nJ, uJ, ...)."""
    return _scheme_figure(tables, "energy_per_iteration_pj", "energy per iteration", "pJ", "",
                          "Energy per training iteration (writes and refreshes)", title)


def lifetime_figure(tables: pd.DataFrame | Mapping[str, pd.DataFrame], *, title: str | None = None) -> Figure:
    """Lifetime in training iterations until the first cell wears out (Fig. 10b)."""
    return _scheme_figure(tables, "lifetime_iterations", "lifetime", "", "iterations",
                          "Lifetime (iterations until the first cell reaches its endurance)", title)


def write_latency_figure(tables: pd.DataFrame | Mapping[str, pd.DataFrame], *, title: str | None = None) -> Figure:
    """Average (unqueued) write latency of the line writes that program a cell (Fig. 10c)."""
    return _scheme_figure(tables, "avg_write_latency_ns", "average write latency", "ns", "",
                          "Average write latency (unqueued)", title)
