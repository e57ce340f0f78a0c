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
import signal
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

import archsim
from archsim.errors import ArchsimError
from archsim.outputs import FIGURE_DPI, FIGURE_FORMATS, OutputFolder, complete_files, lay_out, save_figure

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
    "operations": "racetrack_counts_figure",     # racetrack: insertions, removals, shifts, detects
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


def ratios(summary: pd.DataFrame, scheme: str | None = None,
           against: Sequence[str] = PAPER_BASELINES) -> pd.DataFrame:
    """``scheme`` (default AppWOM) against each baseline present: ratios of energy, lifetime, average write
    latency and bit flips (scheme / baseline), and the paper's percentages
    (energy and latency reduction, lifetime improvement). Empty when AppWOM (the default) is not in the table;
    a scheme named and not in it is an error naming the schemes that are.

    A sweep's combined table (:func:`archsim.sweep.load_results`: a ``point`` column, one row per point x
    scheme) gives the ratios of every point, each row led by the point and its swept keys (the columns
    before ``scheme``)."""
    if not isinstance(summary, pd.DataFrame) or "scheme" not in summary.columns:
        got = type(summary).__name__ if not isinstance(summary, pd.DataFrame) else "a table without a scheme column"
        raise TypeError(f"ratios needs a summary table with a scheme column, not {got}")
    if scheme is not None and scheme not in set(summary["scheme"]):
        raise ValueError(f"ratios: scheme {scheme!r} is not in the table (its schemes: "
                         f"{', '.join(map(str, dict.fromkeys(summary['scheme'])))})")
    scheme = "appwom" if scheme is None else scheme
    if "point" not in summary.columns:
        repeated = summary["scheme"][summary["scheme"].duplicated()]
        if not repeated.empty:
            raise ValueError(f"ratios: the table holds more than one row of scheme {repeated.iloc[0]!r} and no "
                             "'point' column to tell them apart (one run's summary, or a sweep's load_results)")
        return _ratios_of_run(summary, scheme, against)
    if summary["point"].isna().any():
        raise ValueError("ratios: rows without a point (a sweep's table has one on every row)")
    repeated = summary[summary.duplicated(["point", "scheme"])]
    if not repeated.empty:
        raise ValueError(f"ratios: point {repeated['point'].iloc[0]!r} holds more than one row of scheme "
                         f"{repeated['scheme'].iloc[0]!r} (the summary table of load_results has one per point "
                         "and scheme; not the flips table, nor two sweeps' tables concatenated)")
    cols = list(summary.columns)
    keys = cols[:cols.index("scheme")] if cols.index("point") < cols.index("scheme") else ["point"]
    parts = []
    for _, rows in summary.groupby("point", sort=False):
        r = _ratios_of_run(rows, scheme, against)
        if not r.empty:
            for k in reversed(keys):
                r.insert(0, k, [rows[k].iloc[0]] * len(r))
            parts.append(r)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _ratios_of_run(summary: pd.DataFrame, scheme: str, against: Sequence[str]) -> pd.DataFrame:
    """:func:`ratios` of one run's rows (one per scheme)."""
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
                try:
                    row[f"{name}_ratio"] = _ratio(a[col], b[col])
                except (TypeError, ValueError):
                    raise ValueError(f"ratios: column {col!r} holds {a[col]!r} for {scheme} and {b[col]!r} for "
                                     f"{base}, not numbers") from None
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


