"""``archsim record``: record a workload's training trace to a file."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from archsim.errors import ConfigError


HELP = "record a workload's training trace"

def register(subparsers) -> None:
    from workloads import WORKLOADS

    p = subparsers.add_parser(
        "record", help=HELP,
        description="Train (or generate) a workload and record the weights and biases after every "
                    "update into a trace directory. Workloads: "
                    + "; ".join(f"{n}: {WORKLOADS.get(n).description}" for n in WORKLOADS.names()))
    p.add_argument("--workload", default="lenet-digits", choices=WORKLOADS.names(),
                   help="workload to record (default: lenet-digits)")
    p.add_argument("--iterations", type=int, required=True, help="training iterations to run")
    p.add_argument("--out", required=True, type=Path, help="trace directory to create (e.g. run.trace)")
    p.add_argument("--every", type=int, default=1, help="record every K-th iteration (default 1)")
    p.add_argument("--first", type=int, default=0, metavar="I",
                   help="first training iteration to record (default 0)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--lr", type=float, help="learning rate (default: the workload's)")
    p.add_argument("--momentum", type=float, help="SGD momentum (default: the workload's)")
    p.add_argument("--batch-size", type=int, help="samples per iteration (default: the workload's)")
    p.add_argument("--data-dir", help="directory with the MNIST IDX files (mnist workloads)")
    p.add_argument("--knob", action="append", default=[], metavar="NAME=VALUE",
                   help="any other knob of the workload (repeatable)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing trace at --out")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def parse_knobs(args: argparse.Namespace) -> dict:
    knobs = {"lr": args.lr, "momentum": args.momentum, "batch_size": args.batch_size,
             "data_dir": args.data_dir}
    knobs = {k: v for k, v in knobs.items() if v is not None}
    for item in args.knob:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ConfigError(f"--knob {item!r}: expected NAME=VALUE")
        knobs[name.strip().replace("-", "_")] = value.strip()
    return knobs


def run(args: argparse.Namespace) -> int:
    from workloads import WORKLOADS, open_trace

    wl = WORKLOADS.get(args.workload)()
    t0 = time.perf_counter()
    path = wl.record(args.out, iterations=args.iterations, seed=args.seed, every=args.every,
                     first_iteration=args.first, progress=not args.no_progress,
                     overwrite=args.overwrite, **parse_knobs(args))
    seconds = time.perf_counter() - t0
    reader = open_trace(path)
    m = reader.meta
    print(f"recorded {m.n_iterations} of {args.iterations} iterations of {args.workload} "
          f"({m.n_params:,} parameters, {reader.nbytes / 1e6:.1f} MB) to {path} in {seconds:.1f} s")
    for key in ("train_accuracy", "test_accuracy"):
        if key in m.results:
            print(f"  {key.replace('_', ' ')}: {100 * m.results[key]:.1f} %")
    return 0
