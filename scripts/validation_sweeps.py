"""The AppWOM / WOM-SET energy sweep of docs/validation.md: its two tables and figures from the folders of

    archsim sweep --config docs/sweeps/validation-digits.toml --out sweeps/validation-digits
    archsim sweep --config docs/sweeps/validation-synthetic.toml --out sweeps/validation-synthetic

(learning rate x line size x refresh unit). Prints each sweep's AppWOM / WOM-SET energy per point as a markdown
table and AppWOM's range against PreSET and PreRESET, and writes ``appwom_womset_energy_<name>.png`` into
``--out`` (``plots.scheme_ratio_figure`` over the combined sweep table, ``archsim.sweep.load_results``).

Run:  .venv/bin/python scripts/validation_sweeps.py sweeps/validation-digits sweeps/validation-synthetic --out docs/figures
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

KEYS = ["encoding.refresh_unit", "layout.line_bytes", "run.workload.lr"]


def main() -> None:
    import plots
    from archsim.sweep import load_results
    from plots.sweep import scheme_ratio_table

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sweeps", nargs="+", type=Path, help="complete folders of the two validation sweeps")
    ap.add_argument("--out", type=Path, required=True, help="folder for the figures")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for folder in args.sweeps:
        table = load_results(folder, complete=True)
        workload = str(table["workload"].iloc[0]) if "workload" in table.columns else folder.name
        iterations = int(table["iterations"].iloc[0])
        ratio = scheme_ratio_table(table, numerator="appwom", denominator="wom-set", metric="energy_pj", keys=KEYS)
        grid = ratio.pivot_table(index=KEYS[:2], columns=KEYS[2], values="ratio")
        print(f"\n{folder}: {workload}, {iterations} iterations a point; AppWOM / WOM-SET energy\n")
        print("| refresh unit | line bytes | " + " | ".join(f"lr {lr:g}" for lr in grid.columns) + " |")
        print("| --- | ---: | " + " | ".join("---:" for _ in grid.columns) + " |")
        for (unit, line), row in grid.iterrows():
            print(f"| {unit} | {line} | " + " | ".join(f"{v:.3f}" for v in row) + " |")
        for other in ("preset", "prereset"):
            r = scheme_ratio_table(table, numerator="appwom", denominator=other, metric="energy_pj", keys=KEYS)
            print(f"AppWOM / {other}: {r['ratio'].min():.2f}-{r['ratio'].max():.2f}")
        name = "digits" if "digits" in workload else "synthetic"
        fig = plots.scheme_ratio_figure(table, x=KEYS[2], hue=KEYS[1], col=KEYS[0],
                                        title=f"{workload}, {iterations} iterations a point")
        fig.savefig(args.out / f"appwom_womset_energy_{name}.png", dpi=110)
        print(f"wrote {args.out / f'appwom_womset_energy_{name}.png'}")


if __name__ == "__main__":
    main()