def _run_toml(config) -> str:
    """A run's ``config.toml``: the resolved configuration, and for a run of a trace a comment on
    ``[run.workload]``, which the run did not read (the trace carries its own workload). The table stays, so
    that the file loads back to the same configuration (identity, resumption)."""
    text = config.to_toml()
    if config.run.trace:
        text = text.replace("\n[run.workload]\n", "\n# not read by this run, which replayed run.trace (the trace's "
                            "own workload)\n[run.workload]\n", 1)
    return text


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
    written.append(folder.text("config.toml", _run_toml(output.config)))
    info = {
        "archsim_version": archsim.__version__,
        "source": output.source_label,
        "model": output.meta.model,
        "trace_learning_rate": output.meta.learning_rate,
        "layout": output.layout.describe(),
        "chunk_iterations_effective": output.chunk_iterations or chunk_iterations(output.config, output.layout),
        "seconds": round(output.seconds, 3),
    }
    if output.line_ranges:  # a sharded run (archsim.shard): its ranges and each one's chunk length
        info["line_ranges"] = [list(r) for r in output.line_ranges]
        info["shard_chunk_iterations_effective"] = [chunk_iterations(output.config, output.layout, end - first)
                                                    for first, end in output.line_ranges]
    written.append(folder.text("run.json", json.dumps(info, indent=2, default=str) + "\n"))
    if figures:
        written += draw_run_figures(output.summary, output.flips, folder, title=output.source_label)
        for rep in output.reports:
            for name in rep.figures:
                written += folder.figure(rep.figure(name), name)
    folder.complete()
    return written


def draw_run_figures(summary: pd.DataFrame, flips: pd.DataFrame, folder: OutputFolder, *, title: str | None = None,
                     suffix: str = "") -> list[Path]:
    """The figures of one run (those whose columns the tables have).

    On two or more usable CPUs the first figure (the bit-flips figure, the most expensive of the lot:
    six panels of text) is drawn by a forked child process while this one draws the others; the child lays
    the figure out once and draws its PNG while a process forked from it draws the PDF. The same files
    either way, in the same order."""
    import plots
    from plots._style import config_caption

    figures = []
    for stem, fn in RUN_FIGURES.items():
        table = flips if stem == "bit_flips" else summary
        if stem == "bit_flips":   # the flips table has no configuration columns: titled from the summary's
            caption = config_caption([summary])
            t = caption if not title or title in caption.split(", ") else ", ".join(p for p in (title, caption) if p)
        else:
            t = title
        try:
            figures.append((stem + suffix, getattr(plots, fn)(table, title=t)))
        except plots.MissingColumns:
            continue
    child = _figure_in_child(figures[0][1]) if len(figures) > 1 else None
    written = []
    try:
        for name, fig in figures[1:] if child else figures:
            written += folder.figure(fig, name)
    except BaseException:
        if child:  # the run stops here: so do the child and the process it forked (its process group)
            try:
                os.killpg(child[0].pid, signal.SIGKILL)
            except OSError:
                child[0].kill()
            child[0].join()
            child[1].close()
        raise
    if child:
        drawn = _figure_from_child(*child)
        written[:0] = [folder.write(f"{figures[0][0]}.{ext}", lambda tmp, data=data: tmp.write_bytes(data))
                       for ext, data in zip(FIGURE_FORMATS, drawn)]
    return written


def _figure_in_child(fig):
    """(process, pipe) of a forked child drawing ``fig`` in :data:`FIGURE_FORMATS` (bytes each), or None
    where that cannot help: one usable CPU, no ``fork``, or other threads alive (a fork copies only this
    thread, so a lock another thread holds would stay held in the child) but tqdm's monitor, whose lock
    the child never takes."""
    import multiprocessing
    import threading

    from tqdm import TMonitor

    from archsim.run import usable_cpus

    others = [t for t in threading.enumerate() if t is not threading.current_thread() and not isinstance(t, TMonitor)]
    if usable_cpus() < 2 or others or "fork" not in multiprocessing.get_all_start_methods():
        return None
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_send_figure, args=(fig, send), daemon=True)  # fork: the figure is not pickled
    proc.start()
    try:  # a process group of its own (set here and in the child, whichever runs first), killed as one
        os.setpgid(proc.pid, proc.pid)
    except OSError:
        pass
    send.close()
    return proc, receive


