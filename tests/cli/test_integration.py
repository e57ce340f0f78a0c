"""Cross-module seams: technologies x the timing model, scheme-specific service times."""
import numpy as np
import pytest
import pandas as pd

from archsim.cli import main
from archsim.config import Config
from archsim.contracts import TECHNOLOGIES, ChunkOutcome


def test_racetrack_run_with_timing(tmp_path):
    out = tmp_path / "rt"
    code = main(["run", "--memory", "racetrack", "--timing", "--iterations", "6", "--schemes", "dcw,pw",
                 "--out", str(out)])
    assert code == 0
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary["scheme"]) == ["dcw", "pw"]
    assert (summary["queued_avg_write_latency_ns"] > 0).all()
    banks = pd.read_csv(out / "timing_banks.csv")
    assert set(banks["scheme"]) == {"dcw", "pw"} and (banks["write_avg_latency_ns"] > 0).any()


def test_dap_lossy_sets_are_timed_at_their_own_latency():
    cfg = Config()
    tech = TECHNOLOGIES.get("pcm")
    stream = tech.open_stream("dap", lines=2, words=16, config=cfg)
    low = np.full((1, 2, 16), 0x00000001, np.uint32)  # only M23 set: a lossy bit under Dual-SET
    high = np.full((1, 2, 16), 0x40000001, np.uint32)  # E1 too: a full SET
    t_low = tech.service_times(stream.feed(low), cfg).write_ns
    t_high = tech.service_times(stream.feed(high), cfg).write_ns
    lossy_ns = stream.encoder.params.lossy_set_latency_ns
    assert lossy_ns < cfg.pcm.set_latency_ns
    np.testing.assert_array_equal(t_low, lossy_ns)
    np.testing.assert_array_equal(t_high, cfg.pcm.set_latency_ns)
    # an outcome without extras falls back to the SET/RESET rule, which charges a full SET
    fresh = tech.open_stream("dap", lines=2, words=16, config=cfg)
    bare = ChunkOutcome(fresh.feed(low).outcome, None, {}, tech.outcome_fields)
    np.testing.assert_array_equal(tech.service_times(bare, cfg).write_ns, cfg.pcm.set_latency_ns)


def test_read_latency_per_technology():
    cfg = Config()
    assert TECHNOLOGIES.get("pcm").read_ns(cfg) == cfg.pcm.read_latency_ns
    assert TECHNOLOGIES.get("racetrack").read_ns(cfg) > 0


def test_layer_aware_policy_from_lifetimes():
    from archsim.pcm.dap.policy import ALL_BITS
    from archsim.pcm import make_encoder

    dap = make_encoder("dap", retention_s=0.1)
    state = dap.new_state(3, 4)
    dap.set_data_lifetimes(state, np.array([0.01, 0.5, np.inf]))
    assert state.masks.tolist() == [ALL_BITS, 0, 0]
    ps = make_encoder("ps")
    state = ps.new_state(2, 4)
    ps.set_data_lifetimes(state, np.array([0.01, 0.5]))
    assert state.masks.tolist() == [ALL_BITS, ALL_BITS]


def test_dap_speeds_up_intermediate_writes_under_timing(tmp_path):
    """With the training access pattern, short-lived intermediate data is written with lossy SET:
    DAP's queued write latency falls well below DCW's (same cells, full SETs)."""
    out = tmp_path / "dap"
    assert main(["run", "--timing", "--iterations", "4", "--schemes", "dcw,dap", "--out", str(out)]) == 0
    s = pd.read_csv(out / "summary.csv").set_index("scheme")
    assert s.loc["dap", "queued_avg_write_latency_ns"] < 0.6 * s.loc["dcw", "queued_avg_write_latency_ns"]


def test_timing_energy_charges_lossy_sets_at_their_own_energy():
    """Weights only (minimal pattern): the timing model's write-SET energy equals the functional
    replay's full-SET plus lossy-SET energy."""
    from _timing_helpers import FakeLayout

    from archsim.config import replace
    from archsim.timing.model import TimingModel

    cfg = replace(Config(), {"timing.access_pattern": "minimal"})
    tech = TECHNOLOGIES.get("pcm")
    model = TimingModel(cfg, technology=tech, scheme="dap", layout=FakeLayout([("w", 8)]))
    stream = tech.open_stream("dap", lines=8, words=16, config=cfg)
    rng = np.random.default_rng(0)
    weights = (rng.normal(0, 0.05, (1, 8, 16)) + np.cumsum(rng.normal(0, 1e-3, (6, 8, 16)), axis=0))
    model.feed(stream.feed(weights.astype(np.float32)))
    kinds = stream.result().energy_by_kind()
    assert kinds["write_lossy_set"] > 0
    timing_set = model.finish().overall["energy_write_set_pj"]
    assert timing_set == pytest.approx(kinds["write_set"] + kinds["write_lossy_set"], rel=1e-12)
