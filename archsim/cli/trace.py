"""``archsim trace``: inspect, verify and analyse trace files."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from archsim.cli._common import add_config


HELP = "inspect a trace: info, verify, stats; export it (NVMain .nvt)"

def register(subparsers) -> None:
    p = subparsers.add_parser("trace", help=HELP,
                              description="Inspect recorded training traces.")
    sub = p.add_subparsers(dest="trace_command", metavar="ACTION")
    sub.required = True

    info = sub.add_parser("info", help="print a trace's metadata and size")
    info.add_argument("path", type=Path)
    info.add_argument("--json", action="store_true", help="print the metadata as JSON")
    info.add_argument("--tensors", action="store_true", help="list every tensor")
    info.set_defaults(func=run_info)

    verify = sub.add_parser(
        "verify", help="check the CRC-32 of every chunk and that every value is finite",
        description="Check the CRC-32 of every committed chunk and that the trace holds no NaN or infinity "
                    "(which every replay refuses). Exit status 0: sound and complete; 1: sound but unfinished "
                    "(the recording stopped; it replays as a prefix); 2: corrupt, non-finite or unreadable.")
    verify.add_argument("path", type=Path)
    verify.set_defaults(func=run_verify)

    stats = sub.add_parser("stats", help="per-bit statistics (fraction of 1s, change rate): table and figure")
    stats.add_argument("path", type=Path, nargs="?", help="trace directory")
    stats.add_argument("--workload", help="a streaming workload instead of a trace (e.g. synthetic-lenet)")
    stats.add_argument("--iterations", type=int, default=200,
                       help="iterations of --workload (default 200)")
    stats.add_argument("--seed", type=int, default=0, help="seed of --workload (default 0)")
    stats.add_argument("--max-iterations", type=int, help="use only the first N recorded iterations")
    stats.add_argument("--by", choices=["layer", "kind", "tensor"], help="also one table per group")
    stats.add_argument("--out", type=Path, required=True, help="output directory")
    stats.add_argument("--overwrite", action="store_true", help="replace earlier statistics in --out")
    stats.set_defaults(func=run_stats)

    export = sub.add_parser(
        "export", help="write a trace's write stream in another simulator's format (NVMain v1 .nvt)",
        description="Write the write stream of an archsim trace as an NVMain v1 trace: per iteration one W "
                    "request per memory line, in line order; ADDRESS = line index x layout.line_bytes, DATA the "
                    "line's new content and OLDDATA its previous one (hex, byte 0 first), THREAD 0, CYCLE = "
                    "FIRST + iteration x PERIOD + line index. Also writes FILE.meta.json (the trace's metadata), "
                    "with which `archsim run --trace-format nvmain FILE` gives the original's tables.")
    export.add_argument("path", type=Path, help="trace directory")
    export.add_argument("--format", choices=["nvmain"], default="nvmain", help="output format (default nvmain)")
    export.add_argument("--out", type=Path, required=True, metavar="FILE", help="the .nvt file to write")
    add_config(export, example="layout.line_bytes=64")
    export.add_argument("--iterations", type=int, metavar="N", help="export the first N iterations (default all)")
    export.add_argument("--period-cycles", type=int, metavar="PERIOD",
                        help="cycles from one iteration's first write to the next's (default: the number of "
                             "lines, writes back to back one cycle apart)")
    export.add_argument("--first-cycle", type=int, default=0, metavar="FIRST", help="CYCLE of the first write (0)")
    export.add_argument("--no-meta", action="store_true",
                        help="do not write FILE.meta.json (a replay then sees one tensor of raw lines)")
    export.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")
    export.add_argument("--no-progress", action="store_true", help="no progress bar")
    export.set_defaults(func=run_export)


def _fmt_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1000
    return f"{n} B"


def run_info(args: argparse.Namespace) -> int:
    from workloads import open_trace

    r = open_trace(args.path)
    m = r.meta
    if args.json:
        out = m.header_json()
        out.update(n_iterations=m.n_iterations, complete=m.complete, results=m.results,
                   n_params=m.n_params, bytes=r.nbytes)
        print(json.dumps(out, indent=1, default=str))
        return 0
    opt = ", ".join(f"{k} {v}" for k, v in m.optimizer_params.items())
    print(f"trace      {r.path}")
    print(f"status     {'complete' if m.complete else 'UNFINISHED (recording stopped; prefix readable)'}")
    print(f"model      {m.model} on {m.dataset}" + (f" (workload {m.workload})" if m.workload else ""))
    print(f"optimizer  {m.optimizer}, lr {m.learning_rate:g}" + (f", {opt}" if opt else "")
          + f", batch {m.batch_size}, seed {m.seed}")
    print(f"recorder   {m.recorder} {m.recorder_version}")
    window = f"every {m.every} from iteration {m.first_iteration}"
    total = f" of {m.train_iterations} trained" if m.train_iterations else ""
    print(f"iterations {m.n_iterations} recorded ({window}){total}")
    print(f"values     {m.n_params:,} float32 per iteration in {len(m.params)} tensors, "
          f"{len(m.layers)} layers")
    print(f"size       {_fmt_bytes(r.nbytes)} on disk")
    inter = m.intermediates
    if inter:
        per_it = sum(t.bytes_per_sample for t in inter) * m.batch_size
        print(f"interm.    {len(inter)} tensors, {_fmt_bytes(per_it)} per iteration at batch {m.batch_size}, "
              f"{m.iteration_flops() / 1e6:.1f} MFLOP per iteration")
    for k, v in m.results.items():
        print(f"result     {k} = {v:.4g}" if isinstance(v, float) else f"result     {k} = {v}")
    if args.tensors:
        print(f"{'tensor':32s} {'layer':24s} {'kind':12s} {'shape':>16s} {'bytes/sample':>12s} lifetime")
        for t in m.tensors:
            life = f"steps {t.written_at}..{t.read_at}" if t.kind == "intermediate" else ""
            print(f"{t.name:32s} {t.layer:24s} {t.kind:12s} {str(t.shape):>16s} "
                  f"{t.bytes_per_sample or '':>12} {life}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from workloads import open_trace

    r = open_trace(args.path)
    r.verify(finite=True)
    sound = f"{r.meta.n_iterations} iterations, {_fmt_bytes(r.nbytes)}, every chunk's CRC-32 matches"
    if not r.meta.complete:  # readable as a prefix, but not the trace that was asked for
        print(f"{r.path}: UNFINISHED: the recording stopped; what it committed is sound ({sound}) and "
              "replays as a prefix")
        return 1
    print(f"{r.path}: OK ({sound})")
    return 0


def run_stats(args: argparse.Namespace) -> int:
    from archsim.errors import ConfigError
    from plots import bit_statistics_figure
    from workloads import bit_statistics, make_source, open_trace

    if (args.path is None) == (args.workload is None):
        raise ConfigError("trace stats: give either a trace PATH or --workload NAME")
    if args.max_iterations is not None and args.max_iterations < 1:
        raise ConfigError(f"trace stats: --max-iterations must be at least 1, not {args.max_iterations}")
    if args.path is not None:
        source, label = open_trace(args.path), str(args.path)
    else:
        source = make_source(args.workload, iterations=args.iterations, seed=args.seed, progress=True)
        label = args.workload
    from archsim.outputs import OutputFolder

    out = OutputFolder(args.out, "trace stats", overwrite=args.overwrite)
    df = bit_statistics(source, max_iterations=args.max_iterations)
    written = out.table(df, "bit_statistics")
    fig = bit_statistics_figure(df, title=f"Per-bit statistics: {label} ({source.meta.model}, "
                                          f"{min(source.n_iterations, args.max_iterations or 10**18)} iterations)")
    written += out.figure(fig, "bit_statistics")
    if args.by:
        by = bit_statistics(source, max_iterations=args.max_iterations, by=args.by)
        written += out.table(by, f"bit_statistics_by_{args.by}")
    out.complete()
    print(df[["name", "ones_fraction", "change_rate"]].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"wrote {', '.join(p.name for p in written)} to {args.out}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from archsim.config import load_config
    from archsim.errors import ConfigError
    from archsim.layout import AddressLayout
    from workloads import open_trace
    from workloads.nvmain import NVMAIN_MAX_CYCLE, sidecar_path, write_nvmain

    if args.out.exists() and not args.overwrite:
        raise ConfigError(f"trace export: {args.out} exists (--overwrite replaces it)")
    if args.out.is_dir():
        raise ConfigError(f"trace export: --out {args.out} is a directory; name the .nvt file")
    if args.first_cycle < 0:
        raise ConfigError(f"trace export: --first-cycle must be >= 0, not {args.first_cycle}")
    cfg = load_config(args.config, args.overrides, {})
    source = open_trace(args.path)
    layout = AddressLayout.from_meta(source.meta, cfg.layout)
    n = args.iterations if args.iterations is not None else source.n_iterations
    with tqdm(total=n, disable=args.no_progress, desc="export", unit="it") as bar:
        info = write_nvmain(source, layout, args.out, iterations=n, period_cycles=args.period_cycles,
                            first_cycle=args.first_cycle, line_bytes=cfg.layout.line_bytes,
                            sidecar=not args.no_meta, progress=bar.update)
    print(f"{args.out}: NVMV1, {info['requests']:,} writes ({info['iterations']:,} iterations x {info['lines']:,} "
          f"lines of {info['line_bytes']} bytes), cycles {args.first_cycle}..{info['last_cycle']:,}, "
          f"{_fmt_bytes(info['bytes'])}")
    if not args.no_meta:
        print(f"{sidecar_path(args.out)}: the trace's metadata (archsim's replay of the .nvt uses it)")
    if info["line_bytes"] != 64:
        print(f"note: NVMain's trace reader takes 64-byte lines only; these are {info['line_bytes']} bytes")
    if not info["nvmain_cycle_ok"]:
        print(f"note: the last CYCLE exceeds {NVMAIN_MAX_CYCLE:,}, more than NVMain's reader holds (atoi)")
    return 0