def _send_figure(fig, send) -> None:
    """The child's work: the layout of ``fig`` (as its first save would compute it), then each format drawn
    in a process of its own (this one draws the first; forked ones the others), the bytes sent up."""
    import io
    import os
    import pickle
    import signal

    def draw(ext: str) -> bytes:
        buf = io.BytesIO()
        save_figure(fig, buf, ext, FIGURE_DPI)
        return buf.getvalue()

    forked = []
    try:
        os.setpgid(0, 0)  # the group the parent kills if it stops (_figure_in_child)
        lay_out(fig, FIGURE_DPI)
        for ext in FIGURE_FORMATS[1:]:
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:   # a grandchild: one format, pickled to the pipe, then gone without cleaning up
                os.close(r)
                try:
                    try:
                        result = (True, draw(ext))
                    except BaseException as exc:
                        result = (False, f"{type(exc).__name__}: {exc}")
                    with os.fdopen(w, "wb") as out:
                        pickle.dump(result, out)
                finally:
                    os._exit(0)
            os.close(w)
            forked.append((pid, r))
        drawn = [draw(FIGURE_FORMATS[0])]
        while forked:
            pid, r = forked.pop(0)
            with os.fdopen(r, "rb") as inp:
                data = inp.read()
            os.waitpid(pid, 0)
            ok, figure = pickle.loads(data) if data else (False, "a drawing process ended without its figure")
            if not ok:
                raise ArchsimError(figure)
            drawn.append(figure)
        send.send((True, drawn))
    except BaseException as exc:  # sent to the parent, which reports it as one error
        for pid, r in forked:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(r)
        send.send((False, str(exc) if isinstance(exc, ArchsimError) else f"{type(exc).__name__}: {exc}"))
    finally:
        send.close()


def _figure_from_child(proc, receive) -> list[bytes]:
    try:
        ok, data = receive.recv()
    except EOFError:
        ok, data = False, f"the drawing process ended with status {proc.exitcode}"
    finally:
        receive.close()
        proc.join()
    if not ok:
        raise ArchsimError(f"drawing the bit-flips figure failed: {data}")
    return data


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

#: The console summary's main columns: column -> (heading, kind). The kind sets the unit and the format:
#: "count" (summed over the run), "pj" (energy, unit chosen from the data), "ns", "iter", "ratio", "text".
_MAIN_COLUMNS = {
    "bit_flips": ("bit flips", "count"),
    "energy_per_iteration_pj": ("energy per iteration", "pj"),
    "max_cell_flips": ("max cell flips", "count"),
    "lifetime_iterations": ("lifetime", "iter"),
    "avg_write_latency_ns": ("avg write latency", "ns"),
    "refreshes": ("refreshes", "count"),
    "silent_writes": ("silent writes", "count"),
    "insertions": ("insertions", "count"),
    "removals": ("removals", "count"),
    "shifts": ("shifts", "count"),
    "detects": ("detects", "count"),
    "approx_max_rel_error": ("max rel error", "ratio"),
}

#: Units of column-name suffixes (observer columns: the unit is in the name).
_SUFFIX_KINDS = (("_pj", "pj"), ("_ns", "ns"), ("_gbs", "gbs"), ("_iterations", "iter"), ("_rate", "ratio"),
                 ("_utilisation", "ratio"), ("_share", "ratio"), ("_fraction", "ratio"))


def observer_columns(output) -> dict[str, list[str]]:
    """``{observer name: the summary columns it added}`` of a :class:`archsim.run.RunOutput`, in order."""
    names = [o.name for o in output.config.run.observers]
    out: dict[str, list[str]] = {}
    for i, rep in enumerate(output.reports):
        cols = list(dict.fromkeys(k for per_scheme in rep.columns.values() for k in per_scheme))
        if cols:
            out[names[i] if i < len(names) else f"observer {i + 1}"] = cols
    return out


