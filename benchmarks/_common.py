"""Helpers shared by the benchmarks (run them as scripts: ``python benchmarks/bench_x.py``)."""
from __future__ import annotations

import os
import platform
import time

import numpy as np


def training_like(params: int, iterations: int, seed: int = 0, lr: float = 1e-3) -> np.ndarray:
    """(iterations, params) float32 weights after each update of a random-walk 'training'
    (small SGD-like steps: high bits rarely change, low mantissa bits often)."""
    rng = np.random.default_rng(seed)
    w = rng.normal(0, 0.05, size=params).astype(np.float32)
    out = np.empty((iterations, params), dtype=np.float32)
    for t in range(iterations):
        w = w - np.float32(lr) * rng.normal(0, 1, size=params).astype(np.float32)
        out[t] = w
    return out


def line_words(params: int, iterations: int, line_words: int) -> np.ndarray:
    """:func:`training_like` weights laid out as (iterations, lines, line_words) uint32 words,
    ``params`` rounded up to whole lines."""
    lines = -(-params // line_words)
    return training_like(lines * line_words, iterations).view(np.uint32).reshape(iterations, lines, line_words)


def best_of(fn, repeat: int) -> float:
    """The shortest of ``repeat`` wall-clock runs of ``fn()``, s."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine() -> str:
    """CPU, cores, Python and the load average now (the machines are shared: say how busy)."""
    try:
        load = " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        load = "n/a"
    return (f"{cpu_model()}, {os.cpu_count()} cores, {platform.python_implementation()} "
            f"{platform.python_version()}, load average {load}")
