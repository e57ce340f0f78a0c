"""``archsim report``: redraw the figures of one or several run folders from their saved tables."""
from __future__ import annotations

import argparse
from pathlib import Path


HELP = "redraw figures from saved result tables, several runs side by side"

def register(subparsers) -> None:
    p = subparsers.add_parser(
        "report", help=HELP,
        description="Read summary and bit_flips tables of run folders (archsim run --out DIR) and draw "
                    "energy, lifetime and average write latency per scheme with the runs side by side, "
                    "and the bit flips per bit group of each run, as PNG and PDF; also writes the "
                    "combined summary table.")
    p.add_argument("runs", nargs="+", type=Path, metavar="RESULTS_DIR", help="run folders")
    p.add_argument("--out", type=Path, required=True, metavar="OUT", help="folder for the figures")
    p.add_argument("--label", action="append", default=[], metavar="NAME",
                   help="label of each run in the legends, in order (default: folder names)")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier report in OUT")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    import plots
    from archsim.errors import ConfigError
    from archsim.outputs import OutputFolder
    from archsim.results import RUN_FIGURES, read_run

    if args.label and len(args.label) != len(args.runs):
        raise ConfigError(f"--label given {len(args.label)} times for {len(args.runs)} runs")
    labels = list(args.label) or _labels(args.runs)
    runs = {label: read_run(folder) for label, folder in zip(labels, args.runs)}
    out = OutputFolder(args.out, "report", overwrite=args.overwrite)
    written = []
    summaries = {label: r["summary"] for label, r in runs.items()}
    for stem, fn in RUN_FIGURES.items():
        if stem == "bit_flips":
            continue
        try:
            fig = getattr(plots, fn)(summaries if len(runs) > 1 else next(iter(summaries.values())),
                                     title=None if len(runs) > 1 else labels[0])
        except plots.MissingColumns as exc:
            print(f"skipped {stem}: {exc}")
            continue
        written += out.figure(fig, stem)
    for label, r in runs.items():
        if r["bit_flips"] is None or r["bit_flips"].empty:
            continue
        stem = "bit_flips" if len(runs) == 1 else f"bit_flips_{_safe(label)}"
        written += out.figure(plots.bit_flips_figure(r["bit_flips"], title=label), stem)
    combined = pd.concat([df.assign(run=label) for label, df in summaries.items()], ignore_index=True)
    written += out.table(combined, "summary_all")
    out.complete(runs=[str(f) for f in args.runs])
    print(f"{len(runs)} run(s): wrote {len(written)} files to {args.out}")
    return 0


def _labels(folders: list[Path]) -> list[str]:
    names = [f.resolve().name for f in folders]
    if len(set(names)) == len(names):
        return names
    return [f"{n}-{i + 1}" for i, n in enumerate(names)]


def _safe(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in label)
