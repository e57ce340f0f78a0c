"""Figures of the ``archsim analog`` tables: accuracy curves, accuracy vs a device key, vs ADC bits, per preset.

Every figure shows the mean over seeds with the spread (one standard deviation, error bars or a band)
and the software baseline of the same network (dashed).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from plots._style import legend_above
from plots._tables import require


def _agg(df: pd.DataFrame, by: list[str], col: str = "test_accuracy") -> pd.DataFrame:
    g = df.groupby(by, sort=False)[col]
    return pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=1).fillna(0.0), "n": g.size()}).reset_index()


def accuracy_curves_figure(curves: pd.DataFrame) -> Figure:
    """Test accuracy per epoch of every preset x optimiser (x ADC bits), mean over seeds; baselines dashed."""
    require(curves, ["kind", "preset", "optimizer", "adc_bits", "epoch", "test_accuracy"], "analog curves")
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.subplots()
    insitu = curves[curves["kind"] == "in-situ"]
    multi_adc = insitu["adc_bits"].nunique() > 1
    for (preset, opt, bits), df in insitu.groupby(["preset", "optimizer", "adc_bits"], sort=False):
        a = _agg(df, ["epoch"])
        label = f"{preset} / {opt}" + (f" / {bits}-bit ADC" if multi_adc else "")
        line, = ax.plot(a["epoch"], a["mean"], lw=1.4, label=label)
        ax.fill_between(a["epoch"], a["mean"] - a["std"], a["mean"] + a["std"], color=line.get_color(), alpha=0.15)
    for opt, df in curves[curves["kind"] == "baseline"].groupby("optimizer", sort=False):
        a = _agg(df, ["epoch"])
        ax.plot(a["epoch"], a["mean"], "k--", lw=1.0, label=f"software / {opt}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    legend_above(ax, ncols=3, fontsize=7)
    fig.suptitle("in-situ training on digits", fontsize=10)
    return fig


def accuracy_vs_key_figure(table: pd.DataFrame, col: str) -> Figure:
    """Test accuracy against one device key (``ltd_label``, ``sigma_c2c``, ...), one line per optimiser."""
    require(table, [col, "optimizer", "test_accuracy", "baseline_accuracy"], "analog table")
    fig = Figure(figsize=(5.6, 4.0), layout="constrained")
    ax = fig.subplots()
    for opt, df in table.groupby("optimizer", sort=False):
        a = _agg(df, [col]).sort_values(col)
        ax.errorbar(a[col], a["mean"], yerr=a["std"], marker="o", capsize=3, label=f"in situ / {opt}")
    b = _agg(table, ["optimizer"], "baseline_accuracy")
    for _, r in b.iterrows():
        ax.axhline(r["mean"], ls="--", lw=0.9, color="k")
    ax.set_xlabel(col.replace("_", " "))
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3)
    legend_above(ax)
    fig.suptitle(f"accuracy vs {col.replace('_', ' ')} (dashed: software)", fontsize=10)
    return fig


def accuracy_vs_adc_bits_figure(table: pd.DataFrame) -> Figure:
    """Test accuracy against ADC bits (0 = ideal readout, drawn at the right), per preset x optimiser."""
    require(table, ["adc_bits", "preset", "optimizer", "test_accuracy", "baseline_accuracy"], "analog table")
    fig = Figure(figsize=(5.6, 4.0), layout="constrained")
    ax = fig.subplots()
    t = table.copy()
    top = int(t.loc[t["adc_bits"] > 0, "adc_bits"].max()) if (t["adc_bits"] > 0).any() else 8
    t["x"] = np.where(t["adc_bits"] == 0, top + 2, t["adc_bits"])
    for (preset, opt), df in t.groupby(["preset", "optimizer"], sort=False):
        a = _agg(df, ["x"]).sort_values("x")
        ax.errorbar(a["x"], a["mean"], yerr=a["std"], marker="o", capsize=3, label=f"{preset} / {opt}")
    ax.axhline(t["baseline_accuracy"].mean(), ls="--", color="k", lw=0.9, label="software")
    ticks = sorted(t["x"].unique())
    ax.set_xticks(ticks, [("ideal" if x == top + 2 else str(int(x))) for x in ticks])
    ax.set_xlabel("ADC bits")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3)
    legend_above(ax)
    fig.suptitle("accuracy vs ADC resolution", fontsize=10)
    return fig


def accuracy_per_preset_figure(table: pd.DataFrame) -> Figure:
    """Final test accuracy per preset, one bar per optimiser, error bars over seeds; software dashed."""
    require(table, ["preset", "optimizer", "test_accuracy", "baseline_accuracy"], "analog table")
    presets = list(dict.fromkeys(table["preset"]))
    opts = list(dict.fromkeys(table["optimizer"]))
    fig = Figure(figsize=(max(5.0, 0.9 * len(presets) * max(1, len(opts)) / 1.5), 4.0), layout="constrained")
    ax = fig.subplots()
    width = 0.8 / len(opts)
    for i, opt in enumerate(opts):
        a = _agg(table[table["optimizer"] == opt], ["preset"]).set_index("preset").reindex(presets)
        ax.bar(np.arange(len(presets)) + (i - (len(opts) - 1) / 2) * width, a["mean"], width, yerr=a["std"],
               capsize=3, label=opt)
    ax.axhline(table["baseline_accuracy"].mean(), ls="--", color="k", lw=0.9, label="software")
    ax.set_xticks(np.arange(len(presets)), presets, rotation=30, ha="right")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3, axis="y")
    legend_above(ax)
    fig.suptitle("in-situ accuracy per device", fontsize=10)
    return fig