def format_summary(summary: pd.DataFrame, *, observed: Mapping[str, Sequence[str]] | None = None,
                   width: int = 120) -> str:
    """The console summary of a run: the main figures per scheme, the columns each observer added
    (``observed``: observer name -> columns, :func:`observer_columns`), and AppWOM's ratios to the paper's
    baselines, saying which direction is better. Every line fits ``width`` columns (a wide table is
    continued below, the scheme repeated); each column states its unit once, under its heading; energies
    are per training iteration in a unit chosen from the data, counts are summed over the run. The CSV
    tables hold every column at full precision."""
    if not isinstance(summary, pd.DataFrame) or summary.empty or "scheme" not in summary.columns:
        got = type(summary).__name__ if not isinstance(summary, pd.DataFrame) else "a table without scheme rows"
        raise TypeError(f"format_summary needs a run's summary table (run_experiment(...).summary), not {got}")
    repeated = summary["scheme"][summary["scheme"].duplicated()]
    if not repeated.empty:
        hint = (" (a sweep's combined table: format one point's rows, e.g. table[table.point == "
                f"{summary['point'].iloc[0]!r}]; ratios(table) gives AppWOM's ratios at every point)"
                if "point" in summary.columns else "")
        raise ValueError(f"format_summary formats one run: scheme {repeated.iloc[0]!r} has more than one row{hint}")
    main = [c for c in _MAIN_COLUMNS if c in summary.columns and summary[c].notna().any()]
    specs = [(c, *_MAIN_COLUMNS[c]) for c in main]
    blocks = [_text_table(summary, specs, width)]
    if "iterations" in summary.columns and summary["iterations"].nunique() == 1:
        blocks[0] += (f"\n(counts: totals over the run's {int(summary['iterations'].iloc[0]):,} iterations; "
                      "every column at full precision in summary.csv)")
    for name, cols in (observed or {}).items():
        cols = [c for c in cols if c in summary.columns and c not in main]
        if cols:
            blocks.append(f"added by the {name!r} observer:\n" + format_columns(summary, cols, width=width))
    r = ratios(summary)
    if not r.empty:
        blocks.append(_ratio_text(r, width))
    return "\n\n".join(blocks)


def format_columns(table: pd.DataFrame, columns: Sequence[str], *, width: int = 120) -> str:
    """``columns`` of a per-scheme table as console text within ``width`` columns (the scheme first, a
    unit row from the column names' suffixes, continued below when wide)."""
    cols = [c for c in columns if c in table.columns and c != "scheme"]
    return _text_table(table, [(c, _heading(c), _kind(c, table[c])) for c in cols], width)


def _heading(col: str) -> str:
    for suffix, _ in _SUFFIX_KINDS[:4]:
        if col.endswith(suffix):
            col = col[: -len(suffix)]
    return col.replace("_", " ")


def _kind(col: str, values: pd.Series) -> str:
    if "occupancy" in col:
        return "requests"
    for suffix, kind in _SUFFIX_KINDS:
        if col.endswith(suffix) or col == suffix[1:]:
            return kind
    if pd.api.types.is_integer_dtype(values) or (pd.api.types.is_float_dtype(values) and
                                                  np.allclose(values.fillna(0) % 1, 0)):
        return "count"
    return "text" if not pd.api.types.is_numeric_dtype(values) else "value"


def _column(values: pd.Series, kind: str) -> tuple[str, list[str]]:
    """(unit, formatted cells) of one column."""
    from plots._style import eng_unit

    v = values
    if kind == "text":
        return "", ["" if x is None else str(x) for x in v]
    x = pd.to_numeric(v, errors="coerce").to_numpy(dtype=float)

    def cells(fmt):
        return ["-" if not np.isfinite(e) else fmt(e) for e in x]

    if kind == "pj":
        factor, unit = eng_unit(x, "pJ", ascii=True)
        x = x / factor
        return unit, cells(_sig4)
    if kind == "ns":
        if np.nanmax(np.abs(x), initial=0) < 1e5:
            return "ns", cells(lambda e: f"{e:,.1f}")
        factor, unit = eng_unit(x, "ns", ascii=True)     # a simulated time, not a latency
        x = x / factor
        return unit, cells(_sig4)
    if kind == "gbs":
        return "GB/s", cells(lambda e: f"{e:.3g}")
    if kind == "iter":
        return "iterations", cells(lambda e: f"{e:#.3g}")
    if kind == "ratio":
        return "fraction", cells(lambda e: f"{e:.3g}")
    if kind == "requests":
        return "requests", cells(lambda e: f"{e:.4g}")
    if kind == "count":
        return "count", cells(lambda e: f"{e:,.0f}")
    return "", cells(lambda e: f"{e:.4g}")


