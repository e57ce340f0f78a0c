"""``archsim report``: redraw figures from the saved tables of run, timing and sweep folders."""
from __future__ import annotations

import argparse
from pathlib import Path


HELP = "redraw figures from saved result tables: runs side by side, timing runs, sweeps"

def register(subparsers) -> None:
    p = subparsers.add_parser(
        "report", help=HELP,
        description="Read complete results folders and redraw their figures from the saved tables alone, as "
                    "PNG and PDF, with tidy tables beside them. Folders of `archsim run` (with or without "
                    "--timing): energy, lifetime and average write latency per scheme with the runs side by "
                    "side, bit flips per bit group of each run, the per-bank timing figure of a timing run, and "
                    "summary_all (every run's summary, a column `run`). `archsim timing run`: the per-bank "
                    "figure. `archsim timing sweep-gap`: the idle-gap figure. `archsim sweep`: one figure per "
                    "swept key with every scheme's ratio to its memory's baseline (energy, lifetime, write "
                    "latency, bit flips), and the tidy table sweep_ratios. Schemes are keyed by (memory, "
                    "scheme): racetrack dcw is not PCM dcw.")
    p.add_argument("runs", nargs="+", type=Path, metavar="RESULTS_DIR",
                   help="folders of archsim run, timing run, timing sweep-gap or sweep")
    p.add_argument("--out", type=Path, required=True, metavar="OUT", help="folder for the figures")
    p.add_argument("--label", action="append", default=[], metavar="NAME",
                   help="label of each folder in the legends and file names, in order (default: folder names)")
    p.add_argument("--baseline", action="append", default=[], metavar="[MEMORY:]SCHEME",
                   help="the scheme a sweep's ratios are taken against (default: the first scheme of each "
                        "memory, e.g. preset for pcm, naive for racetrack); MEMORY: for one memory only; "
                        "repeatable")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier report in OUT")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from archsim.errors import ConfigError
    from archsim.outputs import OutputFolder, complete_files, read_manifest

    if args.label and len(args.label) != len(args.runs):
        raise ConfigError(f"--label given {len(args.label)} times for {len(args.runs)} folders")
    baselines = {}
    for b in args.baseline:
        mem, _, scheme = b.rpartition(":")
        if not scheme:
            raise ConfigError(f"--baseline {b!r}: give SCHEME or MEMORY:SCHEME")
        if baselines.get(mem, scheme) != scheme:
            raise ConfigError(f"--baseline: two baselines for {'memory ' + mem if mem else 'the schemes'}: "
                              f"{baselines[mem]} and {scheme}; give one")
        baselines[mem] = scheme
    labels = list(args.label) or _labels(args.runs)
    if len(set(labels)) != len(labels):
        raise ConfigError(f"--label: every folder needs its own label, not {', '.join(labels)}")
    safe = [_safe(label) for label in labels]
    if len(labels) > 1 and len(set(safe)) != len(safe):  # the file names' prefixes would collide
        raise ConfigError(f"--label: {', '.join(map(repr, labels))} make the file prefixes "
                          f"{', '.join(map(repr, safe))}; give labels that differ in letters or digits")
    kinds, tables = {}, {}
    for label, folder in zip(labels, args.runs):
        files = set(complete_files(folder))          # one clear error for a missing or unfinished folder
        command = (read_manifest(folder) or {}).get("command")
        if command not in _DRAW:
            raise ConfigError(f"{folder}: a folder of `archsim {command}`; report reads the folders of "
                              f"{', '.join(f'`archsim {c}`' for c in _DRAW)}")
        if command == "sweep":
            tables[label] = _sweep_table(folder, files)  # checked before the output folder is claimed
        kinds[label] = (command, folder, files)
    if baselines and not any(command == "sweep" for command, _f, _files in kinds.values()):
        raise ConfigError("--baseline applies to sweep folders (their ratio tables); none is given")
    out = OutputFolder(args.out, "report", overwrite=args.overwrite)
    written = []
    runs = {label: folder for label, (command, folder, _) in kinds.items() if command == "run"}
    if runs:
        written += _draw_runs(runs, out)
    for label, (command, folder, files) in kinds.items():
        prefix = "" if len(kinds) == 1 else f"{_safe(label)}_"
        written += _DRAW[command](folder, files, out, prefix, label=label, baselines=baselines,
                                  table=tables.get(label))
    out.complete(runs=[str(f) for f in args.runs])
    print(f"{len(kinds)} folder(s): wrote {len(written)} files to {args.out}")
    return 0


def _draw_runs(runs: dict, out) -> list:
    """The run folders side by side: energy, lifetime, write latency; bit flips per run; summary_all."""
    import pandas as pd

    import plots
    from archsim.results import RUN_FIGURES, read_run
    from plots._style import config_caption

    tables = {label: read_run(folder) for label, folder in runs.items()}
    summaries = {label: r["summary"] for label, r in tables.items()}
    one = len(runs) == 1
    written = []
    for stem, fn in RUN_FIGURES.items():
        if stem in _PER_RUN:
            continue
        try:
            fig = getattr(plots, fn)(next(iter(summaries.values())) if one else summaries,
                                     title=next(iter(summaries)) if one else None)
        except plots.MissingColumns as exc:
            print(f"skipped {stem}: {exc}")
            continue
        written += out.figure(fig, stem)
    for label, r in tables.items():
        if r["bit_flips"] is None or r["bit_flips"].empty:
            continue
        stem = "bit_flips" if one else f"bit_flips_{_safe(label)}"
        title = ", ".join(p for p in (label, config_caption([r["summary"]])) if p)
        written += out.figure(plots.bit_flips_figure(r["bit_flips"], title=title), stem)
    for label, r in tables.items():
        try:
            fig = plots.racetrack_counts_figure(r["summary"], title=label)
        except plots.MissingColumns:
            continue          # not a racetrack run
        written += out.figure(fig, "operations" if one else f"operations_{_safe(label)}")
    combined = pd.concat([df.assign(run=label) for label, df in summaries.items()], ignore_index=True)
    written += out.table(combined, "summary_all")
    return written


#: Run figures drawn for each run on its own (the others show all runs side by side).
_PER_RUN = ("bit_flips", "operations")


def _timing_banks(folder: Path, files: set, out, prefix: str, *, label: str, **_) -> list:
    """The per-bank timing figure of a run --timing or timing run folder (nothing if it has no timing table)."""
    import plots
    from archsim.results import read_table

    banks = read_table(folder, "timing_banks", files)
    if banks is None or banks.empty:
        return []
    title = label
    summary = read_table(folder, "summary", files)
    if summary is not None:
        from plots._style import config_caption

        title = ", ".join(p for p in (label, config_caption([summary])) if p)
    return out.figure(plots.timing_banks_figure(banks, title=title), f"{prefix}timing_banks")


def _gap_sweep(folder: Path, files: set, out, prefix: str, *, label: str, **_) -> list:
    """The idle-gap figure of a timing sweep-gap folder (SET and RESET latencies marked for PCM)."""
    import tomllib

    import pandas as pd

    import plots
    from archsim.errors import ArchsimError

    path = folder / "sweep_gap.csv"
    if not path.is_file():
        raise ArchsimError(f"{folder}: no sweep_gap.csv")
    table = pd.read_csv(path)
    set_ns = reset_ns = None
    cfg = folder / "sweep_gap.config.toml"
    if cfg.is_file():
        data = tomllib.loads(cfg.read_text(encoding="utf-8"))
        memory = data.get("run", {}).get("memory", "pcm")
        if memory == "pcm":
            set_ns = data.get("pcm", {}).get("set_latency_ns")
            reset_ns = data.get("pcm", {}).get("reset_latency_ns")
    return out.figure(plots.gap_knee_figure(table, set_ns=set_ns, reset_ns=reset_ns, title=label),
                      f"{prefix}sweep_gap")


def _sweep_table(folder: Path, files: set):
    """A sweep folder's results table; one error for a sweep of another experiment than ``archsim run``
    (an analog sweep has no scheme column: nothing of it to draw here)."""
    from archsim.errors import ConfigError
    from archsim.results import read_table
    from archsim.sweep import load_results

    table = read_table(folder, "results", files)
    if table is None:
        table = load_results(folder, complete=True)
    if "scheme" not in table.columns:
        raise ConfigError(f"{folder}: a sweep without a scheme column (not a sweep of archsim run, e.g. an "
                          "analog one): report draws the sweeps of archsim run")
    return table


def _sweep(folder: Path, files: set, out, prefix: str, *, label: str, baselines: dict, table=None, **_) -> list:
    """A sweep folder: the ratio table and one figure per swept key."""
    import json

    import plots
    from archsim.errors import ArchsimError
    from archsim.sweep import MANIFEST

    keys = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["keys"]
    if table is None:
        table = _sweep_table(folder, files)
    try:
        ratios = plots.sweep_ratio_table(table, keys, baselines=baselines)
    except ValueError as exc:
        raise ArchsimError(f"{folder}: {exc}") from None
    written = out.table(ratios, f"{prefix}sweep_ratios")
    from plots._style import config_caption

    caption = ", ".join(p for p in (label, config_caption([table.drop(columns=[k for k in keys
                                                                                if k in table.columns])]))
                        if p)
    for key in keys:
        if ratios[key].nunique(dropna=False) < 2:
            continue
        if ratios["memory"].nunique() > 1 and ratios.groupby(key)["memory"].nunique().max() == 1 \
                and ratios.groupby("memory")[key].nunique().max() == 1:
            continue   # the key is the memory (run.memory): each memory's ratios are in the other figures
        fig = plots.sweep_key_figure(ratios, key, keys, title=caption)
        written += out.figure(fig, f"{prefix}sweep_{_safe(key)}")
    return written


def _run_folder(folder: Path, files: set, out, prefix: str, **kw) -> list:
    return _timing_banks(folder, files, out, prefix, **kw)   # the run figures are drawn side by side


_DRAW = {"run": _run_folder, "timing run": _timing_banks, "timing sweep-gap": _gap_sweep, "sweep": _sweep}


def _labels(folders: list[Path]) -> list[str]:
    names = [f.resolve().name for f in folders]
    if len(set(names)) == len(names):
        return names
    return [f"{n}-{i + 1}" for i, n in enumerate(names)]


def _safe(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in label)
