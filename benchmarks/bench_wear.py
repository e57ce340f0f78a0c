"""Wear levelling's cost to the functional replay: every PCM scheme streamed with and without a leveller.

A LeNet-size training-like trace (431,080 parameters, 16-word lines) is fed in chunks of
``--chunk`` iterations to each scheme's stream, bare (``none``, the baseline) and wrapped in
``rotate`` and ``start-gap`` with their default parameters, in the same run; the figure is the
ratio of the wall-clock times (best of ``--repeat``), per scheme and in total, including the
levelled result (physical wear and its steady state).

``--pipeline`` times the whole ``archsim run`` instead (synthetic-lenet, the six default schemes,
trace generation, approximation error and tables included): the replay's speed as a user sees it; the
levellers alternate ``--repeat`` times (best of each), wall clock and CPU time of all threads.

Run:  .venv/bin/python benchmarks/bench_wear.py [--iterations 256] [--chunk 64] [--repeat 2] [--pipeline]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import best_of, line_words, machine  # noqa: E402

SCHEMES = ("preset", "prereset", "dcw", "fnw", "wom-set", "appwom")
PARAMS = 431_080


def pipeline(args, levellers) -> None:
    """``archsim run --workload synthetic-lenet`` (the six default schemes, streamed trace, approximation
    error, result tables) under each leveller: wall-clock seconds and the ratio to ``none``."""
    from archsim.config import load_config
    from archsim.run import run_experiment

    import time

    print(f"bench_wear --pipeline: archsim run, synthetic-lenet ({PARAMS:,} parameters), {args.iterations} "
          f"iterations, chunks of {args.chunk}; {machine()}")
    configs = {lv: load_config(None, ["run.workload=synthetic-lenet", f"run.iterations={args.iterations}",
                                      f"run.chunk_iterations={args.chunk}", f"wear_leveling={lv}",
                                      *(args.set if lv != "none" else [])]) for lv in levellers}
    wall = {lv: float("inf") for lv in levellers}
    cpu = dict(wall)
    for _ in range(args.repeat):  # the levellers alternate, so that a change of load hits them alike
        for lv in levellers:
            w0, c0 = time.perf_counter(), time.process_time()
            run_experiment(configs[lv], progress=False)
            wall[lv] = min(wall[lv], time.perf_counter() - w0)
            cpu[lv] = min(cpu[lv], time.process_time() - c0)
    for lv in levellers:
        print(f"{lv:<10} wall {wall[lv]:8.2f}s  {wall[lv] / wall['none']:.2f}x of none   "
              f"CPU (all threads) {cpu[lv]:8.2f}s  {cpu[lv] / cpu['none']:.2f}x of none")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iterations", type=int, default=256)
    ap.add_argument("--chunk", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--levellers", default="none,rotate,start-gap")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a configuration override for the levelled runs (e.g. wear_leveling.period=256)")
    ap.add_argument("--pipeline", action="store_true",
                    help="time the whole archsim run pipeline (synthetic-lenet, six schemes) instead of the streams")
    args = ap.parse_args()

    from archsim.config import load_config
    from archsim.contracts import TECHNOLOGIES
    from archsim.wear import WEAR_LEVELLERS

    if args.pipeline:
        pipeline(args, args.levellers.split(","))
        return
    writes = line_words(PARAMS, args.iterations, 16)
    T, L, W = writes.shape
    tech = TECHNOLOGIES.get("pcm")
    levellers = args.levellers.split(",")
    configs = {lv: load_config(None, [f"wear_leveling={lv}", *(args.set if lv != "none" else [])])
               for lv in levellers}

    def replay(scheme, lv):
        cfg = configs[lv]
        leveller = WEAR_LEVELLERS.get(lv)(cfg.wear_leveling.params)
        stream = leveller.wrap(tech.open_stream(scheme, lines=L, words=W, config=cfg), tech, cfg)
        for t in range(0, T, args.chunk):
            stream.feed(writes[t:t + args.chunk])
        stream.result().physical_wear()

    print(f"bench_wear: {T} iterations x {L} lines x {W} words, chunks of {args.chunk}; {machine()}")
    totals = {lv: 0.0 for lv in levellers}
    print(f"{'scheme':<10}" + "".join(f"{lv:>12}" for lv in levellers) + "".join(
        f"{lv + '/none':>16}" for lv in levellers[1:]))
    for scheme in SCHEMES:
        times = {lv: best_of(lambda: replay(scheme, lv), args.repeat) for lv in levellers}
        for lv in levellers:
            totals[lv] += times[lv]
        print(f"{scheme:<10}" + "".join(f"{times[lv]:>11.2f}s" for lv in levellers) + "".join(
            f"{times[lv] / times['none']:>15.2f}x" for lv in levellers[1:]))
    print(f"{'total':<10}" + "".join(f"{totals[lv]:>11.2f}s" for lv in levellers) + "".join(
        f"{totals[lv] / totals['none']:>15.2f}x" for lv in levellers[1:]))


if __name__ == "__main__":
    main()
