"""Figures of the timing model: per-bank latency, utilisation and wear; the idle-gap knee."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def bank_figure(results: dict):
    """Three panels over the banks, one bar per scheme: average write latency (queued, ns),
    utilisation, mean cell flips. ``results``: scheme -> TimingResult."""
    fig, axes = plt.subplots(3, 1, figsize=(10, 8), sharex=True)
    schemes = list(results)
    width = 0.8 / max(len(schemes), 1)
    labels = None
    for i, (s, r) in enumerate(results.items()):
        df = r.per_bank
        labels = list(df["bank"])
        x = np.arange(len(df)) + (i - (len(schemes) - 1) / 2) * width
        axes[0].bar(x, df["write_avg_latency_ns"], width, label=s)
        axes[1].bar(x, df["utilisation"], width, label=s)
        if "mean_cell_flips" in df:
            axes[2].bar(x, df["mean_cell_flips"], width, label=s)
    axes[0].set_ylabel("avg write latency (ns)\nqueued")
    axes[1].set_ylabel("utilisation")
    axes[2].set_ylabel("mean cell flips")
    axes[2].set_xticks(np.arange(len(labels or [])))
    axes[2].set_xticklabels(labels or [], rotation=90, fontsize=7)
    axes[0].legend(ncol=min(len(schemes), 6), fontsize=8)
    fig.suptitle("Per-bank write latency, utilisation and wear")
    fig.tight_layout()
    return fig


def knee_figure(sweep: pd.DataFrame, *, set_ns: float | None = None, reset_ns: float | None = None):
    """Average write latency against the idle gap per iteration (log x), one line per scheme:
    device latency (service, including inline refreshes) and queued latency."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for s, df in sweep.groupby("scheme", sort=False):
        df = df.sort_values("gap_ns")
        axes[0].plot(df["gap_ns"] / 1000, df["device_avg_write_latency_ns"], marker="o", ms=3, label=s)
        axes[1].plot(df["gap_ns"] / 1000, df["queued_avg_write_latency_ns"], marker="o", ms=3, label=s)
    for ax, title in zip(axes, ("device write latency (service + inline refresh)", "queued write latency")):
        ax.set_xscale("log")
        ax.set_xlabel("idle gap per iteration (us)")
        ax.set_ylabel("average write latency (ns)")
        ax.set_title(title, fontsize=10)
        for y, lab in ((set_ns, "SET"), (reset_ns, "RESET")):
            if y:
                ax.axhline(y, color="grey", lw=0.8, ls="--")
                ax.text(ax.get_xlim()[0], y, f" {lab}", va="bottom", fontsize=8, color="grey")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig
