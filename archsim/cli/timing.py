"""``archsim timing``: the SimPy timing model on its own: a run, and the idle-gap sweep (the knee)."""
from __future__ import annotations

import argparse
import math

from archsim.cli._common import add_config, add_outputs, add_schemes, add_seed, default_out_dir, names


HELP = "timing model: bank-level latency of the write schemes"

def register(subparsers) -> None:
    p = subparsers.add_parser("timing", help=HELP,
                              description="Run the SimPy timing model (controllers, banks, idle-period refresh).")
    sub = p.add_subparsers(dest="timing_command", metavar="ACTION")
    sub.required = True
    for name, helptext in (("run", "simulate the configured workload; print the summary, write tables and figure"),
                           ("sweep-gap", "average write latency against the idle gap per iteration (the knee)")):
        q = sub.add_parser(name, help=helptext, description=helptext)
        add_config(q, example="timing.scheduling=fcfs")
        add_schemes(q, "schemes to simulate (default: run.schemes, or preset,prereset,appwom for sweep-gap)")
        q.add_argument("--iterations", type=int, metavar="N", help="iterations (default run.iterations)")
        add_seed(q)
        add_outputs(q, resumable=name == "sweep-gap")
        if name == "sweep-gap":
            q.add_argument("--gaps-ns", type=str, help="comma-separated gaps in ns (default 1 us .. 1 ms, 13 points)")
            q.set_defaults(func=run_sweep, engine=None)
        else:
            q.add_argument("--engine", choices=["fast", "reference"], help="simulation engine (default timing.model)")
            q.set_defaults(func=run_timing)


def _config(args: argparse.Namespace):
    """The configuration with the command's options in it (so that its ``config.toml`` repeats the run)."""
    from archsim.config import load_config

    changes: dict = {}
    if args.iterations is not None:
        changes["run.iterations"] = args.iterations
    schemes = names(args.schemes)
    if schemes is not None:
        changes["run.schemes"] = schemes
    if args.seed is not None:
        changes["run.seed"] = args.seed
    if args.engine:
        changes["timing.model"] = args.engine
    return load_config(args.config, args.overrides, changes)


def run_timing(args: argparse.Namespace) -> int:
    import pandas as pd

    from archsim.outputs import OutputFolder
    from archsim.results import format_columns
    from archsim.timing.figures import bank_figure
    from archsim.timing.runner import simulate

    cfg = _config(args)
    path = args.out if args.out is not None else default_out_dir("timing")
    out = OutputFolder(path, "timing run", overwrite=args.overwrite)
    results = simulate(cfg, progress=not args.no_progress)
    summary = pd.DataFrame([{"scheme": s, **r.summary} for s, r in results.items()])
    banks = pd.concat([r.per_bank.assign(scheme=s) for s, r in results.items()], ignore_index=True)
    overall = pd.DataFrame([{"scheme": s, **r.overall} for s, r in results.items()])
    lifetimes = pd.concat([r.lifetimes.assign(scheme=s) for s, r in results.items()], ignore_index=True)
    for name, df in (("timing_summary", summary), ("timing_banks", banks), ("timing_overall", overall),
                     ("timing_lifetimes", lifetimes)):
        out.table(df, name)
    if not args.no_figures:
        out.figure(bank_figure(results, title=f"{cfg.run.memory}, {cfg.run.iterations:,} iterations"),
                   "timing_banks", dpi=120)
    out.text("config.toml", cfg.to_toml())
    out.complete()
    print(format_columns(summary, list(summary.columns)))   # within 120 columns; every digit in the CSVs
    print(f"tables{'' if args.no_figures else ' and figure'} written to {path}")
    return 0


def run_sweep(args: argparse.Namespace) -> int:
    import pandas as pd

    from archsim.errors import ConfigError
    from archsim.outputs import OutputFolder
    from archsim.timing.figures import knee_figure
    from archsim.timing.runner import default_gaps_ns, sweep_gap

    cfg = _config(args)
    if args.gaps_ns:
        try:
            gaps = [float(x) for x in args.gaps_ns.split(",") if x.strip()]
        except ValueError:
            raise ConfigError(f"--gaps-ns must be comma-separated numbers, not {args.gaps_ns!r}") from None
        if not gaps:
            raise ConfigError("--gaps-ns: give at least one gap")
        bad = [g for g in gaps if not (math.isfinite(g) and g >= 0)]
        if bad:
            raise ConfigError(f"--gaps-ns: every gap must be a finite number of ns, 0 or more, not {bad[0]:g}")
        twice = sorted({g for g in gaps if gaps.count(g) > 1})
        if twice:
            raise ConfigError(f"--gaps-ns: the gap {twice[0]:g} ns is given twice")
    else:
        gaps = default_gaps_ns()
    schemes = tuple(names(args.schemes) or ("preset", "prereset", "appwom"))
    path = args.out if args.out is not None else default_out_dir("sweep-gap")
    out = OutputFolder(path, "timing sweep-gap", overwrite=args.overwrite, resumable=True,
                       state=("sweep_gap.csv", "sweep_gap.config.toml"))
    table = sweep_gap(cfg, gaps, schemes=schemes, out_dir=path, progress=not args.no_progress)
    if not args.no_figures:
        out.figure(knee_figure(table, set_ns=cfg.pcm.set_latency_ns if cfg.run.memory == "pcm" else None,
                               reset_ns=cfg.pcm.reset_latency_ns if cfg.run.memory == "pcm" else None),
                   "sweep_gap", dpi=120, formats=("png",))
    out.complete()
    cols = ["scheme", "gap_ns", "device_avg_write_latency_ns", "queued_avg_write_latency_ns", "refresh_misses"]
    with pd.option_context("display.width", 160):
        print(table[cols].to_string(index=False, float_format=lambda x: f"{x:.1f}"))
    print(f"table{'' if args.no_figures else ' and figure'} written to {path}")
    return 0
