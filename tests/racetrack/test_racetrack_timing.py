"""Racetrack timing runs report energy and wear per bank (the racetrack technology's cost model)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from archsim.cli import main
from archsim.config import load_config
from archsim.contracts import TECHNOLOGIES, ChunkOutcome
from archsim.racetrack import OUTCOME_FIELDS, Racetrack, RacetrackConfig, line_read_energy_pj, line_read_ns

OPS = ("insert", "remove", "detect", "shift")


def _run(tmp_path, name, *extra):
    out = tmp_path / name
    assert main(["run", "--workload", "synthetic-lenet", "--memory", "racetrack", "--timing", "--iterations", "4",
                 "--schemes", "dcw,m-of-n", "--out", str(out), "--no-progress", "--no-figures", *extra]) == 0
    return pd.read_csv(out / "timing_banks.csv"), pd.read_csv(out / "summary.csv").set_index("scheme")


def test_registered_and_hand_computed_line_totals():
    tech = TECHNOLOGIES.get("racetrack")
    assert isinstance(tech, Racetrack)
    cfg = load_config(None, ["run.memory=racetrack", "racetrack.tracks_per_cluster=2",
                             "racetrack.insert_energy_pj=3.0", "racetrack.remove_energy_pj=2.0",
                             "racetrack.read_energy_pj=0.25", "racetrack.shift_energy_pj=0.5"])
    rt = cfg.racetrack
    # two writes of two lines: (insertions, removals, detects, shifts, path fields ignored)
    outcome = np.array([[[1, 2, 3, 4, 9, 9, 9], [0, 0, 5, 1, 9, 9, 9]],
                        [[2, 0, 1, 0, 9, 9, 9], [7, 1, 0, 3, 9, 9, 9]]], dtype=np.uint32)
    t = tech.line_totals(ChunkOutcome(outcome, None, {}, OUTCOME_FIELDS), cfg)
    np.testing.assert_array_equal(t["flips"], [3 + 2, 0 + 8])          # insertions + removals
    np.testing.assert_array_equal(t["insert"], [3, 7])                 # counts, priced by energy_pj_per_count
    np.testing.assert_array_equal(t["shift"], [4, 4])
    e = {k: tech.line_energy_pj(k, t[k], cfg) for k in ("insert", "remove", "detect", "shift")}
    np.testing.assert_allclose(e["insert"], [3 * 3.0, 7 * 3.0])
    np.testing.assert_allclose(e["remove"], [2 * 2.0, 1 * 2.0])
    np.testing.assert_allclose(e["detect"], [4 * 0.25, 5 * 0.25])
    np.testing.assert_allclose(e["shift"], [4 * 2 * 0.5, 4 * 2 * 0.5])  # steps x 2 tracks x 0.5 pJ
    # a 16-word line = 8 items of 64 bits, 64 positions each, serial: 512 detects, 511 steps of 2 tracks
    assert line_read_energy_pj(rt, 16) == pytest.approx(512 * 0.25 + 511 * 2 * 0.5)
    assert tech.endurance(cfg) is None  # no lifetime columns


def test_minimal_pattern_energy_equals_the_functional_summary(tmp_path):
    banks, summary = _run(tmp_path, "min", "--set", "timing.access_pattern=minimal")
    for col in [f"energy_{k}_pj" for k in (*OPS, "read")] + ["energy_pj", "cell_flips", "mean_cell_flips"]:
        assert col in banks.columns
    assert "lifetime_iterations" not in banks.columns and "max_cell_flips" not in banks.columns
    total = banks.groupby("scheme")[[f"energy_{k}_pj" for k in (*OPS, "read")] + ["energy_pj", "cell_flips"]].sum()
    for s in ("dcw", "m-of-n"):
        assert total.loc[s, "energy_pj"] == pytest.approx(summary.loc[s, "energy_pj"], rel=1e-12)
        for k in OPS:
            assert total.loc[s, f"energy_{k}_pj"] == pytest.approx(summary.loc[s, f"energy_{k}_pj"], rel=1e-12)
        assert total.loc[s, "energy_read_pj"] == 0  # the minimal pattern reads nothing
        assert total.loc[s, "cell_flips"] == summary.loc[s, "insertions"] + summary.loc[s, "removals"]
    assert total.loc["dcw", "energy_pj"] > 0 and total.loc["dcw", "cell_flips"] > 0
    assert total.loc["m-of-n", "cell_flips"] == 0  # pure permutation writes: no skyrmion created or destroyed


def test_training_pattern_adds_intermediate_data_and_reads(tmp_path):
    banks, summary = _run(tmp_path, "train")
    total = banks.groupby("scheme")[["energy_pj", "energy_read_pj", "energy_insert_pj", "busy_ns", "reads"]].sum()
    for s in ("dcw", "m-of-n"):
        # the weights' writes, plus the intermediate lines' writes, plus the forward/backward reads
        assert total.loc[s, "reads"] > 0
        read = total.loc[s, "reads"] * line_read_energy_pj(RacetrackConfig(), 16)
        assert total.loc[s, "energy_read_pj"] == pytest.approx(read, rel=1e-12)
        assert total.loc[s, "energy_pj"] - total.loc[s, "energy_read_pj"] > summary.loc[s, "energy_pj"]
    assert total.loc["dcw", "energy_insert_pj"] > summary.loc["dcw", "energy_insert_pj"]
    # default energies are 1 pJ per ns of operation and every operation of the serial layout is on the
    # critical path, so each bank's energy equals its busy time (no refreshes on racetrack)
    np.testing.assert_allclose(banks["energy_pj"], banks["busy_ns"], rtol=1e-9)
    assert line_read_energy_pj(RacetrackConfig(), 16) == pytest.approx(line_read_ns(RacetrackConfig(), 16))
