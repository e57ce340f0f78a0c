"""``archsim sweep``: run a grid or list of configurations on Dask, resumable."""
from __future__ import annotations

import argparse
from pathlib import Path


HELP = "run a grid or list of configurations (Dask; resumable)"

def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sweep", help=HELP,
        description="Run every point of a sweep file ([base] config + [sweep] grid/points) and write "
                    "DIR/points/<id>.parquet per point. A rerun skips finished points. The combined table "
                    "is written to DIR/results.csv/.parquet at the end (archsim.sweep.load_results(DIR)).")
    p.add_argument("--config", type=Path, required=True, metavar="SWEEP.toml", help="the sweep file")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="results folder (reused to resume)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="address of a running Dask scheduler (default: a LocalCluster of worker processes)")
    p.add_argument("--workers", type=int, metavar="N", help="LocalCluster worker processes (default: one per core)")
    p.add_argument("--cache-dir", type=Path, metavar="DIR",
                   help="trace cache shared by the workers (default ./.archsim-cache/traces)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--overwrite", action="store_true",
                   help="start over in a folder holding a finished sweep (its points are removed)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from archsim.cluster import check_dask_options
    from archsim.errors import ConfigError
    from archsim.outputs import OutputFolder
    from archsim.sweep import MANIFEST, load_results, load_sweep, run_sweep

    if args.workers is not None and args.workers < 1:
        raise ConfigError("--workers must be at least 1")
    check_dask_options(args.scheduler, args.workers)
    spec = load_sweep(args.config)
    folder = OutputFolder(args.out, "sweep", overwrite=args.overwrite, resumable=True,
                          state=("points", MANIFEST, "base.toml"))
    counts = run_sweep(spec, args.out, scheduler=args.scheduler, workers=args.workers,
                       plugins=args.plugin, progress=not args.no_progress,
                       cache_dir=args.cache_dir)
    table = load_results(args.out, complete=True)
    folder.table(table, "results")
    folder.complete(points=counts["points"])
    print(f"{counts['points']} points ({counts['skipped']} already done, {counts['ran']} run); "
          f"{len(table)} rows in {args.out}/results.csv")
    return 0
