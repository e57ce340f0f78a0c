"""``archsim timing run`` (:func:`archsim.timing.runner.simulate`) and ``archsim run --timing`` are one
run loop with one timing observer: for the same configuration they give the same timing tables."""
import numpy as np
import pandas as pd
import pytest

from archsim.cli import main

TABLES = ("timing_banks", "timing_overall", "timing_lifetimes")


@pytest.mark.parametrize("memory, schemes", [("pcm", ("preset", "appwom", "dap")), ("racetrack", ("naive", "pw"))])
def test_timing_run_equals_run_with_timing(tmp_path, memory, schemes):
    common = ["--set", f"run.memory={memory}", "--set", "run.workload=mlp-digits", "--set", "run.chunk_iterations=2",
              "--iterations", "5", "--no-progress"]
    run, timing = tmp_path / "run", tmp_path / "timing"
    assert main(["run", "--timing", "--no-figures", "--out", str(run), "--schemes", ",".join(schemes), *common]) == 0
    assert main(["timing", "run", "--out", str(timing), *[a for s in schemes for a in ("--scheme", s)], *common]) == 0
    for name in TABLES:  # the same numbers (``archsim timing run`` puts the scheme column last)
        a, b = pd.read_csv(run / f"{name}.csv"), pd.read_csv(timing / f"{name}.csv")
        assert sorted(a.columns) == sorted(b.columns), name
        pd.testing.assert_frame_equal(a, b[a.columns], check_exact=True, obj=name)
    summary = pd.read_csv(run / "summary.csv")
    alone = pd.read_csv(timing / "timing_summary.csv")
    assert list(summary["scheme"]) == list(alone["scheme"]) == list(schemes)
    pd.testing.assert_frame_equal(summary[alone.columns], alone, check_dtype=False, check_exact=True)
    if memory == "pcm":  # the wear reached the timing model: per-bank lifetime
        banks = pd.read_csv(timing / "timing_banks.csv")
        assert np.isfinite(banks["lifetime_iterations"]).any()
