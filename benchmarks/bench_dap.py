"""DAP kernel throughput: float32 word-writes per second on one core, beside dcw's kernel and the
numpy reference, in the same run (the ratios are the figures).

    .venv/bin/python benchmarks/bench_dap.py [--lines 2000] [--iterations 64]
"""
from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np

from archsim.pcm.dap import DapConfig
from archsim.pcm.dap.reference import ReferenceDap
from archsim.pcm import open_stream


def trace(lines: int, iterations: int, seed: int = 0) -> np.ndarray:
    """Random-walk weights (small relative steps, like SGD updates)."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((lines, 16)).astype(np.float32) * 0.1
    steps = rng.standard_normal((iterations, lines, 16)).astype(np.float32) * 1e-3
    return (w[None] + np.cumsum(steps, axis=0)).astype(np.float32).view(np.uint32)


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=2000)
    ap.add_argument("--iterations", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    w = trace(a.lines, a.iterations)
    n = w.size
    cfg = DapConfig(retention_s=0.05, weibull_scale_s=0.05)  # decays happen during the run
    rows = []
    for scheme in ("dcw", "dap", "ps"):
        kw = dataclasses.asdict(cfg) if scheme != "dcw" else {}
        t = best(lambda: open_stream(scheme, lines=a.lines, words=16, **kw).feed(w), a.repeat)
        rows.append((f"{scheme} kernel", n / t))
    small = w[: max(4, a.iterations // 8)]

    def ref():
        r = ReferenceDap(a.lines, 16, (1 << 11) - 1, cfg)
        for k in range(small.shape[0]):
            r.write(small[k], (k + 1) * cfg.iteration_time_s)

    t = best(ref, 1)
    rows.append(("dap numpy reference", small.size / t))
    base = rows[0][1]
    print(f"{a.lines} lines x 16 words x {a.iterations} writes, best of {a.repeat}")
    print(f"{'what':<22}{'M word-writes/s':>16}{'vs dcw':>9}")
    for name, rate in rows:
        print(f"{name:<22}{rate / 1e6:>16.1f}{rate / base:>9.2f}x")
    print(f"dap kernel vs numpy reference: {rows[1][1] / rows[3][1]:.0f}x")


if __name__ == "__main__":
    main()
