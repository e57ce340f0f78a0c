"""One run sharded by memory lines on Dask (``archsim run --workers N``): the speed-up of 2 workers over 1.

What a user runs, timed as a whole process (start-up, the replay, the read-out, the tables)::

    archsim run --workload W --schemes preset,prereset,wom-set,appwom --iterations N --no-figures [--workers K]

for the plain run (one process, the schemes on a thread pool of one thread per core), ``--workers 1``
and ``--workers 2`` (a LocalCluster of single-threaded worker processes, one line range per worker),
interleaved (plain, 1, 2, plain, 1, 2, ...) so that the load of a shared machine hits all alike, at two
run lengths N1 < N2. Figures: the wall time of each run, the steady-state cost per iteration by the
difference method ((t2 - t1) / (N2 - N1): start-up and read-out cancelled out), and the ratios, 2
workers over 1 worker and over the plain run, in the same run of the benchmark. Every sharded run's
summary.csv and bit_flips.csv are compared with the plain run's (byte-identical, or the benchmark fails).

Run:  .venv/bin/python benchmarks/bench_shard.py [--workload synthetic-googlenet] [--lengths 8,40] [--repeat 1]

``--cpu N`` measures instead what splitting costs in work, which a loaded machine disturbs less than wall time:
the CPU seconds (user + system, ``time.process_time``) of one shard over all the lines against the sum over the
two ranges of a 2-way split, each replayed alone in this process on one thread (``archsim.shard.replay_lines``,
N iterations; start-up and read-out included). A ratio near 1 means that two workers on two free cores take
half the wall time of one.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCHEMES = ("preset", "prereset", "wom-set", "appwom")
CONFIGS = (("plain", []), ("1 worker", ["--workers", "1"]), ("2 workers", ["--workers", "2"]))


def cli_run(workload: str, iterations: int, extra: list[str], out: Path) -> float:
    cmd = [sys.executable, "-m", "archsim", "run", "--workload", workload, "--schemes", ",".join(SCHEMES),
           "--iterations", str(iterations), "--no-figures", "--no-progress", "--out", str(out), *extra]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=Path(__file__).resolve().parents[1])
    return time.perf_counter() - t0


def tables(out: Path) -> tuple[bytes, bytes]:
    return (out / "summary.csv").read_bytes(), (out / "bit_flips.csv").read_bytes()


def cpu_split(workload: str, iterations: int, repeat: int) -> None:
    from archsim.config import load_config
    from archsim.layout import AddressLayout
    from archsim.run import RunLoop, open_source
    from archsim.shard import alignment, line_ranges, replay_lines

    cfg = load_config(None, [f"run.workload={workload}", f"run.iterations={iterations}",
                             f"run.schemes={list(SCHEMES)!r}".replace("'", '"')])
    loop = RunLoop(cfg)
    layout = AddressLayout.from_meta(open_source(loop.config).meta, loop.config.layout)
    ranges = line_ranges(layout.lines, 2, alignment(loop.system, layout, loop.schemes))

    def cpu(first: int, end: int) -> float:
        c = time.process_time()
        replay_lines(cfg, first, end, threads=1)
        return time.process_time() - c

    print(f"{workload}, {iterations} iterations, {layout.lines:,} lines; ranges {ranges}; one thread each")
    for _ in range(repeat):
        whole = cpu(0, layout.lines)
        parts = [cpu(a, b) for a, b in ranges]
        print(f"  all lines {whole:6.1f} CPU s; the ranges {' + '.join(f'{p:.1f}' for p in parts)} = "
              f"{sum(parts):6.1f} CPU s; ratio {sum(parts) / whole:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload", default="synthetic-googlenet")
    ap.add_argument("--lengths", default="8,40", metavar="N1,N2", help="the two run lengths (iterations)")
    ap.add_argument("--repeat", type=int, default=1, help="best of this many interleaved rounds")
    ap.add_argument("--cpu", type=int, metavar="N", help="the CPU time of a 2-way split instead (N iterations)")
    args = ap.parse_args()
    n1, n2 = (int(x) for x in args.lengths.split(","))
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    load = " ".join(open("/proc/loadavg").read().split()[:3])
    print(f"# {time.strftime('%Y-%m-%d %H:%M')} UTC: {os.cpu_count()} cores, {cpu}, load average {load}")
    if args.cpu:
        cpu_split(args.workload, args.cpu, args.repeat)
        return
    print(f"archsim run --workload {args.workload} --schemes {','.join(SCHEMES)} --iterations N --no-figures "
          f"[--workers K]; N = {n1}, {n2}; best of {args.repeat}, interleaved\n")
    best: dict[tuple[str, int], float] = {}
    every: dict[tuple[str, int], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="archsim-bench-shard-") as tmp:
        for r in range(args.repeat):
            for n in (n1, n2):
                for label, extra in CONFIGS:
                    out = Path(tmp) / f"{label.replace(' ', '-')}-{n}-{r}"
                    t = cli_run(args.workload, n, extra, out)
                    every.setdefault((label, n), []).append(t)
                    best[label, n] = min(best.get((label, n), float("inf")), t)
                    plain = Path(tmp) / f"plain-{n}-{r}"
                    if label != "plain" and tables(out) != tables(plain):
                        raise SystemExit(f"{label}, {n} iterations: the tables differ from the plain run's")
    print(f"{'run':<10} {f't({n1}) s':>9} {f't({n2}) s':>9} {'s / iteration':>14} {'speed-up':>9}"
          f" {'vs plain':>9}")
    per_it = {label: (best[label, n2] - best[label, n1]) / (n2 - n1) for label, _ in CONFIGS}
    for label, _ in CONFIGS:
        print(f"{label:<10} {best[label, n1]:9.1f} {best[label, n2]:9.1f} {per_it[label]:14.3f} "
              f"{per_it['1 worker'] / per_it[label]:8.2f}x {per_it['plain'] / per_it[label]:8.2f}x")
    print(f"\nwall time, {n2} iterations: 2 workers / 1 worker = {best['2 workers', n2] / best['1 worker', n2]:.2f}, "
          f"2 workers / plain = {best['2 workers', n2] / best['plain', n2]:.2f}")
    print("tables of every sharded run byte-identical to the plain run's: yes")
    print("every run, s: " + "; ".join(f"{label} N={n}: " + ", ".join(f"{t:.1f}" for t in ts)
                                       for (label, n), ts in every.items()))


if __name__ == "__main__":
    main()
