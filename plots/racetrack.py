"""Racetrack operation counts per scheme (``archsim racetrack --requests``) or per matrix layout
(``archsim racetrack --matrix``), read from ``racetrack.csv``."""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from plots._style import config_caption, eng_unit, legend_above, titled, unit_label
from plots._tables import require

OPERATIONS = ("insertions", "removals", "shifts", "detects")


def racetrack_counts_figure(table: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Operations (left) and total latency (right) per scheme or per layout variant; linear axes from 0,
    units from the data."""
    matrix = "pattern" in table.columns
    if matrix:
        require(table, ("pattern", "variant", "operations", "shifts", "latency_ns"), "the racetrack layout figure")
        labels = [f"{p}\n{v}" for p, v in zip(table["pattern"], table["variant"])]
        counts = {"operations": table["operations"], "shifts": table["shifts"]}
    else:
        require(table, ("scheme", *OPERATIONS, "latency_ns"), "the racetrack counts figure")
        labels = list(table["scheme"])
        counts = {op: table[op] for op in OPERATIONS}
    fig = Figure(figsize=(max(6.5, 1.3 * len(labels) + 3), 3.8), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=(2, 1))
    x = np.arange(len(labels))
    width = 0.8 / len(counts)
    cfactor, cunit = eng_unit(np.concatenate([v.to_numpy(dtype=float) for v in counts.values()]), "")
    for i, (name, values) in enumerate(counts.items()):
        left.bar(x - 0.4 + width * (i + 0.5), values.to_numpy(dtype=float) / cfactor, width, label=name)
    left.set_xticks(x, labels, fontsize=8)
    left.set_xlabel("matrix layout" if matrix else "write scheme")
    left.set_ylabel(unit_label("operations", cunit))
    legend_above(left)
    lfactor, lunit = eng_unit(table["latency_ns"], "ns")
    bars = right.bar(x, table["latency_ns"].to_numpy(dtype=float) / lfactor, 0.6, color="0.45")
    right.bar_label(bars, fmt="%.3g", fontsize=7)
    right.set_xticks(x, labels, fontsize=8, rotation=30 if len(labels) > 4 else 0,
                     ha="right" if len(labels) > 4 else "center")
    right.set_xlabel("matrix layout" if matrix else "write scheme")
    right.set_ylabel(unit_label("total latency", lunit))
    what = "matrix layouts" if matrix else "write schemes"
    fig.suptitle(titled(f"Racetrack {what}", title, config_caption([table])), fontsize=10)
    return fig
