"""Figures of the timing model: per-bank write latency, utilisation and wear; the idle-gap knee.

``timing_banks_figure`` reads the ``timing_banks`` table of a ``archsim run --timing`` or ``archsim timing
run`` folder (one row per scheme and bank); ``gap_knee_figure`` the ``sweep_gap`` table of ``archsim timing
sweep-gap``. Both return a :class:`matplotlib.figure.Figure`; every axis is linear (bars from 0) except the
knee's idle-gap axis (log, lines and points).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from plots._style import eng_unit, legend_above, unit_label
from plots._tables import require


def timing_banks_figure(banks: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Three panels over the banks, one bar per scheme: average queued write latency, utilisation (%)
    and mean cell flips (when the table has them)."""
    require(banks, ("scheme", "bank", "write_avg_latency_ns", "utilisation"), "the per-bank timing figure")
    schemes = list(dict.fromkeys(banks["scheme"]))
    labels = list(dict.fromkeys(banks["bank"]))
    factor, unit = eng_unit(banks["write_avg_latency_ns"], "ns")
    panels = [("write_avg_latency_ns", 1 / factor, unit_label("avg write latency, queued", unit)),
              ("utilisation", 100.0, "bank utilisation (%)")]
    if "mean_cell_flips" in banks.columns and banks["mean_cell_flips"].notna().any():
        panels.append(("mean_cell_flips", 1.0, "mean cell flips (count)"))
    fig = Figure(figsize=(max(8.0, 0.09 * len(labels) * len(schemes) + 2), 2.4 * len(panels) + 1.2),
                 layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(panels), 1, sharex=True, squeeze=False)).ravel()
    width = 0.8 / max(len(schemes), 1)
    x = np.arange(len(labels))
    for i, s in enumerate(schemes):
        d = banks[banks["scheme"] == s].set_index("bank").reindex(labels)
        for ax, (col, scale, _) in zip(axes, panels):
            ax.bar(x + (i - (len(schemes) - 1) / 2) * width, d[col].to_numpy(dtype=float) * scale, width, label=s)
    for ax, (_, _, ylabel) in zip(axes, panels):
        ax.set_ylabel(ylabel, fontsize=8)
        ax.set_ylim(bottom=0)
        ax.grid(axis="y", alpha=0.3)
    axes[-1].set_xticks(x, labels, rotation=90, fontsize=7)
    axes[-1].set_xlabel("bank (controller.rank.bank)")
    legend_above(axes[0])
    t = "Per-bank write latency, utilisation and wear (timing model)"
    fig.suptitle(f"{t}\n{title}" if title else t, fontsize=10)
    return fig


def gap_knee_figure(sweep: pd.DataFrame, *, set_ns: float | None = None, reset_ns: float | None = None,
                    title: str | None = None) -> Figure:
    """Average write latency against the idle gap per iteration (log x), one line per scheme: device
    latency (service, including inline refreshes) and queued latency, on one shared linear y axis."""
    require(sweep, ("scheme", "gap_ns", "device_avg_write_latency_ns", "queued_avg_write_latency_ns"),
            "the idle-gap figure")
    fig = Figure(figsize=(11, 4.4), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    gfactor, gunit = eng_unit(sweep["gap_ns"], "ns")
    for s, df in sweep.groupby("scheme", sort=False):
        df = df.sort_values("gap_ns")
        axes[0].plot(df["gap_ns"] / gfactor, df["device_avg_write_latency_ns"], marker="o", ms=3, label=s)
        axes[1].plot(df["gap_ns"] / gfactor, df["queued_avg_write_latency_ns"], marker="o", ms=3, label=s)
    for ax, name in zip(axes, ("device write latency (service + inline refresh)", "queued write latency")):
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_xlabel(unit_label("idle gap per iteration", gunit) + ", log scale")
        ax.set_title(name, fontsize=9)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        for y, lab in ((set_ns, "SET"), (reset_ns, "RESET")):
            if y:
                ax.axhline(y, color="grey", lw=0.8, ls="--")
                ax.annotate(f" {lab}", (0, y), xycoords=("axes fraction", "data"), va="bottom", fontsize=8,
                            color="grey")
    axes[0].set_ylabel("average write latency (ns)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(handles), 6), frameon=False, fontsize=8)
    t = "Average write latency against the idle time per iteration"
    fig.suptitle(f"{t}\n{title}" if title else t, fontsize=10)
    return fig
