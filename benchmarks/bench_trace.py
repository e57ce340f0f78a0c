"""Trace replay benchmark: throughput from the page cache, and memory staying flat.

Run:  .venv/bin/python benchmarks/bench_trace.py [--iterations 600] [--dir /tmp]

1. Throughput. A LeNet-size synthetic trace (431,080 float32 per iteration) is
   written, read once to warm the page cache, then streamed several times by
   - ``archsim iter_chunks``: TraceReader.iter_chunks (read, CRC-32 check,
     decode), once with blocks aligned to the stored chunks and once with
     blocks that straddle them (copying);
   - ``numpy.load``: ``np.load`` of the same chunk files, no checks;
   - ``raw read``: ``readinto`` of the same bytes into a buffer.
   The figure is GB/s of float32 values (best of the repeats) and the ratio to
   ``numpy.load`` measured in the same run.
2. Memory. Peak traced allocation (tracemalloc) while streaming a trace of N and
   of 10 N iterations; it must not grow with N.
"""
from __future__ import annotations

import argparse
import datetime
import os
import shutil
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np

from workloads import WORKLOADS, open_trace
from workloads.meta import TensorSpec, TraceMeta, layout_params
from workloads.trace_writer import TraceWriter
from _common import best_of as _best, cpu_model as _cpu_model


def throughput(base: Path, iterations: int, repeat: int) -> None:
    path = base / "lenet.trace"
    WORKLOADS.get("synthetic-lenet")().record(path, iterations=iterations, seed=0, progress=False,
                                              fsync=False)
    reader = open_trace(path)
    files = sorted(path.glob("params-*.npy"))
    nbytes = reader.n_iterations * reader.n_params * 4
    rows = reader._chunks[0].rows
    for f in path.iterdir():            # warm the page cache
        f.read_bytes()

    def replay(chunk):
        def run():
            total = 0
            for block in reader.iter_chunks(chunk):
                total += block.shape[0]
            assert total == reader.n_iterations
        return run

    def np_load():
        for f in files:
            np.load(f)

    def raw_read():
        buf = bytearray(max(f.stat().st_size for f in files))
        for f in files:
            with open(f, "rb", buffering=0) as fh:
                fh.readinto(buf)

    base_t = _best(np_load, repeat)
    rows_out = [
        ("numpy.load of the chunk files", base_t),
        ("raw read (readinto) of the same bytes", _best(raw_read, repeat)),
        (f"archsim iter_chunks({rows}), aligned", _best(replay(rows), repeat)),
        (f"archsim iter_chunks({rows * 3 // 2 + 1}), straddling", _best(replay(rows * 3 // 2 + 1), repeat)),
    ]
    print(f"\nreplay throughput: {reader.n_iterations} iterations x {reader.n_params:,} float32 = "
          f"{nbytes / 1e9:.2f} GB in {len(files)} chunks of {rows} iterations (page cache warm, "
          f"best of {repeat})")
    print(f"| {'reader':44s} | {'GB/s':>6s} | {'vs numpy.load':>13s} |")
    print(f"|{'-' * 46}|{'-' * 8}|{'-' * 15}|")
    for name, t in rows_out:
        print(f"| {name:44s} | {nbytes / t / 1e9:6.2f} | {base_t / t:12.2f}x |")


def peak_memory(base: Path, n_params: int, short: int) -> None:
    meta = TraceMeta(model="flat", dataset="none", optimizer="sgd", learning_rate=0.01, batch_size=1,
                     seed=0, recorder="bench", recorder_version="1",
                     tensors=layout_params([TensorSpec("w", "l", "weight", (n_params,))]))
    rng = np.random.default_rng(0)
    block = rng.standard_normal((64, n_params)).astype(np.float32)
    print(f"\nreplay peak memory (tracemalloc), {n_params:,} float32 per iteration, iter_chunks(32):")
    print(f"| {'iterations':>10s} | {'trace MB':>9s} | {'peak traced MB':>14s} |")
    print(f"|{'-' * 12}|{'-' * 11}|{'-' * 16}|")
    for n in (short, 10 * short):
        path = base / f"flat-{n}.trace"
        with TraceWriter(path, meta, fsync=False) as w:
            for i in range(0, n, 64):
                w.append_block(block[: min(64, n - i)], iterations=np.arange(i, min(i + 64, n)))
        reader = open_trace(path)
        tracemalloc.start()
        for _ in reader.iter_chunks(32):
            pass
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"| {n:10d} | {reader.nbytes / 1e6:9.0f} | {peak / 1e6:14.1f} |")
        shutil.rmtree(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iterations", type=int, default=600, help="iterations of the LeNet-size trace")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--memory-params", type=int, default=100_000)
    ap.add_argument("--memory-iterations", type=int, default=200)
    ap.add_argument("--dir", default=None, help="scratch directory (default: system temp)")
    args = ap.parse_args()
    print(f"bench_trace  {datetime.date.today()}  nproc={os.cpu_count()}  cpu={_cpu_model()}  "
          f"numpy {np.__version__}")
    base = Path(tempfile.mkdtemp(prefix="bench-trace-", dir=args.dir))
    try:
        throughput(base, args.iterations, args.repeat)
        peak_memory(base, args.memory_params, args.memory_iterations)
    finally:
        shutil.rmtree(base)


if __name__ == "__main__":
    main()
