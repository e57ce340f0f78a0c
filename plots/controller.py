"""Figures of the controller policies (scripts/controller_validation.py, docs/validation.md)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from plots._style import legend_above
from plots._tables import require


def read_latency_by_policy_figure(df: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Grouped bars: average queued read latency (ns) per scheme under each policy.
    ``df``: columns scheme, policy, queued_avg_read_latency_ns."""
    require(df, ("scheme", "policy", "queued_avg_read_latency_ns"), "read_latency_by_policy_figure")
    schemes = list(dict.fromkeys(df["scheme"]))
    policies = list(dict.fromkeys(df["policy"]))
    fig = Figure(figsize=(6.4, 3.6), layout="constrained")
    ax = fig.subplots()
    width = 0.8 / len(policies)
    x = np.arange(len(schemes))
    for i, p in enumerate(policies):
        d = df[df["policy"] == p].set_index("scheme").reindex(schemes)
        ax.bar(x + (i - (len(policies) - 1) / 2) * width, d["queued_avg_read_latency_ns"], width, label=p)
    ax.set_xticks(x, schemes)
    ax.set_xlabel("write scheme")
    ax.set_ylabel("average queued read latency (ns)")
    ax.set_title(title or "Read latency under write cancellation and pausing")
    legend_above(ax)
    return fig


def appwom_prereset_figure(df: pd.DataFrame, *, title: str | None = None) -> Figure:
    """AppWOM's queued average write latency relative to PreRESET's against the idle time, one line
    per (access pattern, policy). ``df``: columns pattern, policy, gap_ns, ratio."""
    require(df, ("pattern", "policy", "gap_ns", "ratio"), "appwom_prereset_figure")
    fig = Figure(figsize=(6.4, 3.6), layout="constrained")
    ax = fig.subplots()
    for (pattern, policy), d in df.groupby(["pattern", "policy"], sort=False):
        d = d.sort_values("gap_ns")
        ax.plot(d["gap_ns"] / 1000, (d["ratio"] - 1) * 100, marker="o", label=f"{pattern}, {policy}")
    ax.axhspan(-46, -31, color="grey", alpha=0.2, label="paper: -31 % to -46 %")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("idle time between steps / iterations (us)")
    ax.set_ylabel("AppWOM vs PreRESET, queued avg write latency (%)")
    ax.set_title(title or "When AppWOM's write latency falls below PreRESET's")
    legend_above(ax, ncols=2, fontsize=7)
    return fig
