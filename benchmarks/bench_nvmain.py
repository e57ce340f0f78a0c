"""NVMain trace benchmark: export, parsing and the "trace" timing pattern, each beside a baseline.

Run:  .venv/bin/python benchmarks/bench_nvmain.py [--iterations 100] [--repeat 3] [--dir /tmp]

A synthetic LeNet-size trace would make a multi-GB .nvt; the benchmark uses the recorded default workload
(``lenet-digits``, 19,754 parameters, 1,238 lines of 64 bytes), ``--iterations`` iterations:

1. Export (``write_nvmain``) in writes/s, beside the baseline of writing the same number of bytes from
   one prepared string (the disk and page-cache cost alone).
2. Parsing (``read_nvmain``; ``open_nvmain`` adds the mapping onto lines) in MB/s of trace text, beside
   the baseline of reading the file and splitting it into whitespace-separated tokens (``bytes.split``:
   the least any parser of the text must do).
3. Timing: ``archsim run --timing`` of one scheme (dcw) with the "trace" pattern (one SimPy burst per
   request), in requests/s, beside the "minimal" pattern over the same writes (one burst per iteration).
"""
from __future__ import annotations

import argparse
import datetime
import os
import tempfile
import time
from pathlib import Path

from _common import best_of, cpu_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()

    from archsim.config import load_config
    from archsim.layout import AddressLayout
    from archsim.run import run_experiment
    from workloads import WORKLOADS, open_trace
    from workloads.nvmain import open_nvmain, read_nvmain, write_nvmain

    print(f"{datetime.date.today()}, nproc {os.cpu_count()}, {cpu_model()}")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        base = Path(tmp)
        trace = base / "lenet.trace"
        WORKLOADS.get("lenet-digits")().record(trace, iterations=args.iterations, seed=0, progress=False)
        src = open_trace(trace)
        cfg = load_config(None, [], {})
        layout = AddressLayout.from_meta(src.meta, cfg.layout)
        nvt = base / "lenet.nvt"
        writes = args.iterations * layout.lines

        t_export = best_of(lambda: write_nvmain(src, layout, nvt), args.repeat)
        size = nvt.stat().st_size
        blob = "x" * size

        def raw_write():
            with open(base / "raw.txt", "w") as f:
                f.write(blob)
        t_raw = best_of(raw_write, args.repeat)
        print(f"\nexport: {writes:,} writes, {size / 1e6:.1f} MB")
        print(f"  write_nvmain            {t_export:7.3f} s  {writes / t_export / 1e3:8.1f} K writes/s")
        print(f"  baseline: write {size / 1e6:.0f} MB {t_raw:7.3f} s  -> export is {t_export / t_raw:.1f}x the raw write")

        t_parse = best_of(lambda: read_nvmain(nvt), args.repeat)
        t_open = best_of(lambda: open_nvmain(nvt), args.repeat)
        t_split = best_of(lambda: nvt.read_bytes().split(), args.repeat)
        mb = size / 1e6
        print(f"\nparse: {mb:.1f} MB, {writes:,} requests")
        print(f"  read_nvmain             {t_parse:7.3f} s  {mb / t_parse:7.1f} MB/s  {writes / t_parse / 1e3:8.1f} K requests/s")
        print(f"  open_nvmain (+ mapping) {t_open:7.3f} s  {mb / t_open:7.1f} MB/s")
        print(f"  baseline: read + split  {t_split:7.3f} s  {mb / t_split:7.1f} MB/s  -> parse is "
              f"{t_parse / t_split:.1f}x read + split")

        def timed(pattern: str) -> float:
            c = load_config(None, [f"run.trace={nvt}", "run.trace_format=nvmain", f"run.iterations={args.iterations}",
                                   'run.schemes=["dcw"]', 'run.observers=["timing"]',
                                   f"timing.access_pattern={pattern}"], {})
            source = open_nvmain(nvt)
            t0 = time.perf_counter()
            run_experiment(c, source=source, progress=False)
            return time.perf_counter() - t0
        t_trace = min(timed("trace") for _ in range(max(1, args.repeat - 1)))
        t_min = min(timed("minimal") for _ in range(max(1, args.repeat - 1)))
        print(f"\ntiming (dcw, {writes:,} writes, run_experiment with the timing observer)")
        print(f"  pattern 'trace'         {t_trace:7.3f} s  {writes / t_trace / 1e3:8.1f} K requests/s")
        print(f"  baseline: 'minimal'     {t_min:7.3f} s  {writes / t_min / 1e3:8.1f} K writes/s  -> 'trace' is "
              f"{t_trace / t_min:.1f}x 'minimal'")


if __name__ == "__main__":
    main()
