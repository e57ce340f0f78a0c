"""Result tables of a run: the summary (one row per scheme), flips per bit group, ratios; files.

Tables are tidy pandas DataFrames, written as CSV (for people and spreadsheets)
and Parquet (typed, for programs) side by side: ``summary``, ``bit_flips``,
``ratios`` and any observer's tables. :func:`read_run` reads a results folder
back; ``archsim report`` redraws every figure from these files alone.

Units are in the column names: ``_pj`` picojoules, ``_ns`` nanoseconds; flips
count programmed cells; ``lifetime_iterations`` is in training iterations.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

import archsim
from archsim.errors import ArchsimError
from archsim.outputs import OutputFolder, complete_files

#: The summary's leading columns, in order (``ReplayResult.summary()`` plus the approximation error).
SUMMARY_COLUMNS = (
    "scheme", "iterations", "bit_flips", "set_flips", "reset_flips", "energy_pj", "energy_per_iteration_pj",
    "max_cell_flips", "mean_cell_flips", "lifetime_iterations", "avg_write_latency_ns", "refreshes",
    "silent_writes", "approx_max_rel_error", "approx_mean_rel_error", "approx_inexact_fraction",
)

#: Baselines AppWOM is compared against in the paper (Fig. 10).
PAPER_BASELINES = ("preset", "prereset", "wom-set")

#: Figures of one run: file stem -> plot function name in :mod:`plots`.
RUN_FIGURES = {
    "bit_flips": "bit_flips_figure",
    "energy": "energy_figure",
    "lifetime": "lifetime_figure",
    "write_latency": "write_latency_figure",
}


def summary_row(result, error_columns: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    """One summary row: the stream result's ``summary()``, the approximation error and
    context columns (memory, workload, sizes), the required columns first."""
    base = dict(result.summary())
    base.update(error_columns)
    row = {k: base.pop(k) for k in SUMMARY_COLUMNS if k in base}
    row.update(base)
    for k, v in context.items():
        row.setdefault(k, v)
    return row


def flips_table(scheme: str, result, stream, iterations: int) -> pd.DataFrame:
    """Flips per bit group of a word (paper Figs. 4 and 9), summed over all lines and words.

    ``result``: the scheme's :class:`~archsim.contracts.StreamResult`; ``stream``: its
    :class:`~archsim.contracts.TechnologyStream` (for the cell and group labels).
    Raw schemes: one row per cell = data bit (float32 names S, E1..E8, M1..M23;
    Flip-N-Write adds its flag cells). WOM schemes: one row per 3-cell group,
    labelled by its two data bits ("S+E1", "M2+M13", ...). Columns: ``scheme``,
    ``position`` (0 = first cell or group of the word), ``group``, ``cells``
    (cells in the group), ``flips`` (total), ``share`` (of the scheme's flips),
    ``max_cell_flips`` (most-worn cell of this position), ``flips_per_word_iteration``
    (flips / (words x iterations), padding words included). Empty for a technology
    without per-cell wear.
    """
    per_cell = result.wear_by_cell()
    if per_cell is None:
        return pd.DataFrame()
    per_cell = np.asarray(per_cell, dtype=np.uint64)
    wear = result.cell_wear()
    cell_max = wear.max(axis=(0, 1)) if wear.size else np.zeros_like(per_cell)
    labels = list(stream.cell_labels())
    groups = stream.group_labels()
    if groups is not None:
        groups = list(groups)
        size = per_cell.size // len(groups)
    else:
        groups, size = labels, 1
    flips = per_cell.reshape(len(groups), size).sum(axis=1)
    gmax = cell_max.reshape(len(groups), size).max(axis=1)
    total = int(flips.sum())
    words = int(stream.lines) * int(stream.words)
    its = int(iterations)
    return pd.DataFrame({
        "scheme": scheme,
        "position": np.arange(len(groups)),
        "group": groups,
        "cells": size,
        "flips": flips.astype(np.int64),
        "share": flips / total if total else np.zeros(len(groups)),
        "max_cell_flips": gmax.astype(np.int64),
        "flips_per_word_iteration": flips / (words * its) if words and its else np.zeros(len(groups)),
    })


def ratios(summary: pd.DataFrame, scheme: str = "appwom",
           against: Sequence[str] = PAPER_BASELINES) -> pd.DataFrame:
    """``scheme`` against each baseline present: ratios of energy, lifetime, average write
    latency and bit flips (scheme / baseline), and the paper's percentages
    (energy and latency reduction, lifetime improvement)."""
    s = summary.set_index("scheme")
    if scheme not in s.index:
        return pd.DataFrame()
    rows = []
    for base in against:
        if base not in s.index or base == scheme:
            continue
        a, b = s.loc[scheme], s.loc[base]
        row = {"scheme": scheme, "baseline": base}
        for col, name in (("energy_pj", "energy"), ("lifetime_iterations", "lifetime"),
                          ("avg_write_latency_ns", "avg_write_latency"), ("bit_flips", "bit_flips")):
            if col in s.columns:
                row[f"{name}_ratio"] = _ratio(a[col], b[col])
        if "energy_ratio" in row:
            row["energy_reduction_pct"] = 100 * (1 - row["energy_ratio"])
        if "lifetime_ratio" in row:
            row["lifetime_improvement_pct"] = 100 * (row["lifetime_ratio"] - 1)
        if "avg_write_latency_ratio" in row:
            row["latency_reduction_pct"] = 100 * (1 - row["avg_write_latency_ratio"])
        rows.append(row)
    return pd.DataFrame(rows)


def _ratio(a: Any, b: Any) -> float:
    a, b = float(a), float(b)
    if b == 0 or not np.isfinite(b):
        return float("nan")
    return a / b


# --------------------------------------------------------------------------- files


def write_run(output, folder: OutputFolder, *, figures: bool = True) -> list[Path]:
    """Write a :class:`archsim.run.RunOutput` into ``folder``: tables, figures, ``config.toml``,
    ``run.json`` (the machine-dependent facts: wall-clock seconds, versions), then the manifest."""
    from archsim.run import chunk_iterations

    written: list[Path] = []
    written += folder.table(output.summary, "summary")
    written += folder.table(output.flips, "bit_flips")
    r = ratios(output.summary)
    if not r.empty:
        written += folder.table(r, "ratios")
    for rep in output.reports:
        for name, table in rep.tables.items():
            written += folder.table(table, name)
    written.append(folder.text("config.toml", output.config.to_toml()))
    info = {
        "archsim_version": archsim.__version__,
        "source": output.source_label,
        "model": output.meta.model,
        "trace_learning_rate": output.meta.learning_rate,
        "layout": output.layout.describe(),
        "chunk_iterations_effective": chunk_iterations(output.config, output.layout),
        "seconds": round(output.seconds, 3),
    }
    written.append(folder.text("run.json", json.dumps(info, indent=2, default=str) + "\n"))
    if figures:
        written += draw_run_figures(output.summary, output.flips, folder, title=output.source_label)
        for rep in output.reports:
            for name, fig in rep.figures.items():
                written += folder.figure(fig, name)
    folder.complete()
    return written


def draw_run_figures(summary: pd.DataFrame, flips: pd.DataFrame, folder: OutputFolder, *, title: str | None = None,
                     suffix: str = "") -> list[Path]:
    """The figures of one run (those whose columns the tables have)."""
    import plots

    written = []
    for stem, fn in RUN_FIGURES.items():
        table = flips if stem == "bit_flips" else summary
        try:
            fig = getattr(plots, fn)(table, title=title)
        except plots.MissingColumns:
            continue
        written += folder.figure(fig, stem + suffix)
    return written


def read_table(folder: Path, name: str, files: set[str]) -> pd.DataFrame | None:
    """A table of a results folder among its manifest's ``files`` (Parquet preferred, else CSV); None if absent."""
    pq, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
    try:
        if pq.name in files:
            return pd.read_parquet(pq)
        if csv.name in files:
            return pd.read_csv(csv)
    except Exception as exc:
        raise ArchsimError(f"{pq if pq.is_file() else csv}: cannot be read as a table: {exc}") from None
    return None


def read_run(folder: str | os.PathLike) -> dict[str, Any]:
    """The tables of a complete results folder: ``summary`` (required), ``bit_flips``, ``ratios`` (or None);
    only the files its manifest names are read."""
    folder = Path(folder)
    files = set(complete_files(folder))
    summary = read_table(folder, "summary", files)
    if summary is None:
        raise ArchsimError(f"{folder}: no summary.parquet or summary.csv (not an archsim run folder?)")
    missing = {"scheme"} - set(summary.columns)
    if missing:
        raise ArchsimError(f"{folder}/summary: lacks the column 'scheme'")
    return {"summary": summary, "bit_flips": read_table(folder, "bit_flips", files),
            "ratios": read_table(folder, "ratios", files)}


# --------------------------------------------------------------------------- text


def format_summary(summary: pd.DataFrame) -> str:
    """A readable text table of the main figures, plus AppWOM's ratios to the paper's baselines."""
    cols = [c for c in ("scheme", "bit_flips", "energy_per_iteration_pj", "max_cell_flips", "lifetime_iterations",
                        "avg_write_latency_ns", "refreshes", "silent_writes", "approx_max_rel_error")
            if c in summary.columns]
    extra = [c for c in summary.columns if c.startswith("queued_")]
    df = summary[cols + extra].copy()
    heads = {"bit_flips": "bit flips", "energy_per_iteration_pj": "energy/iter (nJ)",
             "max_cell_flips": "max cell flips", "lifetime_iterations": "lifetime (iter)",
             "avg_write_latency_ns": "avg write (ns)", "silent_writes": "silent writes",
             "approx_max_rel_error": "max rel err"}
    if "energy_per_iteration_pj" in df:
        df["energy_per_iteration_pj"] = df["energy_per_iteration_pj"] / 1e3
    fmt = {
        "bit_flips": "{:,.0f}".format, "energy_per_iteration_pj": "{:,.1f}".format,
        "max_cell_flips": "{:,.0f}".format, "lifetime_iterations": "{:.3g}".format,
        "avg_write_latency_ns": "{:.1f}".format, "refreshes": "{:,.0f}".format,
        "silent_writes": "{:,.0f}".format, "approx_max_rel_error": "{:.2e}".format,
    }
    fmt.update({c: "{:.1f}".format for c in extra if pd.api.types.is_float_dtype(df[c])})
    text = df.rename(columns=heads).to_string(index=False, formatters={heads.get(k, k): v for k, v in fmt.items()})
    r = ratios(summary)
    if not r.empty:
        lines = []
        for _, row in r.iterrows():
            parts = [f"energy {_pct(-row.get('energy_reduction_pct'))}",
                     f"lifetime {_pct(row.get('lifetime_improvement_pct'))}",
                     f"avg write latency {_pct(-row.get('latency_reduction_pct'))}"]
            lines.append(f"  appwom vs {row['baseline']:<9} " + ", ".join(parts))
        text += "\n\n" + "\n".join(lines)
    return text


def _pct(x: Any) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    return f"{x:+.1f}%"
