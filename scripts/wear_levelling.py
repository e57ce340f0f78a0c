"""The numbers and figures of docs/wear-levelling.md and the wear-levelling part of docs/validation.md.

1. The default workload (``archsim run`` defaults: lenet-digits, 200 iterations, the six PCM schemes)
   under ``none``, ``rotate``, ``start-gap`` and ``rotate-start-gap`` (default parameters): lifetime definitions side by
   side, levelling overhead, AppWOM's lifetime ratios to PreSET / PreRESET / WOM-SET per leveller.
2. Lines worn unequally (a synthetic skew): 256 lines of 16 float32 words, 200 iterations; 8 hot
   lines take random-walk updates, the others keep their values (their writes program nothing).
   And the same memory with every line hot (equal wear).

Writes ``wear_summary.csv``, ``wear_distribution.csv``, ``wear_skew.csv`` and the figures
``wear_distribution.png/.pdf`` and ``wear_lifetime.png/.pdf`` into ``--out``; prints markdown tables.

Run:  .venv/bin/python scripts/wear_levelling.py [--out results/wear] [--iterations 200]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

LEVELLERS = ("none", "rotate", "start-gap", "rotate-start-gap")
COLUMNS = ["scheme", "wear_leveling", "lifetime_iterations", "lifetime_mean_iterations",
           "lifetime_levelled_iterations", "lifetime_replay_levelled_iterations", "lifetime_years",
           "levelling_write_share", "levelling_energy_share"]


def default_workload(iterations: int, bins: np.ndarray):
    from archsim.config import load_config
    from archsim.run import RunLoop
    from archsim.wear import lifetime_columns, wear_histogram

    rows, hist = [], []
    for lv in LEVELLERS:
        cfg = load_config(None, [f"wear_leveling={lv}", f"run.iterations={iterations}"])
        loop = RunLoop(cfg)
        loop.replay(progress=False, approximation=False)
        endurance = loop.technology.endurance(loop.config)
        for scheme, _stream, result, _err in loop.results():
            row = dict(result.summary())
            row.update(lifetime_columns(result, iterations=iterations, endurance=endurance,
                                        iteration_time_s=cfg.run.iteration_time_s, time_source="run.iteration_time_s"))
            rows.append(row)
            counts = wear_histogram(result.steady_wear() / iterations, bins)
            hist.append(pd.DataFrame({"scheme": scheme, "leveller": lv, "bin_lo": bins[:-1], "bin_hi": bins[1:],
                                      "cells": counts}))
    order = {s: i for i, s in enumerate(("preset", "prereset", "dcw", "fnw", "wom-set", "appwom"))}
    summary = pd.DataFrame(rows)
    summary = summary.sort_values(["wear_leveling", "scheme"], key=lambda c: c.map(
        {**order, **{lv: i for i, lv in enumerate(LEVELLERS)}})).reset_index(drop=True)
    return summary, pd.concat(hist, ignore_index=True)


def skewed_trace(iterations: int, hot_lines: int, lines: int = 256, words: int = 16, seed: int = 0) -> np.ndarray:
    """(iterations, lines, words) float32 values of which only ``hot_lines`` random lines change: a workload
    with hot lines (NN weight updates write every line equally often)."""
    rng = np.random.default_rng(seed)
    w = rng.normal(0, 0.05, size=(lines, words)).astype(np.float32)
    hot = rng.choice(lines, size=hot_lines, replace=False)
    trace = np.empty((iterations, lines, words), np.float32)
    for t in range(iterations):
        w[hot] -= np.float32(1e-3) * rng.normal(0, 1, size=(hot_lines, words)).astype(np.float32)
        trace[t] = w
    return trace


def levelled_replay(trace: np.ndarray, memory: str, scheme: str, leveller: str, cfg):
    """The result of replaying ``trace`` (T, lines, words) under ``scheme`` of ``memory`` and ``leveller``."""
    from archsim.contracts import TECHNOLOGIES
    from archsim.wear import WEAR_LEVELLERS

    tech = TECHNOLOGIES.get(memory)
    lv = WEAR_LEVELLERS.get(leveller)(cfg.wear_leveling.params)
    stream = lv.wrap(tech.open_stream(scheme, lines=trace.shape[1], words=trace.shape[2], config=cfg), tech, cfg)
    for t in range(0, trace.shape[0], 64):
        stream.feed(trace[t:t + 64])
    return stream.result()


def skew(iterations: int, hot_lines: int, lines: int = 256, words: int = 16, seed: int = 0) -> pd.DataFrame:
    from archsim.config import load_config
    from archsim.contracts import TECHNOLOGIES
    from archsim.wear import lifetime_columns

    trace = skewed_trace(iterations, hot_lines, lines, words, seed)
    tech = TECHNOLOGIES.get("pcm")
    rows = []
    for lv in LEVELLERS:
        cfg = load_config(None, [f"wear_leveling={lv}"])
        for scheme in ("preset", "dcw", "appwom"):
            result = levelled_replay(trace, "pcm", scheme, lv, cfg)
            row = {"hot_lines": hot_lines, "scheme": scheme, "wear_leveling": lv}
            row.update(lifetime_columns(result, iterations=iterations, endurance=tech.endurance(cfg),
                                        iteration_time_s=cfg.run.iteration_time_s, time_source="run.iteration_time_s"))
            row["lifetime_iterations"] = result.lifetime_iterations()
            rows.append(row)
    return pd.DataFrame(rows)


def markdown(df: pd.DataFrame, cols) -> str:
    def fmt(v):
        if isinstance(v, float):
            return f"{v:.3g}"
        return str(v)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        lines.append("| " + " | ".join(fmt(r[c]) for c in cols) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="results/wear")
    ap.add_argument("--iterations", type=int, default=200)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    import plots

    bins = np.linspace(0, 2.0, 41)
    summary, hist = default_workload(args.iterations, bins)
    summary.to_csv(out / "wear_summary.csv", index=False)
    hist.to_csv(out / "wear_distribution.csv", index=False)
    print("## default workload\n")
    print(markdown(summary, COLUMNS))
    s = summary.copy()
    s["levelled_over_mean"] = s["lifetime_levelled_iterations"] / s["lifetime_mean_iterations"]
    print("\n### levelled lifetime / mean-wear bound\n")
    print(s.pivot(index="scheme", columns="wear_leveling", values="levelled_over_mean").to_string())
    print("\n### AppWOM lifetime ratios (levelled lifetime)\n")
    for lv in LEVELLERS:
        part = summary[summary["wear_leveling"] == lv].set_index("scheme")
        a = part.loc["appwom", "lifetime_levelled_iterations"]
        print(lv, {b: round(float(a / part.loc[b, "lifetime_levelled_iterations"]), 3)
                   for b in ("preset", "prereset", "wom-set")},
              "mean bound:", {b: round(float(part.loc["appwom", "lifetime_mean_iterations"]
                                             / part.loc[b, "lifetime_mean_iterations"]), 3)
                              for b in ("preset", "prereset", "wom-set")})
    for fig, name in ((plots.wear_distribution_figure(hist, title="lenet-digits"), "wear_distribution"),
                      (plots.lifetime_levellers_figure(summary, title="lenet-digits"), "wear_lifetime")):
        for ext in ("png", "pdf"):
            fig.savefig(out / f"{name}.{ext}", dpi=150)
    sk = pd.concat([skew(args.iterations, 8), skew(args.iterations, 256)], ignore_index=True)
    sk.to_csv(out / "wear_skew.csv", index=False)
    print("\n## skewed lines (8 of 256 hot) and equal lines (256 of 256 hot)\n")
    print(markdown(sk, ["hot_lines", "scheme", "wear_leveling", "lifetime_iterations", "lifetime_mean_iterations",
                        "lifetime_levelled_iterations", "levelling_write_share", "levelling_energy_share"]))


if __name__ == "__main__":
    main()
