"""Line requests per second through the timing model: the fast engine and the event-per-request
reference, side by side on the same trace (the ratio is the figure).

    .venv/bin/python benchmarks/bench_timing.py [--iterations 20] [--repeat 7] [--no-policies]
    .venv/bin/python benchmarks/bench_timing.py --workload synthetic-lenet --iterations 16 --no-reference --no-policies

``--workload``: the trace (default lenet-digits, 1,238 weight lines; synthetic-lenet is the paper's LeNet,
27K weight lines and 161K intermediate lines, where the kernel's state no longer fits in the caches);
``--no-reference``: skip the event-per-request engine (about 30 K requests/s: minutes at paper scale).

The functional side (service times, the intermediate data's encoding) is prepared once
per pattern and scheme; the timed part is the SimPy side: front end, controllers, banks,
refreshes (``TimingModel.simulate`` and ``finish``). Both engines are checked to give the
same statistics. Targets (quality.md): fast >= 1 M requests/s and >= 10x the reference.
The fast engine runs ``--repeat`` times: its best and its median rate are printed (on a shared
machine the median says what a run can count on); ``tables ms`` is the part of the best run spent
building the result tables (``finish``), a cost per run, not per request, and ``sim M/s`` the rate of
the best run without it (what a long run streams at).

A second table runs the training pattern (preset) under each controller policy: the compiled
twins (read-first, fcfs, fr-fcfs with open rows, write-cancel, write-pause) and the
request-level Python policy of the tutorial (docs/examples/least_worn_policy.py, called
from the kernel), with the cost of one Python decision: the extra time over the compiled
read-first run divided by the decisions the policy made (counted).
"""
from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import workloads
from archsim.config import Config, replace
from archsim.layout import AddressLayout
from archsim.contracts import TECHNOLOGIES
from archsim.registry import load_plugin
from archsim.timing.model import TimingModel
from archsim.timing.scheduling import SCHEDULING_POLICIES

POLICIES = (("read-first", {}), ("fcfs", {}), ("fr-fcfs", {"timing.page_policy": "open"}),
            ("write-cancel", {}), ("write-pause", {}), ("least-worn", {}))


def run(cfg, scheme, source, layout, prepared, engine):
    m = TimingModel(cfg, technology=TECHNOLOGIES.get("pcm"), scheme=scheme, layout=layout, meta=source.meta,
                    engine=engine)
    t0 = time.perf_counter()
    for w, r, extra in prepared:
        m.simulate(w, r, extra)
    m.system.drain()
    t1 = time.perf_counter()
    res = m.finish()
    dt = time.perf_counter() - t0
    res.tables_s = time.perf_counter() - t1
    return int(res.stats.req[:, :, 0].sum()), dt, res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=7, help="runs of the fast engine (best and median)")
    ap.add_argument("--no-policies", action="store_true", help="skip the table of controller policies")
    ap.add_argument("--workload", default="lenet-digits", help="the trace's workload (default lenet-digits)")
    ap.add_argument("--no-reference", action="store_true", help="skip the event-per-request reference engine")
    args = ap.parse_args()
    source = workloads.make_source(args.workload, iterations=args.iterations, seed=0)
    base = Config()
    layout = AddressLayout.from_meta(source.meta, base.layout)
    tech = TECHNOLOGIES.get("pcm")
    print(f"python {platform.python_version()}, {platform.processor() or platform.machine()}, "
          f"{args.workload}, {args.iterations} iterations, {layout.lines} weight lines")
    print(f"{'pattern':9} {'scheme':9} {'requests':>9} {'fast M/s':>9} {'median':>7} {'tables ms':>9} "
          f"{'sim M/s':>8} {'reference M/s':>14} {'ratio':>7}  same")
    results = []
    for pattern, extra in (("training", {}), ("minimal", {"timing.access_pattern": "minimal", "timing.gap_ns": 5e4})):
        cfg = replace(base, extra)
        for scheme in ("preset", "appwom"):
            stream = tech.open_stream(scheme, lines=layout.lines, words=layout.words_per_line, config=cfg)
            prep_model = TimingModel(cfg, technology=tech, scheme=scheme, layout=layout, meta=source.meta)
            prepared = [prep_model.prepare(stream.feed(layout.to_lines(c)).outcome) for c in source.iter_chunks(8)]
            times, tables = [], {}
            for _ in range(args.repeat):
                n, dt, fast = run(cfg, scheme, source, layout, prepared, "fast")
                times.append(dt)
                tables[dt] = fast.tables_s
            best, median = min(times), sorted(times)[len(times) // 2]
            if args.no_reference:
                ref_rate, ratio, same = f"{'-':>14}", f"{'-':>7}", "-"
            else:
                n_ref, dt_ref, ref = run(cfg, scheme, source, layout, prepared, "reference")
                same = fast.stats.equal(ref.stats) and fast.elapsed_ps == ref.elapsed_ps
                ref_rate, ratio = f"{n_ref / dt_ref / 1e6:14.3f}", f"{dt_ref / best:6.1f}x"
            print(f"{pattern:9} {scheme:9} {n:9d} {n / best / 1e6:9.2f} {n / median / 1e6:7.2f} "
                  f"{tables[best] * 1e3:9.1f} {n / (best - tables[best]) / 1e6:8.2f} {ref_rate} {ratio}  {same}")
    if not args.no_policies:
        policies(args, source, base, layout, tech)


def policies(args, source, base, layout, tech) -> None:
    if "least-worn" not in SCHEDULING_POLICIES:
        load_plugin(str(Path(__file__).resolve().parents[1] / "docs" / "examples" / "least_worn_policy.py"))
    lw = SCHEDULING_POLICIES.get("least-worn")
    calls = [0]
    real_select = lw.select

    def counted(self, view):
        calls[0] += 1
        return real_select(self, view)

    print()
    print("training pattern, preset, per controller policy (fast engine best of N; reference once)")
    print(f"{'policy':13} {'requests':>9} {'fast M/s':>9} {'reference M/s':>14} {'ratio':>7}  same  decisions"
          f"  us/decision")
    scheme = "preset"
    stream = tech.open_stream(scheme, lines=layout.lines, words=layout.words_per_line, config=base)
    chunks = [stream.feed(layout.to_lines(c)).outcome for c in source.iter_chunks(8)]
    base_dt = None
    for name, extra in POLICIES:
        cfg = replace(base, {"timing.scheduling": name, **extra})
        prep_model = TimingModel(cfg, technology=tech, scheme=scheme, layout=layout, meta=source.meta)
        prepared = [prep_model.prepare(c) for c in chunks]
        best = None
        for _ in range(args.repeat):
            calls[0] = 0
            lw.select = counted
            try:
                n, dt, fast = run(cfg, scheme, source, layout, prepared, "fast")
            finally:
                lw.select = real_select
            best = dt if best is None else min(best, dt)
        decisions = calls[0]
        n_ref, dt_ref, ref = run(cfg, scheme, source, layout, prepared, "reference")
        same = fast.stats.equal(ref.stats) and fast.elapsed_ps == ref.elapsed_ps
        if name == "read-first":
            base_dt = best
        cost = f"{(best - base_dt) / decisions * 1e6:11.2f}" if decisions else f"{'compiled':>11}"
        print(f"{name:13} {n:9d} {n / best / 1e6:9.2f} {n_ref / dt_ref / 1e6:14.3f} {dt_ref / best:6.1f}x  "
              f"{str(same):5} {decisions:9d}  {cost}")


if __name__ == "__main__":
    main()
