"""Sweep figures: ratios of schemes over swept configuration keys.

Schemes are keyed by (memory, scheme) wherever a table has a ``memory`` column: racetrack ``dcw`` is not
PCM ``dcw``, and a ratio is only ever taken between two schemes of the same memory at the same point.
Ratios are drawn on one logarithmic axis per figure (a ratio of 2 and of 1/2 lie equally far from 1),
as points and lines; the dashed line at 1 marks "equal to the baseline".
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from plots._tables import require

#: Metrics of a sweep's summary that a ratio is taken of: column -> (name, which way is better).
RATIO_METRICS = {
    "energy_pj": ("energy", "lower"),
    "lifetime_iterations": ("lifetime", "higher"),
    "avg_write_latency_ns": ("avg write latency", "lower"),
    "bit_flips": ("bit flips", "lower"),
}


def _memory(table: pd.DataFrame) -> pd.Series:
    return table["memory"].astype(str) if "memory" in table.columns else pd.Series("", index=table.index)


def scheme_ratio_table(table: pd.DataFrame, *, numerator: str, denominator: str, metric: str,
                       keys: list[str], memory: str | None = None) -> pd.DataFrame:
    """``metric`` of ``numerator`` / ``metric`` of ``denominator`` at every point (one row per
    combination of ``keys``), from the combined sweep table (``archsim.sweep.load_results``).
    With a ``memory`` column, only the rows of ``memory`` (required when the table holds several)."""
    require(table, ["scheme", metric, *keys], "the ratio table")
    mem = _memory(table)
    memories = list(dict.fromkeys(mem))
    if memory is None and len(memories) > 1:
        raise ValueError(f"the table holds several memories ({', '.join(memories)}): name one (memory=...)")
    if memory is not None:
        table = table[mem == memory]
    schemes = list(dict.fromkeys(table["scheme"]))
    for role, name in (("numerator", numerator), ("denominator", denominator)):
        if name not in schemes:  # its ratios would all be NaN (an empty figure)
            raise ValueError(f"the ratio table: {role} {name!r} is not a scheme of the table "
                             f"({', '.join(map(str, schemes)) or 'no rows'})")
    a = table[table["scheme"] == numerator].set_index(keys)[metric]
    b = table[table["scheme"] == denominator].set_index(keys)[metric]
    out = (a / b).rename("ratio").reset_index()
    return out.sort_values(keys, kind="stable").reset_index(drop=True)


def scheme_ratio_figure(table: pd.DataFrame, *, numerator: str = "appwom", denominator: str = "wom-set",
                        metric: str = "energy_pj", x: str, hue: str | None = None, col: str | None = None,
                        logx: bool = True, memory: str | None = None, title: str | None = None) -> Figure:
    """Lines of the ratio over ``x``, one per ``hue`` value, one panel per ``col`` value (all panels
    share the y axis); a dashed line marks 1 (the two schemes equal)."""
    keys = [k for k in (x, hue, col) if k]
    r = scheme_ratio_table(table, numerator=numerator, denominator=denominator, metric=metric, keys=keys,
                           memory=memory)
    name, better = RATIO_METRICS.get(metric, (metric, ""))
    cols = list(dict.fromkeys(r[col])) if col else [None]
    fig = Figure(figsize=(4.2 * len(cols) + 0.5, 3.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(cols), squeeze=False, sharey=True)).ravel()
    for ax, c in zip(axes, cols):
        d = r if c is None else r[r[col] == c]
        for h in (dict.fromkeys(d[hue]) if hue else [None]):
            dh = d if h is None else d[d[hue] == h]
            ax.plot(dh[x], dh["ratio"], marker="o", label=None if h is None else f"{hue.split('.')[-1]} = {h}")
        ax.axhline(1.0, color="grey", ls="--", lw=0.8)
        if logx:
            ax.set_xscale("log")
        ax.set_xlabel(x)
        if c is not None:
            ax.set_title(f"{col} = {c}", fontsize=9)
    if hue:
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(handles), 6), frameon=False,
                   fontsize=8)
    hint = f" ({better} is better for {numerator})" if better else ""
    axes[0].set_ylabel(f"{name} ratio {numerator} / {denominator}")
    fig.suptitle((title + "\n" if title else "") + f"{name}: {numerator} / {denominator}{hint}", fontsize=10)
    return fig


def sweep_ratio_table(table: pd.DataFrame, keys: Sequence[str], *, baselines: dict[str, str] | None = None,
                      metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """Every scheme against its memory's baseline at every point of a sweep: one row per point x
    (memory, scheme), the swept ``keys``, ``baseline`` and ``<metric>_ratio`` (scheme / baseline) for each
    metric of :data:`RATIO_METRICS` the table has (``metrics`` to choose). ``baselines``: memory -> scheme
    (default: the first scheme of each memory in the table, e.g. ``preset`` for PCM, ``naive`` for racetrack)."""
    require(table, ["point", "scheme"], "the sweep ratio table")
    metrics = [m for m in (metrics or RATIO_METRICS) if m in table.columns and table[m].notna().any()]
    t = table.assign(memory=_memory(table))
    baselines = dict(baselines or {})
    unknown = sorted(set(baselines) - {""} - set(t["memory"].astype(str)))
    if unknown and "memory" in table.columns:
        raise ValueError(f"baseline memory {unknown[0]!r} has no rows in the sweep (memories: "
                         f"{', '.join(sorted(set(t['memory'].astype(str))))})")
    rows = []
    for mem, part in t.groupby("memory", sort=False):
        base = baselines.get(mem) or baselines.get("") or str(part["scheme"].iloc[0])
        if base not in set(part["scheme"]):
            raise ValueError(f"baseline scheme {base!r} is not in the sweep's {mem or 'table'} rows "
                             f"(schemes: {', '.join(dict.fromkeys(part['scheme']))})")
        ref = part[part["scheme"] == base].set_index("point")
        for _, row in part.iterrows():
            if row["point"] not in ref.index:
                continue
            b = ref.loc[row["point"]]
            out = {"point": row["point"], **{k: row[k] for k in keys}, "memory": mem, "scheme": row["scheme"],
                   "baseline": base}
            for m in metrics:
                num, den = float(row[m]), float(b[m])
                out[f"{RATIO_METRICS[m][0].replace(' ', '_')}_ratio"] = num / den if den and np.isfinite(den) \
                    else float("nan")
            rows.append(out)
    return pd.DataFrame(rows)


def sweep_key_figure(ratios: pd.DataFrame, key: str, keys: Sequence[str], *, title: str | None = None) -> Figure:
    """The scheme ratios of :func:`sweep_ratio_table` against one swept ``key``: one panel per metric
    (one shared log y axis), one colour and marker per (memory, scheme), one line style per combination of
    the other swept keys. The swept values are evenly spaced categories in their sorted order, and the
    series are nudged apart sideways so that equal values do not hide each other."""
    require(ratios, ["memory", "scheme", "baseline", key], "the sweep figure")
    metric_cols = [c for c in ratios.columns if c.endswith("_ratio") and ratios[c].notna().any()]
    if not metric_cols:
        raise ValueError("the sweep table has no metric to take a ratio of")
    # other keys that vary within a memory (a swept run.memory is the memory itself: not a line style)
    others = [k for k in keys if k != key and ratios.groupby("memory")[k].nunique(dropna=False).max() > 1]
    several = ratios["memory"].nunique() > 1
    base_of = dict(zip(ratios["memory"], ratios["baseline"]))
    series = [(m, s) for m, s in dict.fromkeys(zip(ratios["memory"], ratios["scheme"])) if s != base_of[m]]
    try:
        values = sorted(dict.fromkeys(ratios[key]))
    except TypeError:
        values = list(dict.fromkeys(ratios[key]))
    combos = list(dict.fromkeys(tuple(r) for r in ratios[others].itertuples(index=False))) if others else [()]
    lines = [(sk, combo) for sk in series for combo in combos]
    fig = Figure(figsize=(max(3.2, 0.9 + 0.5 * len(values)) * len(metric_cols) + 0.8, 4.3), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(metric_cols), squeeze=False, sharey=True)).ravel()
    palette = [f"C{i}" for i in range(10)] if len(series) <= 10 else \
        [f"tab:{c}" for c in ("blue", "orange", "green", "red", "purple", "brown", "pink", "gray", "olive", "cyan")] + \
        ["navy", "gold", "lime", "maroon", "teal", "coral", "indigo", "khaki", "black", "orchid"]
    markers = "osD^vP*Xh<>p"
    styles = ["-", "--", ":", "-."]
    dodge = 0.5 / max(len(lines), 1)
    for ax, mcol in zip(axes, metric_cols):
        for n, ((mem, scheme), combo) in enumerate(lines):
            d = ratios[(ratios["memory"] == mem) & (ratios["scheme"] == scheme)]
            for k, v in zip(others, combo):
                d = d[d[k] == v]
            if d.empty or not d[mcol].notna().any():
                continue
            xs = np.array([values.index(v) for v in d[key]], dtype=float)
            order = np.argsort(xs, kind="stable")
            y = d[mcol].to_numpy(dtype=float)[order]
            i = series.index((mem, scheme))
            label = f"{scheme} ({mem})" if several else scheme
            if others:
                label += " | " + ", ".join(f"{k} = {v}" for k, v in zip(others, combo))
            ax.plot(xs[order] + (n - (len(lines) - 1) / 2) * dodge, np.where(y > 0, y, np.nan),
                    marker=markers[i % len(markers)], ms=5, color=palette[i % len(palette)],
                    ls=styles[combos.index(combo) % len(styles)], lw=1.2, label=label)
        ax.axhline(1.0, color="grey", ls="--", lw=0.8)
        name = mcol.removesuffix("_ratio").replace("_", " ")
        better = next((b for nm, b in RATIO_METRICS.values() if nm == name), "")
        ax.set_title(f"{name} ({better} is better)" if better else name, fontsize=9)
        ax.set_xticks(range(len(values)), [str(v) for v in values], rotation=30 if len(values) > 5 else 0)
        ax.set_xlim(-0.5, len(values) - 0.5)
        ax.set_xlabel(key)
        ax.grid(alpha=0.3)
    axes[0].set_yscale("log")   # shared by every panel
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    axes[0].yaxis.set_major_formatter(plain)
    axes[0].yaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if f"{v:.0e}"[0] in "235" else ""))
    axes[0].set_ylabel("ratio to the baseline, log scale")
    basetext = ", ".join(f"{b} ({m})" if several else b for m, b in base_of.items())
    handles, labels = axes[0].get_legend_handles_labels()
    for ax in axes[1:]:        # a series missing from the first panel (e.g. no lifetime) still gets a key
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(handles), 4), frameon=False,
                   fontsize=8)
    t = f"Each scheme / {basetext} against {key}"
    fig.suptitle(f"{t}\n{title}" if title else t, fontsize=10)
    return fig
