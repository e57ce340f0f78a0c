"""Wear levelling's line copies in the timing model: a read and a write request per copy at the end of
its iteration, priced by the technology; counted in the statistics; identical in both engines.

Times in ns; one bank, FCFS, the minimal access pattern (one burst of weight writes per iteration after
``gap_ns``); DCW on PCM: a write that SETs any cell takes 1000 ns, one that only RESETs 125 ns, a
line read 125 ns; a write that programs nothing is silent (0 ns).
"""
import numpy as np
import pandas as pd
import pytest

from archsim.config import Config, replace
from archsim.contracts import TECHNOLOGIES
from archsim.timing.model import TimingModel
from archsim.timing.stats import READ, WRITE
from archsim.wear import WEAR_LEVELLERS

from _timing_helpers import FakeLayout, log_ns

PCM = TECHNOLOGIES.get("pcm")


def _config(leveller):
    return replace(Config(), {"timing.access_pattern": "minimal", "timing.gap_ns": 5000.0, "timing.channels": 1,
                              "timing.ranks": 1, "timing.banks": 1, "timing.scheduling": "fcfs",
                              "wear_leveling": leveller})


def _model(cfg, engine, writes):
    lines = writes.shape[1]
    leveller = WEAR_LEVELLERS.get(cfg.wear_leveling.name)(cfg.wear_leveling.params)
    stream = leveller.wrap(PCM.open_stream("dcw", lines=lines, words=16, config=cfg), PCM, cfg)
    chunk = stream.feed(writes)
    m = TimingModel(cfg, technology=PCM, scheme="dcw", layout=FakeLayout([("w", lines)]), engine=engine,
                    logging=True)
    m.feed(chunk)
    return chunk, m, m.finish()


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_rotate_copies_by_hand(engine):
    # two lines, two iterations; line 0 holds one 1 bit (bit 0 of word 0), line 1 only zeros.
    # rotate, period 1, shift 1: after every iteration each line is rewritten one cell further on.
    writes = np.zeros((2, 2, 16), np.uint32)
    writes[:, 0, 0] = 1
    chunk, m, res = _model(_config({"name": "rotate", "period": 1, "shift": 1}), engine, writes)
    # the copies: after iterations 0 and 1, lines 0 and 1; line 0's copy moves its 1: one SET, one RESET
    assert [(c.after, list(c.lines)) for c in chunk.copies] == [(0, [0, 1]), (1, [0, 1])]
    assert [c.outcome[:, :2].tolist() for c in chunk.copies] == [[[1, 1], [0, 0]]] * 2
    # iteration 0 at 5000: line 0's write SETs its bit (5000-6000), line 1's is silent;
    # the copies' reads queue behind it (6000-6125, 6125-6250), the front end waits for them, then
    # the copies' writes: line 0 SETs (6250-7250), line 1 silent.
    # iteration 1, 5000 ns after the copies were accepted (11250): both writes silent (data unchanged);
    # reads 11250-11375-11500, line 0's copy 11500-12500.
    assert log_ns(m.system) == [
        (WRITE, 0, 0, 5000, 5000, 6000, 0), (WRITE, 0, 1, 5000, 6000, 6000, 0),
        (READ, 0, 0, 5000, 6000, 6125, 0), (READ, 0, 1, 5000, 6125, 6250, 0),
        (WRITE, 0, 0, 6250, 6250, 7250, 0), (WRITE, 0, 1, 6250, 7250, 7250, 0),
        (WRITE, 0, 0, 11250, 11250, 11250, 0), (WRITE, 0, 1, 11250, 11250, 11250, 0),
        (READ, 0, 0, 11250, 11250, 11375, 0), (READ, 0, 1, 11250, 11375, 11500, 0),
        (WRITE, 0, 0, 11500, 11500, 12500, 0), (WRITE, 0, 1, 11500, 12500, 12500, 0),
    ]
    o = res.overall
    assert o["elapsed_ns"] == 12500 and o["writes"] == 8 and o["reads"] == 4
    assert o["levelling_writes"] == 4 and o["levelling_write_share"] == 0.5
    # write service: 1000 (iteration 0) + 2 x 1000 (line 0's copies): the copies' share is 2/3
    assert o["levelling_write_service_ns"] == 2000 and o["levelling_write_time_share"] == pytest.approx(2 / 3)
    set_pj, reset_pj = Config().pcm.set_energy_pj, Config().pcm.reset_energy_pj
    assert o["levelling_energy_pj"] == pytest.approx(2 * (set_pj + reset_pj))
    assert res.summary["timing_levelling_writes"] == 4
    # the copies' flips are wear of the bank: 1 (iteration 0's SET) + 2 x 2
    assert res.per_bank["cell_flips"].sum() == 5


