"""The racetrack numbers of docs/wear-levelling.md and docs/racetrack.md (issue 12).

Racetrack wears per line (insertions + removals) and has no endurance, so the figures are the spread
of the line wear and the levelling overhead, not a lifetime:

1. The default racetrack workload (``archsim run --memory racetrack`` defaults: lenet-digits, 200
   iterations, every racetrack scheme) under ``none``, ``rotate``, ``start-gap`` and
   ``rotate-start-gap`` (default parameters): max / mean line wear of the scheme's logical lines and
   of the physical lines in the leveller's steady state, the copies' share of writes and energy,
   and the replay's wall time per leveller (ratio to ``none``, measured in the same run).
2. Lines worn unequally (the synthetic skew of scripts/wear_levelling.py): 256 lines of 16 float32
   words, 200 iterations; 8 hot lines take random-walk updates, the others keep their values. And
   the same memory with every line hot (equal wear).

Writes ``racetrack_wear_summary.csv`` and ``racetrack_wear_skew.csv`` into ``--out``; prints
markdown tables.

Run:  .venv/bin/python scripts/racetrack_wear_levelling.py [--out results/wear] [--iterations 200]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.wear_levelling import LEVELLERS, levelled_replay, markdown, skewed_trace  # noqa: E402

SKEW_SCHEMES = ("naive", "dcw", "fnw", "pw", "pw+fnw")
#: (label, leveller, extra settings) of the default-workload runs: the four levellers at their
#: defaults, and rotate at period 64 (at 256, a 200-iteration replay makes no copy).
RUNS = [(lv, lv, []) for lv in LEVELLERS] + [("rotate period=64", "rotate", ["wear_leveling.period=64"])]


def _row(result, iterations: int) -> dict:
    """The line-wear figures of one result (levelled or not), per iteration."""
    from archsim.wear import levelling_columns

    cols = levelling_columns(result)
    if cols:
        logical_max, logical_mean = cols["line_wear_max"], cols["line_wear_mean"]
        steady_max, replay_max = cols["levelled_steady_line_wear_max"], cols["levelled_line_wear_max"]
    else:  # no leveller: the lines are the physical lines
        s = result.summary()
        lines = s["line_writes"] // max(1, s["iterations"])
        logical_max = steady_max = replay_max = None
        logical_mean = (s["insertions"] + s["removals"]) / max(1, lines)
    return {
        "line_wear_max": logical_max, "line_wear_mean": logical_mean,
        "levelled_steady_line_wear_max": steady_max, "levelled_line_wear_max": replay_max,
        "levelling_write_share": cols.get("levelling_write_share", 0.0),
        "levelling_energy_share": cols.get("levelling_energy_share", 0.0),
        "levelling_line_writes": cols.get("levelling_line_writes", 0),
    }


def default_workload(iterations: int) -> pd.DataFrame:
    from archsim.config import load_config
    from archsim.run import RunLoop

    rows = []
    warm = RunLoop(load_config(None, ["run.memory=racetrack", f"run.iterations={iterations}"]))
    warm.replay(progress=False, approximation=False, workers=1)  # records (caches) the trace: not timed
    for label, lv, extra in RUNS:
        cfg = load_config(None, ["run.memory=racetrack", f"wear_leveling={lv}", f"run.iterations={iterations}",
                                 *extra])
        loop = RunLoop(cfg)
        t0 = time.perf_counter()
        loop.replay(progress=False, approximation=False, workers=1)
        wall = time.perf_counter() - t0
        for scheme, stream, result, _err in loop.results():
            row = {"scheme": scheme, "wear_leveling": label, "replay_wall_s": wall}
            row["levelling_insertions"] = result.levelling_costs().get("levelling_insertions", 0)
            row.update(_row(result, iterations))
            rows.append(row)
    df = pd.DataFrame(rows)
    # the logical line wear does not depend on the leveller: take it from a levelled run for "none" too
    ref = df[df["wear_leveling"] == "start-gap"].set_index("scheme")
    none = df["wear_leveling"] == "none"
    for col in ("line_wear_max", "line_wear_mean"):
        df.loc[none, col] = df.loc[none, "scheme"].map(ref[col]).to_numpy()
    df.loc[none, "levelled_steady_line_wear_max"] = df.loc[none, "line_wear_max"]
    df.loc[none, "levelled_line_wear_max"] = df.loc[none, "line_wear_max"]
    return _ratios(df)


def _ratios(df: pd.DataFrame) -> pd.DataFrame:
    """Max line wear over the scheme's mean line wear (1 = every line worn alike, no overhead): of the
    logical lines, of the physical lines in the steady state and as the replay left them."""
    df = df.copy()
    mean = df["line_wear_mean"].astype(float)
    safe = mean.where(mean > 0, 1.0)
    for col, out in (("line_wear_max", "max_over_mean"), ("levelled_steady_line_wear_max", "steady_max_over_mean"),
                     ("levelled_line_wear_max", "replay_max_over_mean")):
        df[out] = np.where(mean > 0, df[col].astype(float) / safe, np.nan)
    return df


def skew(iterations: int, hot_lines: int, lines: int = 256, words: int = 16, seed: int = 0) -> pd.DataFrame:
    from archsim.config import load_config

    trace = skewed_trace(iterations, hot_lines, lines, words, seed)
    rows = []
    for lv in ("start-gap",):
        cfg = load_config(None, ["run.memory=racetrack", f"wear_leveling={lv}"])  # psi = 100, one region
        for scheme in SKEW_SCHEMES:
            row = {"hot_lines": hot_lines, "scheme": scheme, "wear_leveling": lv}
            row.update(_row(levelled_replay(trace, "racetrack", scheme, lv, cfg), iterations))
            rows.append(row)
    return _ratios(pd.DataFrame(rows))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="results/wear")
    ap.add_argument("--iterations", type=int, default=200)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    summary = default_workload(args.iterations)
    summary.to_csv(out / "racetrack_wear_summary.csv", index=False)
    print("## default racetrack workload\n")
    print(markdown(summary, ["scheme", "wear_leveling", "line_wear_max", "line_wear_mean", "max_over_mean",
                             "steady_max_over_mean", "replay_max_over_mean", "levelling_write_share",
                             "levelling_energy_share", "levelling_insertions"]))
    walls = summary.groupby("wear_leveling", sort=False)["replay_wall_s"].first()
    print("\nreplay wall time (s), ratio to none:",
          {lv: (round(float(walls[lv]), 2), round(float(walls[lv] / walls["none"]), 2)) for lv in walls.index})
    sk = pd.concat([skew(args.iterations, 8), skew(args.iterations, 256)], ignore_index=True)
    sk.to_csv(out / "racetrack_wear_skew.csv", index=False)
    print("\n## skewed lines (8 of 256 hot) and equal lines (256 of 256 hot), start-gap\n")
    print(markdown(sk, ["hot_lines", "scheme", "line_wear_max", "line_wear_mean", "max_over_mean",
                        "steady_max_over_mean", "replay_max_over_mean", "levelling_write_share",
                        "levelling_energy_share"]))


if __name__ == "__main__":
    main()
