"""Shared conventions of the figures: engineering units, one scale per figure, legends outside the axes.

* :func:`eng_unit` picks the unit of a quantity from the data's magnitude (pJ -> nJ, uJ, mJ, J; ns -> us,
  ms, s; counts -> thousand, million, ...), so that axes read "energy per iteration (uJ)" with values of
  order 1-1000 rather than 2.12e+05 nJ.
* :func:`wants_log` decides ONE scale for a whole figure: a log axis when the positive values span more than
  a factor of 20, else linear from 0. On a log axis, values are drawn as points and lines (a bar on a log
  axis starts at an arbitrary bottom and its length means nothing); bars are drawn only on linear axes.
* :func:`legend_above` puts a legend above the axes, where it cannot hide data.
* :func:`config_caption` names the configuration of a run (memory, workload, iterations, values) from the
  context columns of its summary table.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

#: (unit, factor to the base unit) in increasing order, per base unit.
_LADDERS = {
    "pJ": [("pJ", 1.0), ("nJ", 1e3), ("uJ", 1e6), ("mJ", 1e9), ("J", 1e12)],
    "ns": [("ns", 1.0), ("us", 1e3), ("ms", 1e6), ("s", 1e9)],
    "": [("", 1.0), ("thousand", 1e3), ("million", 1e6), ("billion", 1e9), ("trillion", 1e12)],
}


def eng_unit(values: Iterable[float], base: str, *, ascii: bool = False) -> tuple[float, str]:
    """``(factor, unit)`` for ``values`` given in ``base`` ("pJ", "ns" or "" for a count): divide the values
    by ``factor`` to express them in ``unit``; the largest finite magnitude lies in [1, 1000) where possible."""
    ladder = _LADDERS[base]
    v = np.abs(np.asarray(list(values), dtype=float))
    v = v[np.isfinite(v) & (v > 0)]
    if not v.size:
        return ladder[0][1], ladder[0][0]
    # (console tables pass ascii=True: "uJ"; figures get "µJ")
    top = float(v.max())
    unit, factor = ladder[0]
    for u, f in ladder:
        if top >= f:
            unit, factor = u, f
    return factor, (unit if ascii or unit[:1] != "u" else "\u00b5" + unit[1:])


def unit_label(quantity: str, unit: str, what: str = "") -> str:
    """``"quantity (unit)"``; a count's unit reads "(million iterations)", "(iterations)", "(count)"."""
    if what:
        inner = f"{unit} {what}".strip()
    else:
        inner = unit or "count"
    return f"{quantity} ({inner})"


def wants_log(values: Iterable[float], span: float = 20.0) -> bool:
    """True when the positive finite values span more than ``span`` (then one log axis serves the figure)."""
    v = np.asarray(list(values), dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    return bool(v.size) and float(v.max()) > span * float(v.min())


def legend_above(ax, *, ncols: int | None = None, handles=None, labels=None, fontsize: float = 8) -> None:
    """A legend in a row above the axes (outside them: it hides no data)."""
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    n = len(handles) if ncols is None else ncols
    fig = ax.get_figure()
    if ax.get_title() and fig.get_suptitle() == "":   # the title goes above the legend, not under it
        fig.suptitle(ax.get_title(), fontsize=10)
        ax.set_title("")
    ax.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=min(n, 6), frameon=False,
              fontsize=fontsize, borderaxespad=0.2)


def config_caption(tables: Iterable[pd.DataFrame]) -> str:
    """The configuration the tables came from, e.g. "pcm, lenet-digits, 200 iterations, 19,754 values";
    the parts that differ between tables are left out (they are in the legend)."""
    parts = []
    tables = list(tables)
    for col, fmt in (("memory", "{}"), ("workload", "{}"), ("iterations", "{:,} iterations"),
                     ("n_params", "{:,} values")):
        seen = set()
        for df in tables:
            if col in df.columns:
                seen.update(v for v in df[col].dropna().unique())
        if len(seen) == 1:
            v = next(iter(seen))
            try:
                parts.append(fmt.format(int(v)) if col in ("iterations", "n_params") else fmt.format(v))
            except (TypeError, ValueError):
                parts.append(str(v))
    return ", ".join(parts)


def titled(default: str, title: str | None, caption: str = "") -> str:
    """The figure's title: ``default``, then the caller's ``title`` and the configuration caption."""
    if title and caption and title in caption.split(", "):
        title = None   # the caption names it already
    extra = "; ".join(p for p in (title, caption) if p)
    return f"{default}\n{extra}" if extra else default


def fmt3(v: float) -> str:
    """A value label with three significant digits and no exponent for 0.001 <= |v| < 1e6."""
    if not np.isfinite(v):
        return ""
    if v != 0 and (abs(v) >= 1e6 or abs(v) < 1e-3):
        return f"{v:.3g}"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.3g}"
