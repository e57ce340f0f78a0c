"""Bit flips per bit group of a word, one panel per scheme (the AppWOM paper's Figs. 4 and 9).

Reads the ``bit_flips`` table of a run (columns ``scheme``, ``position``,
``group``, ``flips``): raw schemes have one value per data bit (S, E1..E8,
M1..M23), WOM schemes one per 3-cell group ("S+E1", "M2+M13", ...).

The panels share one y axis (scale and limits), so schemes compare at a glance: a log axis with points
when the values span more than a factor of 20 (a raw scheme's MSBs against its LSBs), else a linear axis
with bars from 0. Groups that never flip are marked below the axis on a log scale (zero has no place on it).
"""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import blended_transform_factory

from plots._style import config_caption, eng_unit, titled, wants_log
from plots._tables import as_runs, require

_FIELDS = {"S": ("tab:red", "sign"), "E": ("tab:orange", "exponent"), "M": ("tab:blue", "mantissa"),
           "f": ("tab:green", "flag cell")}


def _colour(label: str) -> str:
    first = label.split("+")[0]
    return _FIELDS.get(first[:1], ("tab:grey", ""))[0]


def bit_flips_figure(tables: pd.DataFrame | Mapping[str, pd.DataFrame], *, title: str | None = None,
                     per_word_iteration: bool = False) -> Figure:
    """One panel per scheme (and run): flips of each bit group, all panels on one shared y axis.

    ``per_word_iteration`` plots ``flips_per_word_iteration`` (comparable across
    model sizes and run lengths) instead of total flips.
    """
    runs = as_runs(tables)
    column = "flips_per_word_iteration" if per_word_iteration else "flips"
    panels = []
    for label, df in runs.items():
        require(df, ("scheme", "position", "group", column), "the bit-flips figure")
        for scheme in dict.fromkeys(df["scheme"]):
            panels.append((f"{scheme} ({label})" if label else scheme, df[df["scheme"] == scheme]))
    if not panels:
        raise ValueError("the bit-flips table is empty")
    every = np.concatenate([d[column].to_numpy(dtype=float) for _, d in panels])
    log = wants_log(every)
    factor, unit = (1.0, "") if (log or per_word_iteration) else eng_unit(every, "")
    if per_word_iteration:
        ylabel = "flips per word and iteration"
    else:
        ylabel = f"bit flips ({unit})" if unit else "bit flips (count)"
    ncol = 2 if len(panels) > 1 else 1
    nrow = math.ceil(len(panels) / ncol)
    fig = Figure(figsize=(7 * ncol, 2.5 * nrow + 1.0), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False, sharey=True)).ravel()
    used = set()
    for ax, (name, d) in zip(axes, panels):
        d = d.sort_values("position")
        values = d[column].to_numpy(dtype=float) / factor
        x = np.arange(len(d))
        colours = [_colour(g) for g in d["group"]]
        used.update(str(g).split("+")[0][:1] for g in d["group"])
        if log:
            pos = values > 0
            data = np.array([not str(g).startswith("flag") for g in d["group"]])   # no line to the flag cells
            ax.plot(x, np.where(pos & data, values, np.nan), color="0.6", lw=0.8, zorder=1)
            ax.scatter(x[pos], values[pos], c=[c for c, p in zip(colours, pos) if p], s=18, zorder=2)
            if (~pos).any():   # zero flips: a hollow marker on the bottom edge
                ax.scatter(x[~pos], np.zeros(int((~pos).sum())), marker="v", facecolors="none",
                           edgecolors=[c for c, p in zip(colours, pos) if not p], s=22, clip_on=False, zorder=3,
                           transform=blended_transform_factory(ax.transData, ax.transAxes))
        else:
            ax.bar(x, values, color=colours)
        ax.set_title(name, fontsize=9)
        ax.set_xticks(x, d["group"], rotation=90, fontsize=6 if len(d) > 20 else 7)
        ax.set_xlim(-0.7, len(d) - 0.3)
        ax.tick_params(axis="y", labelsize=7)
        ax.grid(axis="y", alpha=0.3)
    if log:
        axes[0].set_yscale("log")   # shared: every panel
        for ax in axes:             # decades (ticks and grid) only: the minor ticks of six to eight log panels
            ax.minorticks_off()     # are half of the figure's drawing time, and say little at this size
    else:
        top = np.nanmax(every / factor) if np.isfinite(every).any() else 1.0
        axes[0].set_ylim(0, top * 1.08)
    for i, ax in enumerate(axes[:len(panels)]):
        if i % ncol == 0:
            ax.set_ylabel(ylabel + (", log scale" if log else ""), fontsize=8)
        if i >= len(panels) - ncol:
            ax.set_xlabel("bit group (most significant first)", fontsize=8)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    handles = [Line2D([], [], ls="none", marker="s", color=_FIELDS[k][0], label=_FIELDS[k][1])
               for k in _FIELDS if k in used]
    if log and (every == 0).any():
        handles.append(Line2D([], [], ls="none", marker="v", markerfacecolor="none", color="0.3",
                              label="no flips"))
    t = "Bit flips per bit group (cells of a group summed over all words)"
    fig.suptitle(titled(t, title, config_caption(runs.values())), fontsize=10)
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False, fontsize=8)
    return fig
