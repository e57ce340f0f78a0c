"""The numbers and figure of the DAP accuracy part of docs/validation.md.

1. The seed's table in direction: ``archsim accuracy`` (baseline, ps, dap; intermediate data through
   the memory) on ``--workload`` for every seed of ``--seeds``.
2. A sweep of ``dap.retention_s`` (other ``[dap]`` keys at their defaults) for ``--sweep-schemes``
   (default ``dap``) over the same seeds: where DAP's accuracy starts to fall. The default retention's
   point is the seed table's run. ``--scaled-retentions``: the same with ``dap.weibull_scale_s`` set
   to the retention (the whole decay-time law scaled, not only its failure-free part).

Writes ``dap_seeds.csv``, ``dap_retention.csv`` and the figure ``dap_retention.png/.pdf`` into
``--out``; prints markdown tables. Each run is ``archsim.accuracy.run_accuracy`` with the command's
defaults, so a row is what ``archsim accuracy --workload W --iterations N --seed S
[--set dap.retention_s=R]`` prints.

Run:  OMP_NUM_THREADS=1 .venv/bin/python scripts/dap_validation.py --out results/dap
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RETENTIONS = (0.001, 0.003, 0.01, 0.03, 1.0)
COLUMNS = ["seed", "retention_s", "scheme", "train_accuracy", "test_accuracy", "decayed_weight_cells",
           "decayed_intermediate_cells", "intermediate_lossy_set_flips", "lossy_set_flips"]


def runs(workload: str, iterations: int, seeds, retentions, out: Path,
         sweep_schemes=("dap",), scaled=()) -> tuple[pd.DataFrame, pd.DataFrame]:
    from archsim.accuracy import run_accuracy
    from archsim.config import load_config

    seed_rows, sweep_rows = [], []
    for seed in seeds:
        t = run_accuracy(load_config(None), workload=workload, schemes=["baseline", "ps", "dap"],
                         iterations=iterations, seed=seed, eval_every=iterations, progress=False,
                         checkpoint_dir=out / ".checkpoints" / f"seed{seed}").table
        t = t.assign(seed=seed, retention_s=[float("nan") if s == "baseline" else load_config(None).dap.retention_s
                                             for s in t["scheme"]])
        seed_rows.append(t)
        print(t[["seed", "scheme", "test_accuracy", "train_accuracy", "decayed_weight_cells",
                 "decayed_intermediate_cells"]].to_string(index=False), flush=True)
        sweep_rows.append(t[t["scheme"].isin(["baseline", *sweep_schemes])][COLUMNS])
        for r in retentions:
            cfg = load_config(None, [f"dap.retention_s={r}"])
            tr = run_accuracy(cfg, workload=workload, schemes=list(sweep_schemes), iterations=iterations, seed=seed,
                              eval_every=iterations, progress=False,
                              checkpoint_dir=out / ".checkpoints" / f"seed{seed}-r{r}").table
            tr = tr.assign(seed=seed, retention_s=r)
            sweep_rows.append(tr[COLUMNS])
            print(tr[["seed", "retention_s", "scheme", "test_accuracy", "decayed_weight_cells",
                      "decayed_intermediate_cells"]].to_string(index=False, header=False), flush=True)
        for r in scaled:  # the whole decay law scaled: weibull_scale_s = retention_s
            if r == load_config(None).dap.retention_s == load_config(None).dap.weibull_scale_s:
                tr = t[t["scheme"].isin(sweep_schemes)].copy()
            else:
                cfg = load_config(None, [f"dap.retention_s={r}", f"dap.weibull_scale_s={r}"])
                tr = run_accuracy(cfg, workload=workload, schemes=list(sweep_schemes), iterations=iterations,
                                  seed=seed, eval_every=iterations, progress=False,
                                  checkpoint_dir=out / ".checkpoints" / f"seed{seed}-r{r}-scaled").table
            tr = tr.assign(seed=seed, retention_s=r, scheme=[f"{s} (weibull_scale_s = retention_s)" for s in tr["scheme"]])
            sweep_rows.append(tr[COLUMNS])
            print(tr[["seed", "retention_s", "scheme", "test_accuracy", "decayed_weight_cells",
                      "decayed_intermediate_cells"]].to_string(index=False, header=False), flush=True)
    return pd.concat(seed_rows, ignore_index=True), pd.concat(sweep_rows, ignore_index=True)


def longest_lifetime_s(workload: str) -> float:
    """The longest intermediate lifetime of ``workload`` under the default clock (s)."""
    from archsim.accuracy import _model_description
    from archsim.closed_loop import IterationClock
    from archsim.config import load_config
    from workloads import WORKLOADS

    cfg = load_config(None)
    tensors, schedule, batch = _model_description(WORKLOADS.get(workload)(), 0, {})
    clock = IterationClock(cfg.run.iteration_time_s, tensors, schedule, batch)
    return max(clock.read_time(t.name, 0) - clock.write_time(t.name, 0) for t in tensors if t.kind == "intermediate")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="results/dap")
    ap.add_argument("--workload", default="lenet-digits")
    ap.add_argument("--iterations", type=int, default=1000)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--retentions", default=",".join(str(r) for r in RETENTIONS))
    ap.add_argument("--sweep-schemes", default="dap")
    ap.add_argument("--scaled-retentions", default="",
                    help="retentions at which to run with weibull_scale_s = retention_s too (the whole law scaled)")
    a = ap.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = [int(s) for s in a.seeds.split(",")]
    rets = [float(r) for r in a.retentions.split(",") if r]
    scaled = [float(r) for r in a.scaled_retentions.split(",") if r]
    seeds_t, sweep = runs(a.workload, a.iterations, seeds, rets, out, tuple(a.sweep_schemes.split(",")), scaled)
    seeds_t.to_csv(out / "dap_seeds.csv", index=False)
    sweep.to_csv(out / "dap_retention.csv", index=False)
    from archsim.config import load_config
    from plots.dap import retention_sweep_figure

    fig = retention_sweep_figure(sweep, lifetime_s=longest_lifetime_s(a.workload),
                                 iteration_time_s=load_config(None).run.iteration_time_s,
                                 title=f"{a.workload}, {a.iterations} iterations, seeds {a.seeds}")
    for ext in ("png", "pdf"):
        fig.savefig(out / f"dap_retention.{ext}", dpi=130)
    piv = seeds_t.pivot_table(index="seed", columns="scheme", values="test_accuracy")
    print(piv.to_string())
    g = sweep[sweep["retention_s"].notna()].groupby(["scheme", "retention_s"])["test_accuracy"].agg(["mean", "min", "max"])
    print(g.to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
