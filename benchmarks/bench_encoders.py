"""Encoder kernel throughput: float32 word-writes per second on one core, wear counted per cell.

Side by side in one run (the machines are noisy, so the ratios are the figures):
- each scheme's Cython kernel, replaying a training-like float32 stream
  (a random walk of weights with small SGD-like steps) through the streaming
  API, in chunks of iterations, with wear per cell and without stored values;
- the same scheme's plain numpy reference (on a smaller slice, rate reported);
- the yardstick: a numpy count-only pass, XOR of consecutive iterations plus
  popcount, over the same words.

Run:  .venv/bin/python benchmarks/bench_encoders.py [--params 431080] [--iterations 128]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from archsim.pcm import EncoderStream, make_encoder
from archsim.pcm.reference import reference_replay
from _common import best_of, line_words, machine

SCHEMES = {
    "preset": {},
    "prereset": {},
    "dcw": {},
    "fnw": {},
    "wom-set": {},
    "appwom": {},
}
TARGET = {"preset": 300e6, "prereset": 300e6, "dcw": 300e6, "fnw": 300e6, "wom-set": 100e6, "appwom": 100e6}
TARGET_RATIO = {"preset": 0.3, "prereset": 0.3, "dcw": 0.3, "fnw": 0.3, "wom-set": 0.1, "appwom": 0.1}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--params", type=int, default=431_080, help="float32 words per iteration (LeNet: 431,080)")
    ap.add_argument("--iterations", type=int, default=128)
    ap.add_argument("--chunk", type=int, default=64, help="iterations per kernel call")
    ap.add_argument("--line-words", type=int, default=16)
    ap.add_argument("--ref-params", type=int, default=4096, help="words per iteration for the numpy reference")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    data = line_words(args.params, args.iterations, args.line_words)
    L, W = data.shape[1:]
    words = data.size

    # yardstick: count-only XOR + popcount of consecutive iterations, over the same words
    prev = np.empty_like(data[0])

    def yardstick():
        total = 0
        prev[...] = 0
        for t in range(0, args.iterations, args.chunk):
            chunk = data[t : t + args.chunk]
            total += int(np.bitwise_count(chunk[0] ^ prev).sum())
            if len(chunk) > 1:
                total += int(np.bitwise_count(chunk[1:] ^ chunk[:-1]).sum())
            prev[...] = chunk[-1]
        return total

    t_yard = best_of(yardstick, args.repeat)
    yard_rate = words / t_yard

    ref_L = -(-args.ref_params // W)
    ref_T = min(args.iterations, 16)
    ref_data = np.ascontiguousarray(data[:ref_T, :ref_L])

    print(f"# archsim encoder benchmark — {time.strftime('%Y-%m-%d')} — {machine()}")
    print(f"# {args.iterations} iterations x {L * W:,} float32 words ({L:,} lines of {W} words), "
          f"chunks of {args.chunk}; reference on {ref_T} x {ref_L * W:,} words")
    print(f"# yardstick (numpy XOR+popcount, count only): {yard_rate / 1e6:,.0f} M words/s")
    print()
    header = f"{'scheme':10s} {'kernel M/s':>11s} {'x yardstick':>12s} {'numpy ref M/s':>14s} {'x ref':>8s} {'target':>14s}"
    print(header)
    print("-" * len(header))
    for scheme, params in SCHEMES.items():
        enc = make_encoder(scheme, **params)

        def run():
            stream = EncoderStream(enc, L, W)
            for t in range(0, args.iterations, args.chunk):
                stream.feed(data[t : t + args.chunk])
            return stream

        t_k = best_of(run, args.repeat)
        rate = words / t_k
        t_r = best_of(lambda: reference_replay(enc, ref_data), 1)
        ref_rate = ref_data.size / t_r
        ok = rate >= TARGET[scheme] and rate / yard_rate >= TARGET_RATIO[scheme] * 0.999
        target = f">={TARGET[scheme] / 1e6:.0f}M, {TARGET_RATIO[scheme]}x"
        print(f"{scheme:10s} {rate / 1e6:11,.0f} {rate / yard_rate:12.2f} {ref_rate / 1e6:14.2f} "
              f"{rate / ref_rate:8,.0f} {target:>14s} {'ok' if ok else 'BELOW'}")


if __name__ == "__main__":
    main()
