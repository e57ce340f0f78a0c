"""The paper-scale functional experiment: LeNet-size synthetic trace, four schemes, streamed.

What ``archsim run --workload synthetic-lenet --schemes preset,prereset,wom-set,appwom`` does
(431,080 parameters; wear per cell, energy, refreshes, AppWOM's approximation error), timed
by chunk: the steady-state rate in iterations per second excludes start-up (generator
initialisation, the first chunks) and is extrapolated to the paper's 47K iterations.
Baseline in the same run: the bare synthetic generator (the rate the replay could reach if the
schemes cost nothing). Peak memory (max RSS of a child process) at two run lengths shows it
does not grow with iterations.

Run:  .venv/bin/python benchmarks/bench_run.py [--iterations 1024] [--short 256] [--chunk 64]

The difference method (what a user runs, start-up cancelled out):
      .venv/bin/python benchmarks/bench_run.py --difference 200,600 [--baseline-tree DIR]
runs ``archsim run --workload synthetic-lenet --schemes preset,prereset,wom-set,appwom --iterations N
--no-figures`` at both lengths (``--timing minimal --timing training``: also with ``--timing`` and that
access pattern, each as a ratio to the functional run measured beside it, with every run's max RSS;
``--set KEY=VALUE``: an override for every run) and reports the cost per parameter-iteration, params x (N2 - N1) /
(t2 - t1), in M/s, extrapolated to the paper's 47K iterations. With ``--baseline-tree`` (a checkout of
another commit with its kernels built in place, e.g. ``git worktree add --detach ../base main`` then
``setup.py build_ext --inplace``) the same commands run on that tree too, interleaved with this one's
(baseline, this tree, baseline, ...) so that the load of a shared machine hits both alike. It also reports the
runs' CPU time (all threads, by the same difference: M param-it per CPU-second) and peak memory (max RSS).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCHEMES = ("preset", "prereset", "wom-set", "appwom")
PAPER_ITERATIONS = 47_000
TARGET_S = 20 * 60


def child_run(iterations: int, chunk: int, timing: str = "") -> dict:
    """One replay in this process; returns the figures (called in a child process). ``timing``: with the
    timing model and this access pattern ("" without it)."""
    from archsim.config import load_config
    from archsim.run import ObserverReport, RunObserver, run_experiment

    class Clock(RunObserver):
        """Timestamps (wall and CPU of the process, all threads) each chunk's completion (first scheme's call)."""

        def start(self, ctx):
            self.marks = [(0, time.perf_counter(), time.process_time())]

        def chunk(self, scheme, first_iteration, outcome):
            if scheme == SCHEMES[0]:
                self.marks.append((first_iteration + outcome.outcome.shape[0], time.perf_counter(),
                                   time.process_time()))

        def finish(self):
            return ObserverReport()

    sets = ["run.workload=synthetic-lenet", f"run.iterations={iterations}", f"run.chunk_iterations={chunk}",
            f"run.schemes={list(SCHEMES)!r}".replace("'", '"')]
    if timing:
        sets += ['run.observers=["timing"]', f"timing.access_pattern={timing}"]
    cfg = load_config(None, sets)
    clock = Clock(cfg)
    t0, c0 = time.perf_counter(), time.process_time()
    out = run_experiment(cfg, observers=[clock], progress=False)
    total, cpu_total = time.perf_counter() - t0, time.process_time() - c0
    skip = min(2, len(clock.marks) - 2)       # steady state: from the end of the 2nd chunk
    (i0, t_a, c_a), (i1, t_b, c_b) = clock.marks[skip], clock.marks[-1]
    s = out.summary.set_index("scheme")
    return {"iterations": iterations, "seconds": total, "cpu_seconds": cpu_total,
            "steady_it_s": (i1 - i0) / (t_b - t_a),
            "steady_cpu_s_per_it": (c_b - c_a) / (i1 - i0),
            "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "energy_ratio_wom": float(s.loc["appwom", "energy_pj"] / s.loc["wom-set", "energy_pj"])}


def generator_rate(iterations: int, chunk: int) -> float:
    from workloads import make_source

    src = make_source("synthetic-lenet", iterations=iterations, seed=0)
    it = src.iter_chunks(chunk)
    next(it)                                   # start-up excluded, as for the replay
    t0 = time.perf_counter()
    n = sum(b.shape[0] for b in it)
    return n / (time.perf_counter() - t0)


LENET_PARAMS = 431_080
#: The paper's networks: synthetic workload -> (parameters, the paper's training iterations).
NETWORKS = {"synthetic-lenet": (431_080, 47_000), "synthetic-densenet": (None, 50_000),
            "synthetic-googlenet": (None, 58_000)}


def network_params(workload: str) -> int:
    """Parameters of a synthetic network (from its generator's metadata)."""
    from workloads import make_source

    known = NETWORKS[workload][0]
    return known if known is not None else int(make_source(workload, iterations=1, seed=0).meta.n_params)


#: ``--timing`` variants of the difference method: the extra options of ``archsim run``.
VARIANTS = {"functional": [], "minimal": ["--timing", "--set", "timing.access_pattern=minimal"],
            "training": ["--timing", "--set", "timing.access_pattern=training"]}


def cli_run(tree: Path, iterations: int, workload: str = "synthetic-lenet", extra=()) -> tuple[float, float, float]:
    """One ``archsim run`` of ``iterations`` iterations on the source ``tree`` (a subprocess; ``extra``: more
    options): its wall time (s), CPU time (user + system over all threads, s) and peak memory (max RSS, MB)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    with tempfile.TemporaryDirectory(prefix="archsim-bench-") as out:
        cmd = [sys.executable, "-m", "archsim", "run", "--workload", workload, "--schemes",
               ",".join(SCHEMES), "--iterations", str(iterations), "--no-figures", "--no-progress",
               "--out", str(Path(out) / "r"), *extra]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        err = proc.stderr.read().decode(errors="replace")
        proc.stderr.close()
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            raise SystemExit(f"{' '.join(cmd)}: exit {proc.returncode}\n{err}")
        return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def difference(lengths: str, baseline: Path | None, repeat: int, workload: str = "synthetic-lenet",
               variants=("functional",), sets=()) -> None:
    n1, n2 = (int(x) for x in lengths.split(","))
    params, paper = network_params(workload), NETWORKS[workload][1]
    here = Path(__file__).resolve().parents[1]
    trees = ([("baseline", baseline.resolve())] if baseline else []) + [("this tree", here)]
    extra = [a for kv in sets for a in ("--set", kv)]
    best: dict[tuple[str, str, int], float] = {}
    best_cpu: dict[tuple[str, str, int], float] = {}
    rss: dict[tuple[str, str, int], float] = {}
    every: dict[tuple[str, str, int], list[float]] = {}
    for _ in range(repeat):                     # interleaved: the machine's load hits every tree alike
        for label, tree in trees:
            for v in variants:
                for n in (n1, n2):
                    t, cpu, m = cli_run(tree, n, workload, VARIANTS[v] + extra)
                    key = (label, v, n)
                    every.setdefault(key, []).append(t)
                    best[key] = min(best.get(key, float("inf")), t)
                    best_cpu[key] = min(best_cpu.get(key, float("inf")), cpu)
                    rss[key] = max(rss.get(key, 0.0), m)
    print(f"archsim run --workload {workload} --schemes {','.join(SCHEMES)} --iterations N --no-figures "
          f"{' '.join(extra)}  (variants: " + "; ".join(f"{v}: {' '.join(VARIANTS[v]) or '-'}" for v in variants) + ")")
    print(f"(best of {repeat}, interleaved; cost per parameter-iteration = {params:,} x (N2 - N1) / (t2 - t1))\n")
    print(f"{'tree':<12} {'variant':<11} {'t(' + str(n1) + ') s':>10} {'t(' + str(n2) + ') s':>10} "
          f"{'s/it':>8} {'M param-it/s':>13} {f'{paper // 1000}K it, min':>12} {'RSS(N1) MB':>11} "
          f"{'RSS(N2) MB':>11} {'vs ' + variants[0]:>15} {'vs baseline':>12}")
    rates = {}
    for label, tree in trees:
        for v in variants:
            t1, t2 = best[label, v, n1], best[label, v, n2]
            per_it = (t2 - t1) / (n2 - n1)
            rate = params * (n2 - n1) / (t2 - t1) if t2 > t1 else float("nan")
            rates[label, v] = rate
            eta = params * paper / rate / 60
            vs_first = rates[label, variants[0]] / rate
            ratio = rate / rates["baseline", v] if ("baseline", v) in rates else 1.0
            print(f"{label:<12} {v:<11} {t1:10.1f} {t2:10.1f} {per_it:8.4f} {rate / 1e6:13.1f} {eta:12.1f} "
                  f"{rss[label, v, n1]:11.0f} {rss[label, v, n2]:11.0f} {vs_first:14.2f}x {ratio:11.2f}x   ({tree})")
    # CPU time of the process (all threads): what the run costs the machine, much less sensitive to the load of a
    # shared machine than wall time; on 2 idle cores the wall rate could reach up to twice the CPU rate
    print(f"\n{'tree':<12} {'variant':<11} {'cpu(' + str(n1) + ') s':>10} {'cpu(' + str(n2) + ') s':>10} "
          f"{'M param-it/cpu-s':>17} {'vs baseline':>12}")
    cpu_rates = {}
    for label, _tree in trees:
        for v in variants:
            c1, c2 = best_cpu[label, v, n1], best_cpu[label, v, n2]
            rate = params * (n2 - n1) / (c2 - c1) if c2 > c1 else float("nan")
            cpu_rates[label, v] = rate
            ratio = rate / cpu_rates["baseline", v] if ("baseline", v) in cpu_rates else 1.0
            print(f"{label:<12} {v:<11} {c1:10.1f} {c2:10.1f} {rate / 1e6:17.1f} {ratio:11.2f}x")
    print("\nevery run, s: " + "; ".join(f"{label} {v} N={n}: " + ", ".join(f"{t:.1f}" for t in ts)
                                       for (label, v, n), ts in every.items()))


def steady_timing(args) -> None:
    """``--steady-timing PATTERN``: per tree, the steady-state wall and CPU seconds per iteration of
    ``archsim run --timing`` by the difference of two run lengths (in a child process each), and each run's
    max RSS. The difference cancels every one-time cost: start-up, the read-out, and the first touch of the
    per-cell wear arrays (allocated zeroed, their pages cleared by the kernel when the counters are first drained,
    at the 124th write), which a window by chunk of a short run would count as steady state; the by-chunk figure
    (from the 2nd chunk to the end of each run) is shown beside it."""
    here = Path(__file__).resolve().parents[1]
    trees = ([("baseline", args.baseline_tree.resolve())] if args.baseline_tree else []) + [("this tree", here)]
    n1, n2 = args.short, args.iterations
    if not 0 < n1 < n2:
        raise SystemExit(f"--steady-timing needs 0 < --short < --iterations, not {n1} and {n2}")
    rows: dict[tuple[str, int], list[dict]] = {}
    for _ in range(args.repeat):
        for label, tree in trees:
            for n in (n1, n2):
                cmd = [sys.executable, __file__, "--child", str(n), "--chunk", str(args.chunk),
                       "--child-timing", args.steady_timing]
                env = {**os.environ, "PYTHONPATH": str(tree)}
                out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env, cwd=tree)
                rows.setdefault((label, n), []).append(json.loads(out.stdout.splitlines()[-1]))
    print(f"archsim run --workload synthetic-lenet --schemes {','.join(SCHEMES)} --timing, "
          f"timing.access_pattern = {args.steady_timing}; steady state by the difference of runs of {n1} and {n2} "
          f"iterations (best of {args.repeat} rounds, interleaved), and by chunk from the 2nd chunk\n")
    lengths = f"({n1} / {n2})"
    print(f"{'tree':<12} {'wall s/it':>10} {'CPU s/it':>9} {'47K it, min':>12} {'vs baseline':>12} "
          f"{'by chunk s/it ' + lengths:>26} {'max RSS MB ' + lengths:>24}")
    base = None
    for label, tree in trees:
        r1, r2 = rows[label, n1], rows[label, n2]
        wall = (min(r["seconds"] for r in r2) - min(r["seconds"] for r in r1)) / (n2 - n1)
        cpu = (min(r["cpu_seconds"] for r in r2) - min(r["cpu_seconds"] for r in r1)) / (n2 - n1)
        if wall <= 0:  # the longer run was not longer: noise larger than the difference (lengthen the runs)
            wall = float("nan")
        if label == "baseline":
            base = wall
        ratio = base / wall if base is not None else 1.0
        chunked = " / ".join(f"{min(1 / r['steady_it_s'] for r in rs):.4f}" for rs in (r1, r2))
        rss = " / ".join(f"{max(r['maxrss_mb'] for r in rs):.0f}" for rs in (r1, r2))
        print(f"{label:<12} {wall:10.4f} {cpu:9.4f} {PAPER_ITERATIONS * wall / 60:12.1f} {ratio:11.2f}x "
              f"{chunked:>26} {rss:>24}   ({tree})")
    print("\nevery run, total wall s: " + "; ".join(f"{label} N={n}: " + ", ".join(f"{r['seconds']:.1f}" for r in rs)
                                                for (label, n), rs in rows.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iterations", type=int, default=1024, help="iterations of the timed run")
    ap.add_argument("--short", type=int, default=256,
                    help="iterations of the shorter run (peak memory; with --steady-timing the first length)")
    ap.add_argument("--chunk", type=int, default=64, help="run.chunk_iterations")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--child-timing", default="", help=argparse.SUPPRESS)
    ap.add_argument("--steady-timing", choices=("minimal", "training"),
                    help="the steady state of the timing model with this access pattern by the difference of runs of "
                         "--short and --iterations iterations (one-time costs cancelled), on this tree "
                         "and, with --baseline-tree, on that one, interleaved (--repeat rounds)")
    ap.add_argument("--difference", metavar="N1,N2", help="the difference method on the CLI at two run lengths")
    ap.add_argument("--baseline-tree", type=Path, help="with --difference: also run this source tree")
    ap.add_argument("--repeat", type=int, default=1, help="with --difference: best of this many runs")
    ap.add_argument("--workload", choices=sorted(NETWORKS), default="synthetic-lenet",
                    help="with --difference: the paper's network to run (default synthetic-lenet)")
    ap.add_argument("--timing", action="append", choices=("minimal", "training"), default=[],
                    help="with --difference: also run with --timing and this timing.access_pattern (repeatable); "
                         "the functional run is measured beside it, and the costs are given as ratios to it")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="with --difference: a configuration override for every run (repeatable)")
    ap.add_argument("--no-functional", action="store_true",
                    help="with --difference --timing: do not measure the functional run beside it")
    args = ap.parse_args()
    if args.difference:
        cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
                   platform.processor())
        load = " ".join(open("/proc/loadavg").read().split()[:3])
        print(f"# {time.strftime('%Y-%m-%d %H:%M')} — {os.cpu_count()} cores, {cpu}, load average {load}")
        variants = (() if args.timing and args.no_functional else ("functional",)) + tuple(args.timing)
        difference(args.difference, args.baseline_tree, args.repeat, args.workload, variants, args.set)
        return
    if args.child:
        print(json.dumps(child_run(args.child, args.chunk, args.child_timing)))
        return
    if args.steady_timing:
        steady_timing(args)
        return

    def spawn(n: int) -> dict:
        cmd = [sys.executable, __file__, "--child", str(n), "--chunk", str(args.chunk)]
        return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1])

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    print(f"machine: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}")
    print(f"LeNet-size synthetic trace (431,080 parameters), schemes {', '.join(SCHEMES)}, "
          f"chunks of {args.chunk} iterations\n")
    gen = generator_rate(min(args.iterations, 512), args.chunk)
    long = spawn(args.iterations)
    short = spawn(args.short)
    rate = long["steady_it_s"]
    eta = PAPER_ITERATIONS / rate
    print(f"{'what':<52} {'it/s':>8} {'vs generator':>13}")
    print(f"{'bare synthetic generator (baseline)':<52} {gen:8.1f} {1.0:12.2f}x")
    print(f"{'replay, 4 schemes, steady state':<52} {rate:8.1f} {rate / gen:12.2f}x")
    print()
    print(f"47K iterations (paper): {eta / 60:.1f} min at the steady-state rate "
          f"(target <= {TARGET_S // 60} min: {'met' if eta <= TARGET_S else 'NOT met'})")
    print(f"wall time of the timed run: {long['seconds']:.1f} s for {long['iterations']} iterations "
          f"(start-up included)")
    print(f"peak memory (max RSS): {short['maxrss_mb']:.0f} MB after {short['iterations']} iterations, "
          f"{long['maxrss_mb']:.0f} MB after {long['iterations']} iterations")
    print(f"(AppWOM / WOM-SET energy over the timed run: {long['energy_ratio_wom']:.3f})")


if __name__ == "__main__":
    main()
