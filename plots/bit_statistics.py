"""Per-bit statistics of float32 weights (the AppWOM paper's Fig. 3).

Both functions read the DataFrame of :func:`workloads.bit_statistics` (columns
``name``, ``ones_fraction``, ``change_rate``; bits S, E1..E8, M1..M23).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

_FIELD_COLOURS = {"S": "tab:red", "E": "tab:orange", "M": "tab:blue"}


def _check(df: pd.DataFrame) -> pd.DataFrame:
    missing = {"name", "ones_fraction", "change_rate"} - set(df.columns)
    if missing:
        raise ValueError(f"bit-statistics table lacks columns {sorted(missing)}")
    if "group" in df.columns and df["group"].nunique() > 1:
        raise ValueError("table has several groups; select one (df[df.group == ...])")
    if len(df) != 32:
        raise ValueError(f"expected 32 bit rows, got {len(df)}")
    return df


def bit_statistics_figure(df: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Two panels over the 32 bit positions: fraction of 1s, and change rate per iteration, both in
    percent on one linear scale (0-100 %)."""
    df = _check(df)
    fig = Figure(figsize=(11, 5.5), layout="constrained")
    ax1, ax2 = fig.subplots(2, 1, sharex=True)
    x = np.arange(32)
    colours = [_FIELD_COLOURS[n[0]] for n in df["name"]]
    ax1.bar(x, df["ones_fraction"] * 100, color=colours)
    ax1.set_ylabel("words with bit = 1 (%)")
    ax1.set_ylim(0, 100)
    ax1.axhline(50, color="grey", lw=0.5)
    rate = df["change_rate"].to_numpy(dtype=float) * 100
    ax2.bar(x, rate, color=colours)
    ax2.set_ylim(0, 100)
    ax2.set_ylabel("change rate per iteration (%)")
    ax2.set_xticks(x, df["name"], rotation=90, fontsize=8)
    ax2.set_xlabel("bit (S = sign, E = exponent, M = mantissa; most significant first)")
    fig.suptitle(title or "Per-bit statistics of float32 weights and biases")
    return fig


def bit_statistics_comparison_figure(tables: Mapping[str, pd.DataFrame], *,
                                     title: str | None = None) -> Figure:
    """Change rate and fraction of 1s per bit of several traces side by side (one line each; both
    panels in percent on one linear scale)."""
    if not tables:
        raise ValueError("no tables to compare")
    fig = Figure(figsize=(11, 5.5), layout="constrained")
    ax1, ax2 = fig.subplots(2, 1, sharex=True)
    x = np.arange(32)
    names = None
    for label, df in tables.items():
        df = _check(df)
        names = df["name"]
        ax1.plot(x, df["ones_fraction"] * 100, marker="o", ms=3, label=label)
        rate = df["change_rate"].to_numpy(dtype=float) * 100
        ax2.plot(x, rate, marker="o", ms=3, label=label)
    ax1.set_ylabel("words with bit = 1 (%)")
    ax1.set_ylim(0, 100)
    ax2.set_ylim(0, 100)
    handles, labels = ax1.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(handles), 6), frameon=False, fontsize=8)
    ax2.set_ylabel("change rate per iteration (%)")
    ax2.set_xticks(x, names, rotation=90, fontsize=8)
    ax2.set_xlabel("bit (most significant first)")
    fig.suptitle(title or "Per-bit statistics compared")
    return fig
