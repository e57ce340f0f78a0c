"""Cross-module seams: technologies x the timing model, scheme-specific service times."""
import numpy as np
import pandas as pd

from archsim.cli import main
from archsim.config import Config
from archsim.technology import TECHNOLOGIES


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
    # the bare outcome array (no extras) falls back to the SET/RESET rule, which charges a full SET
    fresh = tech.open_stream("dap", lines=2, words=16, config=cfg)
    np.testing.assert_array_equal(tech.service_times(fresh.feed(low).outcome, cfg).write_ns,
                                  cfg.pcm.set_latency_ns)


def test_read_latency_per_technology():
    cfg = Config()
    assert TECHNOLOGIES.get("pcm").read_ns(cfg) == cfg.pcm.read_latency_ns
    assert TECHNOLOGIES.get("racetrack").read_ns(cfg) > 0