def test_start_gap_moves_are_requests_and_the_engines_agree():
    rng = np.random.default_rng(1)
    writes = rng.integers(0, 2**32, (6, 5, 16), dtype=np.uint64).astype(np.uint32)
    cfg = _config({"name": "start-gap", "psi": 2})
    runs = {e: _model(cfg, e, writes) for e in ("fast", "reference")}
    (chunk, _m, fast), (_c, _m2, ref) = runs["fast"], runs["reference"]
    # psi = 2 over 5 lines: 2 or 3 moves after every iteration (15 in all), one request each way
    moves = sum(c.lines.size for c in chunk.copies)
    assert moves == 6 * 5 // 2 and fast.overall["levelling_writes"] == moves
    assert fast.overall["writes"] == 6 * 5 + moves and fast.overall["reads"] == moves
    assert fast.stats.equal(ref.stats)
    assert {k: v for k, v in fast.overall.items()} == {k: v for k, v in ref.overall.items()}
    assert 0 < fast.overall["levelling_write_time_share"] < 1


def test_no_levelling_adds_no_column():
    writes = np.zeros((2, 2, 16), np.uint32)
    chunk, _m, res = _model(_config("none"), "fast", writes)
    assert chunk.copies == () and not [k for k in res.overall if "levelling" in k]
    assert not [k for k in res.summary if "levelling" in k]


def test_run_with_timing_issues_the_functional_copies(tmp_path):
    from archsim.cli import main

    out = tmp_path / "r"
    assert main(["run", "--timing", "--no-figures", "--no-progress", "--out", str(out), "--schemes", "dcw,preset",
                 "--set", "run.workload=mlp-digits", "--iterations", "4", "--set", "run.chunk_iterations=3",
                 "--set", "wear_leveling=rotate", "--set", "wear_leveling.period=2"]) == 0
    s = pd.read_csv(out / "summary.csv").set_index("scheme")
    # every line rewritten after iterations 2 and 4: the functional and the timed copies are the same
    assert (s["timing_levelling_writes"] == s["levelling_line_writes"]).all()
    assert (s["levelling_line_writes"] == 2 * s["lines"]).all()
    assert (s["timing_levelling_write_share"] > 0).all()


def test_dap_lossy_set_energies_and_counted_copies_do_not_depend_on_the_chunking():
    """DAP gives its writes' SET energy in pJ (lossy SETs cost their own), a levelling copy's SETs as counts:
    the timing model keeps that kind in pJ from the first write on. Chunks of 1, 3 and 6 iterations give the
    same timing tables, bit for bit but for the sums of those pJ (to rounding)."""
    from archsim.config import load_config
    from archsim.run import run_experiment

    tables = []
    for chunk in (1, 3, 6):
        cfg = load_config(None, ["run.workload=mlp-digits", "run.iterations=6", f"run.chunk_iterations={chunk}",
                                 "run.schemes=['dap']", "run.observers=['timing']", "wear_leveling=rotate",
                                 "wear_leveling.period=2"])
        out = run_experiment(cfg, progress=False)
        assert out.summary["timing_levelling_writes"].iloc[0] > 0   # copies, counted, beside DAP's pJ
        tables.append({k: v for k, v in out.tables.items() if k.startswith("timing_")})
    assert tables[0]["timing_banks"]["energy_write_set_pj"].sum() > 0
    summed = {"energy_write_set_pj", "energy_pj"}   # DAP's pJ, and the total that holds them
    for other in tables[1:]:
        for name, table in tables[0].items():
            for col in table.columns:
                if col in summed:
                    continue
                pd.testing.assert_series_equal(other[name][col], table[col], check_exact=True, obj=f"{name}.{col}")
            for col in summed & set(table.columns):
                np.testing.assert_allclose(other[name][col], table[col], rtol=1e-12)
