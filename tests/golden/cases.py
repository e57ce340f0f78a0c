"""Golden-statistics cases (in the style of NVMain's golden tests): a few configurations whose result
tables are committed under ``tests/golden/data/<case>/`` and must come out byte-identical.

Record them again (only when a change of numbers is intended and explained in the commit)::

    .venv/bin/python tests/golden/cases.py --update
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"

SWEEP = """
[base.run]
workload = "mlp-digits"
iterations = 12
schemes = ["preset", "appwom"]
[sweep]
points = [{"layout.line_bytes" = 32}, {"layout.line_bytes" = 64}]
"""

#: case -> archsim argv (``{out}`` is the output folder, ``{sweep}`` the sweep file).
CASES: dict[str, list[str]] = {
    "run": ["run", "--iterations", "24", "--out", "{out}", "--no-figures", "--no-progress"],
    "run-timing": ["run", "--workload", "mlp-digits", "--iterations", "8", "--timing", "--out", "{out}",
                   "--no-figures", "--no-progress"],
    "racetrack-timing": ["run", "--memory", "racetrack", "--workload", "mlp-digits", "--iterations", "6",
                         "--timing", "--out", "{out}", "--no-figures", "--no-progress"],
    "accuracy": ["accuracy", "--workload", "mlp-digits", "--iterations", "20", "--eval-every", "10",
                 "--out", "{out}", "--no-figures", "--no-progress"],
    "timing-run": ["timing", "run", "--set", "run.workload=mlp-digits", "--set", "timing.scheduling=fcfs",
                   "--scheme", "dcw", "--scheme", "appwom", "--iterations", "6", "--out", "{out}", "--no-progress"],
    "timing-reference": ["timing", "run", "--set", "run.workload=mlp-digits", "--scheme", "preset", "--iterations", "3",
                         "--engine", "reference", "--out", "{out}", "--no-progress"],
    "gap-sweep": ["timing", "sweep-gap", "--set", "run.workload=mlp-digits", "--scheme", "preset",
                  "--gaps-ns", "1000,100000", "--iterations", "6", "--out", "{out}", "--no-progress"],
    "sweep": ["sweep", "--config", "{sweep}", "--out", "{out}", "--workers", "1", "--no-progress"],
    # a model of more than one approximation-error block (2^16 words): the block sums' exact total
    "run-paper-size": ["run", "--workload", "synthetic-lenet", "--schemes", "appwom,dap", "--iterations", "3",
                       "--out", "{out}", "--no-figures", "--no-progress"],
}


#: The OpenBLAS kernels the golden tables were recorded with. The built-in trainer's traces depend on
#: them (its AVX-512 kernels, "SkylakeX", round a GEMM differently); "Zen" uses the same kernels as
#: "Haswell" (checked: the same tables). ``scripts/test.sh`` selects them (``OPENBLAS_CORETYPE``).
RECORDED_BLAS = ("Haswell", "Zen")


def blas_mismatch() -> str | None:
    """Why this process cannot reproduce the golden tables (its OpenBLAS kernels), or None."""
    import numpy  # noqa: F401  (loads OpenBLAS, which threadpoolctl then finds)
    from threadpoolctl import threadpool_info

    kernels = {i.get("architecture") for i in threadpool_info() if i.get("internal_api") == "openblas"}
    if kernels and not kernels <= set(RECORDED_BLAS):
        return (f"the golden tables were recorded with OpenBLAS's {RECORDED_BLAS[0]} kernels and this process "
                f"uses {', '.join(sorted(map(str, kernels)))}, which round the trainer's GEMMs differently: run "
                f"bash scripts/test.sh, or set OPENBLAS_CORETYPE={RECORDED_BLAS[0]}")
    return None


def run_case(case: str, out: Path) -> dict[str, bytes]:
    """Run one case into ``out``; returns every CSV table it wrote (relative path -> bytes)."""
    from archsim.cli import main

    out.mkdir(parents=True, exist_ok=True)
    sweep = out.parent / f"{case}-sweep.toml"
    sweep.write_text(SWEEP, encoding="utf-8")
    argv = [a.format(out=out, sweep=sweep) for a in CASES[case]]
    status = main(argv)
    if status != 0:
        raise RuntimeError(f"archsim {' '.join(argv)} exited {status}")
    return {str(p.relative_to(out)): _without_wall_clock(p.read_bytes()) for p in sorted(out.rglob("*.csv"))}


#: Columns that measure the machine, not the simulation (wall-clock seconds).
WALL_CLOCK = {"seconds"}


def _without_wall_clock(data: bytes) -> bytes:
    import csv
    import io

    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    if not rows or not WALL_CLOCK & set(rows[0]):
        return data
    keep = [i for i, name in enumerate(rows[0]) if name not in WALL_CLOCK]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for row in rows:
        writer.writerow([row[i] for i in keep])
    return buf.getvalue().encode("utf-8")


def main(argv: list[str]) -> int:
    import shutil
    import tempfile

    if argv != ["--update"]:
        print(__doc__)
        return 2
    if blas_mismatch():
        print(f"not recorded: {blas_mismatch()}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            tables = run_case(case, Path(tmp) / case)
            dest = DATA / case
            shutil.rmtree(dest, ignore_errors=True)
            for name, data in tables.items():
                (dest / name).parent.mkdir(parents=True, exist_ok=True)
                (dest / name).write_bytes(data)
            print(f"{case}: {len(tables)} tables")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