def _sig4(e: float) -> str:
    """Four significant digits, no exponent (values of order 1-1000 after the unit is chosen)."""
    digits = max(0, 3 - int(np.floor(np.log10(abs(e))))) if e else 1
    return f"{e:,.{digits}f}"


def _text_table(df: pd.DataFrame, specs: list[tuple[str, str, str]], width: int) -> str:
    """Right-aligned columns with a heading (up to two lines) and a unit row, the scheme first;
    columns beyond ``width`` continue in a second table below."""
    key = ("scheme", ["scheme", ""], "", [str(s) for s in df["scheme"]])
    cols = []
    for col, head, kind in specs:
        unit, cells = _column(df[col], kind)
        w = max([len(unit), *(len(c) for c in cells)] + [0])
        cols.append((col, _wrap(head, max(w, 8)), unit, cells))
    parts, line_cols = [], []

    def emit(group):
        allc = [key, *group]
        widths = [max(len(h) for h in c[1] + [c[2], *c[3]]) for c in allc]
        rows = []
        for i in range(2):
            rows.append("  ".join((c[1][i] if i < len(c[1]) else "").rjust(w) for c, w in zip(allc, widths)))
        rows.append("  ".join(c[2].rjust(w) for c, w in zip(allc, widths)))
        for r in range(len(df)):
            rows.append("  ".join(c[3][r].rjust(w) for c, w in zip(allc, widths)))
        parts.append("\n".join(line.rstrip() for line in rows if line.strip() or True))

    used = max(len("scheme"), *(len(s) for s in key[3]))
    for c in cols:
        w = max(len(h) for h in c[1] + [c[2], *c[3]])
        if line_cols and used + 2 + w > width:
            emit(line_cols)
            line_cols, used = [], max(len("scheme"), *(len(s) for s in key[3]))
        line_cols.append(c)
        used += 2 + w
    if line_cols or not cols:
        emit(line_cols)
    return "\n\n".join(parts)


def _wrap(head: str, w: int) -> list[str]:
    """A heading in one line, or two balanced lines when longer than ``w``."""
    if len(head) <= w or " " not in head:
        return ["", head]
    words = head.split(" ")
    best = min(range(1, len(words)), key=lambda i: max(len(" ".join(words[:i])), len(" ".join(words[i:]))))
    return [" ".join(words[:best]), " ".join(words[best:])]


def _ratio_text(r: pd.DataFrame, width: int) -> str:
    lines = ["appwom / baseline, each metric's ratio (change): lower is better for energy and write latency, "
             "higher for lifetime"]
    cols = [("energy_ratio", "energy"), ("lifetime_ratio", "lifetime"),
            ("avg_write_latency_ratio", "avg write latency"), ("bit_flips_ratio", "bit flips")]
    cols = [(c, h) for c, h in cols if c in r.columns]
    cells = {c: [_ratio_cell(x) for x in r[c]] for c, _ in cols}
    widths = {c: max(len(h), *(len(x) for x in cells[c])) for c, h in cols}
    bw = max(len("baseline"), *(len(str(b)) for b in r["baseline"]))
    lines.append("  " + "baseline".ljust(bw) + "".join("  " + h.rjust(widths[c]) for c, h in cols))
    for i, b in enumerate(r["baseline"]):
        lines.append("  " + str(b).ljust(bw) + "".join("  " + cells[c][i].rjust(widths[c]) for c, _ in cols))
    return "\n".join(line[:width] for line in lines)


def _ratio_cell(x: Any) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    return f"{x:#.3g}x ({100 * (x - 1):+.1f}%)"
