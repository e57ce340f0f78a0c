"""The controller policies against the literature's directions (docs/validation.md).

    .venv/bin/python scripts/controller_validation.py [--out docs/validation-controller] [--iterations 8]

1. Read latency on the built-in training traffic (mlp-digits, ``archsim run --timing``) under
   read-first, write-cancel and write-pause (Qureshi et al. HPCA 2010: both lower it).
2. Row-hit rate, FR-FCFS against FCFS, with open rows: on the training traffic, and on a trace
   with row locality that arrives interleaved (two sequential streams to rows of the same banks).
3. AppWOM against PreRESET, queued average write latency, over access pattern x idle time x
   policy (the paper reports 31-46 % lower).

Writes CSV tables and PNG/PDF figures into ``--out`` and prints the tables.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "helpers"))


def archsim(argv: list[str]) -> None:
    from archsim.cli import main

    print("$ archsim " + " ".join(argv), flush=True)
    status = main(argv)
    if status:
        raise SystemExit(f"archsim exited {status}")


def read_latency(out: Path, iterations: int) -> pd.DataFrame:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for policy in ("read-first", "write-cancel", "write-pause"):
            d = Path(tmp) / policy
            archsim(["run", "--workload", "mlp-digits", "--iterations", str(iterations), "--timing", "--schemes",
                     "preset,prereset,appwom", "--set", f"timing.scheduling={policy}", "--out", str(d),
                     "--no-figures", "--no-progress"])
            s = pd.read_csv(d / "summary.csv")
            for _, r in s.iterrows():
                rows.append({"policy": policy, "scheme": r["scheme"],
                             "queued_avg_read_latency_ns": r["queued_avg_read_latency_ns"],
                             "queued_avg_write_latency_ns": r["queued_avg_write_latency_ns"],
                             "write_cancellations": r["write_cancellations"], "write_pauses": r["write_pauses"]})
    df = pd.DataFrame(rows)
    base = df[df.policy == "read-first"].set_index("scheme")["queued_avg_read_latency_ns"]
    df["read_latency_vs_read_first"] = df["queued_avg_read_latency_ns"] / df["scheme"].map(base) - 1
    return df


def row_hits_training(iterations: int) -> pd.DataFrame:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for policy in ("fcfs", "fr-fcfs"):
            d = Path(tmp) / policy
            archsim(["run", "--workload", "mlp-digits", "--iterations", str(iterations), "--timing", "--schemes",
                     "preset,appwom", "--set", f"timing.scheduling={policy}", "--set", "timing.page_policy=open",
                     "--out", str(d), "--no-figures", "--no-progress"])
            s = pd.read_csv(d / "summary.csv")
            for _, r in s.iterrows():
                rows.append({"trace": "training (mlp-digits)", "policy": policy, "scheme": r["scheme"],
                             "row_hit_rate": r["row_hit_rate"],
                             "queued_avg_read_latency_ns": r["queued_avg_read_latency_ns"]})
    return pd.DataFrame(rows)


def row_hits_interleaved() -> pd.DataFrame:
    """Two sequential read streams (rows 0.. and rows 1000.. of 16 banks) interleaved request by
    request, in bursts of 64, with writes between the bursts; one channel, defaults otherwise."""
    from _timing_helpers import ACCEPTED, COMPLETED, READ, WRITE, build, drive, timing
    from archsim.timing.stats import B_ROW_HITS, R_COUNT

    row_lines, banks = 32, 16
    per_row = row_lines * banks  # RoCoBaRaCh: line = (row * row_lines + column) * banks + bank
    lines = 2048 * per_row
    rows = []
    for policy in ("fcfs", "fr-fcfs"):
        t = timing(ranks=2, banks=8, scheduling=policy, page_policy="open", read_queue=32, write_queue=32,
                   requests_in_flight=64)
        env, system, stats = build("fast", t, lines, read_ns=125.0)
        bursts = []
        a, b = 0, 1000 * per_row
        for _ in range(64):
            reqs = []
            for _i in range(32):
                reqs += [(a, 0, 0), (b, 0, 0)]
                a += 1
                b += 1
            bursts.append((0, READ, reqs, COMPLETED))
            bursts.append((0, WRITE, [(500 * per_row + (a % per_row), 125, 0)], ACCEPTED))
        drive(env, system, bursts, lines)
        reads = int(stats.req[:, READ, R_COUNT].sum())
        rows.append({"trace": "two interleaved streams", "policy": policy, "scheme": "-",
                     "row_hit_rate": stats.bank[:, B_ROW_HITS].sum() / reads,
                     "queued_avg_read_latency_ns": stats.req[:, READ, 1].sum() / reads / 1000})
    return pd.DataFrame(rows)


def appwom_sweep(iterations: int) -> pd.DataFrame:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for pattern in ("training", "minimal"):
            for policy in ("read-first", "write-cancel"):
                for gap in (1000, 10000, 100000):
                    d = Path(tmp) / f"{pattern}-{policy}-{gap}"
                    extra = ["--set", "timing.compute_model=fixed"] if pattern == "training" else []
                    archsim(["timing", "run", "--set", "run.workload=mlp-digits", "--set",
                             f"timing.access_pattern={pattern}", *extra, "--set", f"timing.gap_ns={gap}",
                             "--set", f"timing.scheduling={policy}", "--schemes", "prereset,appwom",
                             "--iterations", str(iterations), "--out", str(d), "--no-progress"])
                    s = pd.read_csv(d / "timing_summary.csv").set_index("scheme")
                    pre, app = s.loc["prereset"], s.loc["appwom"]
                    rows.append({"pattern": pattern, "policy": policy, "gap_ns": gap,
                                 "prereset_write_ns": pre["queued_avg_write_latency_ns"],
                                 "appwom_write_ns": app["queued_avg_write_latency_ns"],
                                 "prereset_device_ns": pre["device_avg_write_latency_ns"],
                                 "appwom_device_ns": app["device_avg_write_latency_ns"],
                                 "appwom_refresh_misses": app["refresh_misses"],
                                 "ratio": app["queued_avg_write_latency_ns"] / pre["queued_avg_write_latency_ns"]})
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "docs" / "validation-controller"))
    ap.add_argument("--iterations", type=int, default=8)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from plots import appwom_prereset_figure, read_latency_by_policy_figure

    lat = read_latency(out, args.iterations)
    hits = pd.concat([row_hits_training(args.iterations), row_hits_interleaved()], ignore_index=True)
    sweep = appwom_sweep(args.iterations)
    for name, df in (("read_latency_by_policy", lat), ("row_hits", hits), ("appwom_prereset_sweep", sweep)):
        df.to_csv(out / f"{name}.csv", index=False)
        print(f"\n{name}\n" + df.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    for name, fig in (("read_latency_by_policy", read_latency_by_policy_figure(lat)),
                      ("appwom_prereset_sweep", appwom_prereset_figure(sweep))):
        for ext in ("png", "pdf"):
            fig.savefig(out / f"{name}.{ext}", dpi=120)


if __name__ == "__main__":
    main()
