"""``archsim.pcm.replay`` itself (the Python API), on LeNet-size inputs, beside its kernel and a yardstick.

For 8, 64 and 512 iterations of a training-like float32 stream (431,080 words in lines of 16 words), side
by side in one run (the machines are noisy: the ratios are the figures):
- the yardstick: a numpy count-only pass, XOR of consecutive iterations plus popcount, over the same words;
- the streaming kernel: :class:`~archsim.pcm.EncoderStream` fed the same writes in chunks of 64 iterations,
  no stored values, no read-out (what ``benchmarks/bench_encoders.py`` measures);
- ``replay(scheme, writes)`` with its defaults (stored values, the per-cell wear read-out, the result);
- ``replay(..., stored=False)``.
Rates are word-writes per second (iterations x words / wall time); ``x kernel`` = replay rate / kernel rate
(the target at 64 iterations: >= 0.5, within 2x of the kernel).

Run:  .venv/bin/python benchmarks/bench_replay.py [--params 431080] [--iterations 8,64,512] [--schemes ...]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from archsim.pcm import EncoderStream, make_encoder, replay
from _common import best_of, line_words, machine

SCHEMES = ("preset", "prereset", "dcw", "fnw", "wom-set", "appwom")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--params", type=int, default=431_080, help="float32 words per iteration (LeNet: 431,080)")
    ap.add_argument("--iterations", default="8,64,512", help="comma-separated run lengths")
    ap.add_argument("--schemes", default=",".join(SCHEMES))
    ap.add_argument("--line-words", type=int, default=16)
    ap.add_argument("--chunk", type=int, default=64, help="iterations per kernel call of the streaming kernel")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    lengths = [int(x) for x in args.iterations.split(",")]
    schemes = [s for s in args.schemes.split(",") if s]

    data = line_words(args.params, max(lengths), args.line_words)
    L, W = data.shape[1:]
    print(f"# archsim replay benchmark — {time.strftime('%Y-%m-%d %H:%M')} — {machine()}")
    print(f"# {L * W:,} float32 words per iteration ({L:,} lines of {W} words); best of {args.repeat}")
    header = (f"{'scheme':9s} {'iters':>5s} {'yardstick':>10s} {'kernel':>8s} {'replay':>8s} {'x yard':>7s} "
              f"{'x kernel':>8s} {'no stored':>9s} {'x kernel':>8s}")
    print(header + "\n" + "(M word-writes/s)".rjust(28))
    print("-" * len(header))
    for T in lengths:
        writes = np.ascontiguousarray(data[:T])
        n = writes.size
        prev = np.zeros_like(writes[0])

        def yardstick():
            total = int(np.bitwise_count(writes[0] ^ prev).sum())
            if T > 1:
                total += int(np.bitwise_count(writes[1:] ^ writes[:-1]).sum())
            return total

        yard = n / best_of(yardstick, args.repeat)
        for scheme in schemes:
            enc = make_encoder(scheme)

            def kernel():
                stream = EncoderStream(enc, L, W)
                for t in range(0, T, args.chunk):
                    stream.feed(writes[t : t + args.chunk])

            k = n / best_of(kernel, args.repeat)
            r = n / best_of(lambda: replay(scheme, writes), args.repeat)
            r_ns = n / best_of(lambda: replay(scheme, writes, stored=False), args.repeat)
            print(f"{scheme:9s} {T:5d} {yard / 1e6:10,.0f} {k / 1e6:8,.0f} {r / 1e6:8,.0f} {r / yard:7.2f} "
                  f"{r / k:8.2f} {r_ns / 1e6:9,.0f} {r_ns / k:8.2f}")
        print()


if __name__ == "__main__":
    main()
