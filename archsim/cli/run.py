"""``archsim run``: replay a training trace under every write scheme; tables, figures, config."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from archsim.cli._common import add_config, add_outputs, add_schemes, add_seed, default_out_dir, names
from archsim.errors import ConfigError


HELP = "replay a training trace under every write scheme and report energy, wear, lifetime"

def register(subparsers) -> None:
    p = subparsers.add_parser(
        "run", help=HELP,
        description="Replay a training trace (the default digits workload, a recorded trace or a synthetic "
                    "paper-size workload) under the write schemes of a memory technology. Prints the summary "
                    "and writes summary.csv/.parquet, bit_flips.csv/.parquet, figures (PNG and PDF) and the "
                    "resolved config.toml to the output folder. Options override the config file, which "
                    "overrides the defaults.")
    add_config(p)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--workload", help="workload to record (cached) or stream (run.workload; default lenet-digits)")
    src.add_argument("--trace", type=Path, metavar="PATH", help="replay this recorded trace (run.trace)")
    src.add_argument("--trace-format", nargs=2, metavar=("FORMAT", "FILE"),
                     help="replay FILE, a trace in FORMAT: nvmain (an NVMain .nvt trace's write stream; "
                          "docs/traces.md) or archsim (as --trace) (run.trace_format, run.trace)")
    add_schemes(p, "schemes to replay (run.schemes; default: all of the memory's)")
    p.add_argument("--iterations", type=int, metavar="N",
                   help="iterations to replay (run.iterations; default 200, or the whole --trace)")
    add_seed(p)
    p.add_argument("--memory", help="memory technology (run.memory; default pcm)")
    p.add_argument("--observe", action="append", default=[], metavar="NAME",
                   help="add a registered run observer (repeatable)")
    p.add_argument("--timing", action="store_true", help="shorthand for --observe timing (the SimPy timing model)")
    p.add_argument("--cache-dir", type=Path, metavar="DIR",
                   help="where recorded workload traces are cached (default ./.archsim-cache/traces)")
    shard = p.add_argument_group("split run (the same tables; resumes in its --out folder; docs/sharding.md)")
    shard.add_argument("--scheduler", metavar="ADDRESS",
                       help="replay line ranges (with --timing: a scheme a task) on a running Dask scheduler's "
                            "workers")
    shard.add_argument("--workers", type=int, metavar="N",
                       help="replay line ranges (with --timing: a scheme a task) on a LocalCluster of N "
                            "single-threaded worker processes")
    shard.add_argument("--shards", type=int, metavar="K",
                       help="line ranges (default: one per worker thread; without --workers / --scheduler: "
                            "K ranges one after the other in this process)")
    add_outputs(p)
    p.set_defaults(func=run, source=None)  # source: the NVMain trace, opened once by build_config


def build_config(args: argparse.Namespace):
    """The configuration of the command: file, then --set overrides, then the explicit options."""
    from archsim.config import load_config

    changes: dict[str, Any] = {}
    if args.memory is not None:
        changes["run.memory"] = args.memory
    if args.workload is not None:
        changes["run.workload.name"] = args.workload
        changes["run.trace"] = ""
    if args.trace is not None:
        changes["run.trace"] = str(args.trace)
        changes["run.trace_format"] = "archsim"
    fmt = None
    if args.trace_format is not None:
        from archsim.config import TRACE_FORMATS

        fmt, file = args.trace_format
        if fmt not in TRACE_FORMATS:
            raise ConfigError(f"--trace-format {fmt}: the formats are {', '.join(TRACE_FORMATS)}")
        changes["run.trace"] = file
        changes["run.trace_format"] = fmt
    schemes = names(args.schemes)
    if schemes is not None:
        changes["run.schemes"] = schemes
    if args.seed is not None:
        changes["run.seed"] = args.seed
    if args.iterations is not None:
        changes["run.iterations"] = args.iterations
    elif args.trace is not None or fmt == "archsim":
        from workloads import open_trace

        changes["run.iterations"] = open_trace(changes["run.trace"]).n_iterations
    config = load_config(args.config, args.overrides, changes)
    if fmt == "nvmain":  # opened once: its write stream counts the iterations, and the run replays it
        from archsim.run import open_source

        args.source = open_source(config)
        if args.iterations is None:
            config = load_config(args.config, args.overrides, {**changes, "run.iterations": args.source.n_iterations})
    return config


def observer_names(args: argparse.Namespace, config=None) -> list[str]:
    """The run's observers: those of the configuration (``run.observers``), then ``--observe``
    and ``--timing``, each once."""
    from archsim.observers import OBSERVERS

    names = [o.name for o in config.run.observers] if config is not None else []
    names += list(args.observe)
    if args.timing:
        if "timing" not in OBSERVERS:
            raise ConfigError("--timing needs the 'timing' run observer (the SimPy timing model), which is not "
                              f"registered; registered observers: {', '.join(OBSERVERS.names()) or 'none'}")
        names.append("timing")
    return list(dict.fromkeys(names))


def run(args: argparse.Namespace) -> int:
    from archsim.cluster import check_dask_options
    from archsim.config import replace
    from archsim.outputs import OutputFolder
    from archsim.results import format_summary, observer_columns
    from archsim.run import run_experiment
    from archsim.shard import PARTS

    if args.workers is not None and args.workers < 1:
        raise ConfigError("--workers must be at least 1")
    if args.shards is not None and args.shards < 1:
        raise ConfigError("--shards must be at least 1")
    check_dask_options(args.scheduler, args.workers)
    distributed = args.workers is not None or args.scheduler is not None  # the workers open the trace themselves
    cfg = build_config(args)
    names = observer_names(args, cfg)
    if names != [o.name for o in cfg.run.observers]:  # recorded in config.toml: the file repeats the run
        given = {o.name: o for o in cfg.run.observers}
        cfg = replace(cfg, {"run.observers": [given.get(n, n) for n in names]})
    label = Path(cfg.run.trace).name if cfg.run.trace else cfg.run.workload.name
    out = args.out if args.out is not None else default_out_dir(label)
    split = distributed or (args.shards or 1) > 1  # keeps its finished parts: an interrupted run resumes
    folder = OutputFolder(out, "run", overwrite=args.overwrite, resumable=split,  # claimed before the work
                          state=(PARTS,) if split else ())
    output = run_experiment(cfg, source=None if distributed else args.source, out_dir=out,
                            cache_dir=args.cache_dir, progress=not args.no_progress, shards=args.shards,
                            scheduler=args.scheduler, dask_workers=args.workers, plugins=args.plugin,
                            parts_dir=folder.path / PARTS if split else None)
    files = output.write(folder, figures=not args.no_figures)
    L = output.layout
    print(f"{output.source_label}: {int(output.summary['iterations'].iloc[0]):,} iterations of "
          f"{L.n_params:,} values in {L.lines:,} lines x {L.words_per_line} words, "
          f"memory {output.config.run.memory}, {output.seconds:.1f} s")
    if args.source is not None:
        print(_nvmain_notes(args.source, output.config))
    print()
    print(format_summary(output.summary, observed=observer_columns(output)))
    print()
    print(f"wrote {len(files)} files to {out}")
    sys.stdout.flush()
    return 0


def _nvmain_notes(source, config) -> str:
    """What an NVMain trace's replay kept and left (one line; a note on OLDDATA is logged)."""
    t = source.trace
    timed = config.timing.access_pattern == "trace" and "timing" in [o.name for o in config.run.observers]
    what = ("reads and CYCLE timed (timing.access_pattern = \"trace\")" if timed else
            "reads and CYCLE not used (--timing --set timing.access_pattern=trace times them)")
    text = (f"NVMV{t.version} trace: {t.requests:,} requests ({t.writes:,} writes, {t.reads:,} reads) on "
            f"{source.lines.shape[1]:,} written lines; {what}")
    check = source.old_data_check()
    if check["seeded_lines"] or check["mismatched_writes"]:
        import logging

        logging.getLogger("archsim.nvmain").warning(
            "note: OLDDATA: %s lines start nonzero (archsim's memory starts erased: their first write is priced "
            "against zeros); %s later writes' OLDDATA is not the line's previous DATA",
            f"{check['seeded_lines']:,}", f"{check['mismatched_writes']:,}")
    return text
