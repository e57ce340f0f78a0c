"""Racetrack scheme throughput: float32 word-writes per second on one core.

Side by side in one run (the machines are noisy, so the ratios are the figures):
- each racetrack scheme's Cython kernel, replaying a training-like float32 stream (a random walk of
  weights with small SGD-like steps) through :class:`archsim.racetrack.RacetrackStream` in chunks
  of iterations: port model, shifts, segment writes and per-write outcomes, no stored values;
- the plain Python reference of the same scheme (:mod:`archsim.racetrack.reference`) on a small
  slice (rate reported);
- a numpy yardstick: the pw counting core (popcount difference of consecutive iterations per
  32-bit segment, insertions and removals summed), vectorised over the same words.

m-of-n is also measured with 64-bit segments (its 32-bit row is the default segment width).

Run:  .venv/bin/python benchmarks/bench_racetrack.py [--params 431080] [--iterations 32]
"""
from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np

from archsim.racetrack import RACETRACK_SCHEMES, RacetrackConfig, RacetrackStream, make_scheme
from archsim.racetrack.reference import reference_trace
from _common import best_of, line_words, machine


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--params", type=int, default=431_080, help="float32 words per iteration (LeNet: 431,080)")
    ap.add_argument("--iterations", type=int, default=32)
    ap.add_argument("--chunk", type=int, default=16, help="iterations per kernel call")
    ap.add_argument("--line-words", type=int, default=16)
    ap.add_argument("--ref-words", type=int, default=256, help="words per iteration for the Python reference")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    data = line_words(args.params, args.iterations, args.line_words)
    L, W = data.shape[1:]
    words = data.size

    prev = np.empty_like(data[0])

    def yardstick():
        total = 0
        prev[...] = 0
        for t in range(0, args.iterations, args.chunk):
            chunk = data[t: t + args.chunk]
            pc = np.bitwise_count(chunk).astype(np.int8)
            d = np.diff(pc, axis=0, prepend=np.bitwise_count(prev).astype(np.int8)[None])
            total += int(np.abs(d, dtype=np.int8).sum(dtype=np.int64))
            prev[...] = chunk[-1]
        return total

    yard_rate = words / best_of(yardstick, args.repeat)
    ref_L = -(-args.ref_words // W)
    ref_data = np.ascontiguousarray(data[:4, :ref_L])
    base = RacetrackConfig(tracks=4096, data_per_track=64, segment_bits=32)

    print(f"# archsim racetrack benchmark — {time.strftime('%Y-%m-%d')} — {machine()}")
    print(f"# {args.iterations} iterations x {L * W:,} float32 words ({L:,} lines of {W} words, 2 words per "
          f"64-bit item), chunks of {args.chunk}; reference on 4 x {ref_L * W:,} words")
    print(f"# yardstick (numpy pw counting core: popcount difference per segment): {yard_rate / 1e6:,.0f} M words/s")
    print()
    header = (f"{'scheme':18s} {'kernel M/s':>11s} {'x yardstick':>12s} {'python ref M/s':>15s} {'x ref':>9s} "
              f"{'target':>8s}")
    print(header)
    print("-" * len(header))
    runs = [(name, 32) for name in RACETRACK_SCHEMES.names()] + [("m-of-n", 64)]
    for name, w in runs:
        cfg = dataclasses.replace(base, segment_bits=w, fixed_ones_k=16)
        target = 10e6 if name == "m-of-n" else 100e6

        def run():
            stream = RacetrackStream(make_scheme(name, cfg), L, W)
            for t in range(0, args.iterations, args.chunk):
                stream.feed(data[t: t + args.chunk])
            return stream

        rate = words / best_of(run, args.repeat)
        ref_rate = ref_data.size / best_of(lambda: reference_trace(cfg, name, ref_data), 1)
        label = f"{name} (w={w})"
        print(f"{label:18s} {rate / 1e6:11,.1f} {rate / yard_rate:12.2f} {ref_rate / 1e6:15.4f} "
              f"{rate / ref_rate:9,.0f} {f'>={target / 1e6:.0f}M':>8s} {'ok' if rate >= target else 'BELOW'}")


if __name__ == "__main__":
    main()
