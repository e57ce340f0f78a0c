"""``archsim accuracy``: train a workload in the closed loop under several write schemes."""
from __future__ import annotations

import argparse
import sys
import time

from archsim.cli._common import add_config, add_outputs, add_schemes, add_seed, default_out_dir, names


HELP = "train under each write scheme in the closed loop; accuracy, energy, latency, lifetime"

def register(subparsers) -> None:
    p = subparsers.add_parser(
        "accuracy", help=HELP,
        description="Train a built-in workload from the same seed under each scheme, the trainer computing every "
                    "iteration with what the memory returns (AppWOM's ignored updates, DAP's and PS's decayed "
                    "lossy-SET cells), for the weights and for the intermediate data kept from the forward to the "
                    "backward pass. Writes accuracy.csv (scheme, train_accuracy, test_accuracy in %, energy, "
                    "latency, lifetime), accuracy_curves.csv, the curves as PNG and PDF, and config.toml. "
                    "'baseline' is exact storage (full-SET data-comparison write); 'tech:scheme' picks another "
                    "memory technology. Finished schemes are kept in DIR/.checkpoints and skipped on a rerun.")
    add_config(p, example="dap.retention_s=0.5")
    p.add_argument("--workload", help="workload with a built-in trainer (default: run.workload, lenet-digits)")
    add_schemes(p, "schemes (default baseline,ps,dap,appwom)")
    p.add_argument("--iterations", type=int, metavar="N", help="training iterations (default: run.iterations)")
    add_seed(p)
    p.add_argument("--eval-every", type=int, default=10, metavar="N", help="accuracy curve resolution (default 10)")
    p.add_argument("--timing", action="store_true",
                   help="time every write and read (hence lossy-SET decay) by the timing model's simulated time "
                        "of the same workload and scheme instead of run.iteration_time_s and the FLOP schedule")
    add_outputs(p, resumable=True)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from archsim.accuracy import CHECKPOINTS, check_schemes, run_accuracy
    from archsim.config import load_config
    from archsim.outputs import OutputFolder

    changes = {key: value for key, value in (("run.workload.name", args.workload), ("run.iterations", args.iterations),
                                             ("run.seed", args.seed)) if value is not None}
    cfg = load_config(args.config, args.overrides, changes)  # the options in config.toml: it repeats the run
    schemes = names(args.schemes) or ["baseline", "ps", "dap", "appwom"]
    out_dir = args.out if args.out is not None else default_out_dir("accuracy")
    workload = cfg.run.workload.name
    iterations, seed = cfg.run.iterations, cfg.run.seed
    t0 = time.perf_counter()
    check_schemes(cfg, schemes)   # before the folder is claimed: a typo leaves a finished folder as it was
    folder = OutputFolder(out_dir, "accuracy", overwrite=args.overwrite, resumable=True, state=(CHECKPOINTS,))
    out = run_accuracy(cfg, workload=workload, schemes=schemes, iterations=iterations, seed=seed,
                       eval_every=args.eval_every, knobs=dict(cfg.run.knobs), progress=not args.no_progress,
                       checkpoint_dir=out_dir / CHECKPOINTS, timing=args.timing)
    files = out.write(folder, figures=not args.no_figures)
    cols = ["scheme", "train_accuracy", "test_accuracy", "energy_pj", "avg_write_latency_ns", "lifetime_iterations",
            "decayed_cells"]
    print(out.table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"wrote {len(files)} files to {out_dir} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0
