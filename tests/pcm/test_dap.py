"""The lossy-SET model and the dap/ps schemes: kernel vs numpy reference, decay semantics, costs."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim.config import load_config
from archsim.pcm.config import PcmConfig
from archsim.pcm.costs import write_latency_ns
from archsim.pcm.dap.config import DapParams
from archsim.pcm.dap import DapConfig, DecayModel, dual_set_mask, layer_aware_mask, tensor_mask, uniforms
from archsim.pcm.dap.reference import ReferenceDap, from_bits
from archsim.pcm import SCHEMES, open_stream, replay
from archsim.errors import ConfigError


def _stream(scheme, lines, words, cfg, line_offset=0, **pcm):
    return open_stream(scheme, lines=lines, words=words, line_offset=line_offset, **pcm, **dataclasses.asdict(cfg))


def test_registered():
    assert "dap" in SCHEMES and "ps" in SCHEMES


@settings(max_examples=40)
@given(seed=st.integers(0, 2**40), law=st.sampled_from(["weibull", "deadline"]),
       lines=st.integers(1, 4), words=st.integers(1, 5), T=st.integers(1, 30), split=st.integers(1, 29),
       bits=st.integers(0, 23), retention=st.sampled_from([0.005, 0.02, 0.1]), ps=st.booleans(),
       offset=st.integers(0, 1000), data=st.data())
def test_kernel_matches_reference(seed, law, lines, words, T, split, bits, retention, ps, offset, data):
    """Random words, random chunking, random line offset: the Cython kernel equals the numpy reference
    in cells, lossy flags, decay times, wear, per-write counts and decayed cells."""
    dt = 0.004  # the stream times write k at (k + 1) * iteration_time_s
    cfg = DapParams(retention_s=retention, weibull_scale_s=0.01, decay_law=law, lossy_mantissa_bits=bits, seed=seed,
                    iteration_time_s=dt)
    rng = np.random.default_rng(seed)
    # few distinct words: bits stay 1 long enough to decay
    palette = rng.integers(0, 2**32, 4, dtype=np.uint64).astype(np.uint32)
    writes = palette[rng.integers(0, 4, (T, lines, words))]
    scheme = "ps" if ps else "dap"
    mask = 0xFFFFFFFF if ps else (1 << bits) - 1
    s = _stream(scheme, lines, words, cfg, line_offset=offset)
    ref = ReferenceDap(lines, words, mask, cfg, line_offset=offset)
    split = min(split, T)
    for a, b in ((0, split), (split, T)):
        if a == b:
            continue
        out = s.feed(writes[a:b], want_stored=True)
        np.testing.assert_array_equal(out.stored, writes[a:b])
        for t in range(a, b):
            c = ref.write(writes[t], (t + 1) * dt)
            np.testing.assert_array_equal(out.field("write_set")[t - a], c["set"])
            np.testing.assert_array_equal(out.field("write_reset")[t - a], c["reset"])
            np.testing.assert_array_equal(s.state.last_lossy[t - a], c["lossy"])
            np.testing.assert_array_equal(s.state.last_decayed[t - a], c["decayed"])
    r = s.result()
    np.testing.assert_array_equal(r.wear, ref.wear)
    np.testing.assert_array_equal(s.state.cells, from_bits(ref.bits))
    np.testing.assert_array_equal(s.state.lossy, from_bits(ref.lossy))
    finite = np.isfinite(ref.deadline) & ref.lossy
    kernel_dl = s.state.deadline[finite]
    np.testing.assert_allclose(kernel_dl, ref.deadline[finite], rtol=1e-12)
    t_read = T * dt + data.draw(st.floats(0, 0.2))
    np.testing.assert_array_equal(s.read_back(t_read), ref.read(t_read))
    assert s.result().decayed_cells == ref.decayed


def test_dcw_equivalence_without_decay():
    """With a retention far beyond the writes, dap programs exactly the cells dcw programs."""
    rng = np.random.default_rng(3)
    w = rng.standard_normal((30, 3, 16)).astype(np.float32)
    cfg = DapConfig(retention_s=1e9)
    d = replay("dap", w, **dataclasses.asdict(cfg))
    c = replay("dcw", w)
    assert d.bit_flips == c.bit_flips and d.set_flips == c.set_flips and d.reset_flips == c.reset_flips
    np.testing.assert_array_equal(d.wear, c.wear)
    assert d.decayed_cells == 0
    np.testing.assert_array_equal(d.stored.view(np.float32), w)


def test_decay_model_deterministic_for_a_seed():
    """Same seed: same decay times and the same decayed reads; another seed: different ones."""
    def run(seed):
        cfg = DapConfig(seed=seed, retention_s=0.01, weibull_scale_s=0.05)
        s = _stream("ps", 8, 16, cfg)
        rng = np.random.default_rng(0)
        s.feed(rng.integers(0, 2**32, (5, 8, 16), dtype=np.uint64).astype(np.uint32))
        return s.state.deadline.copy(), s.read_back(0.08), s.result().summary()

    a, b, c = run(7), run(7), run(8)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert a[2] == b[2]
    assert not np.array_equal(a[0], c[0])
    assert not np.array_equal(a[1], c[1])
    u1 = uniforms(5, np.arange(10), 3, 4, 9)
    np.testing.assert_array_equal(u1, uniforms(5, np.arange(10), 3, 4, 9))
    assert ((u1 >= 0) & (u1 < 1)).all()


@settings(max_examples=30)
@given(law=st.sampled_from(["weibull", "deadline"]), retention=st.floats(1e-3, 10.0),
       frac=st.floats(0.0, 0.999), seed=st.integers(0, 2**32))
def test_data_younger_than_retention_is_never_lost(law, retention, frac, seed):
    """Every bit lossy-SET (ps), read any time before the retention time runs out: exact data."""
    cfg = DapConfig(retention_s=retention, weibull_scale_s=retention / 10, decay_law=law, seed=seed)
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 2**32, (2, 4, 16), dtype=np.uint64).astype(np.uint32)
    s = _stream("ps", 4, 16, cfg)
    s.encoder.set_write_times(s.state, [1.0, 1.0 + retention * frac / 2])
    s.feed(data)
    t_read = 1.0 + retention * frac / 2 + retention * frac / 2 * 0.999
    np.testing.assert_array_equal(s.read_back(t_read), data[1])
    assert s.result().decayed_cells == 0


def test_decay_after_retention_deadline_law():
    """Deadline law: a lossy cell reads 0 exactly from retention_s after its lossy SET; full-SET cells stay."""
    cfg = DapConfig(retention_s=0.5, decay_law="deadline", lossy_mantissa_bits=8)
    s = _stream("dap", 1, 1, cfg)
    s.encoder.set_write_times(s.state, [2.0])
    s.feed(np.array([[[0xFFFFFFFF]]], np.uint32))
    assert s.read_back(2.4999)[0, 0] == 0xFFFFFFFF
    assert s.read_back(2.5)[0, 0] == 0xFFFFFF00
    # the next write of the same data re-SETs the 8 decayed cells (lossy), nothing else
    s.encoder.set_write_times(s.state, [3.0])
    out = s.feed(np.array([[[0xFFFFFFFF]]], np.uint32))
    assert out.field("write_set")[0, 0] == 8 and s.state.last_lossy[0, 0] == 8
    r = s.result()
    assert r.decayed_cells == 8 and r.lossy_set_flips == 16 and r.write_set_flips == 40


def test_unreprogrammed_cell_keeps_decaying():
    """A 1 that is rewritten as 1 is not reprogrammed: it decays from its first lossy SET."""
    cfg = DapConfig(retention_s=1.0, decay_law="deadline")
    s = _stream("ps", 1, 1, cfg)
    for t in (0.0, 0.6, 0.9):
        s.encoder.set_write_times(s.state, [t])
        s.feed(np.array([[[1]]], np.uint32))
    assert s.read_back(0.99)[0, 0] == 1
    assert s.read_back(1.0)[0, 0] == 0


def test_weibull_probability():
    m = DecayModel(DapConfig(retention_s=1.0, weibull_scale_s=2.0, weibull_shape=1.5))
    assert m.probability(0.5) == 0 and m.probability(1.0) == 0
    np.testing.assert_allclose(m.probability(3.0), 1 - np.exp(-1.0))
    # empirical decay fraction of the sampled decay times matches the law
    u = uniforms(1, np.arange(200000), 0, 0, 0)
    d = m.decay_after(u)
    assert d.min() >= 1.0
    np.testing.assert_allclose((d <= 3.0).mean(), m.probability(3.0), atol=0.005)
    dl = DecayModel(DapConfig(retention_s=0.3, decay_law="deadline"))
    assert dl.probability(0.2999) == 0 and dl.probability(0.3) == 1


def test_energy_and_latency_golden():
    """Hand-computed: one word 0 -> 0x0000_0FFF (dap, 11 lossy bits): 1 full SET + 11 lossy SETs."""
    pcm = PcmConfig()
    r = replay("dap", np.array([[0x00000FFF]], np.uint32))
    assert r.write_set_flips == 12 and r.lossy_set_flips == 11
    assert r.energy_pj == pytest.approx(1 * 13.5 + 11 * 1.6875)
    assert r.avg_write_latency_ns == 1000.0  # the full SET dominates
    r = replay("dap", np.array([[0x000007FF], [0x00000001]], np.uint32))
    # write 1: 11 lossy SETs (125 ns); write 2: 10 RESETs (125 ns)
    assert r.lossy_set_flips == 11 and r.write_reset_flips == 10
    assert r.avg_write_latency_ns == 125.0
    assert r.energy_pj == pytest.approx(11 * 1.6875 + 10 * 19.2)
    assert r.energy_by_kind()["write_lossy_set"] == pytest.approx(11 * 1.6875)
    assert r.set_writes == 0 and r.reset_writes == 2
    r = replay("dap", np.array([[0x000007FF]], np.uint32), lossy_set_latency_ns=300.0)
    assert r.avg_write_latency_ns == 300.0
    # power budget of 4 cells: 1 full SET round (room 3) then ceil((11-3)/4) = 2 rounds of the lossy pulse
    # (the one PCM latency rule: full SETs, RESETs, lossy SETs at their pulse)
    lat = write_latency_ns([1], [0], PcmConfig(write_power_budget=4), [11], 125.0)
    assert lat[0] == 1000.0 + 2 * 125.0
    assert write_latency_ns([0], [0], pcm, [0], 125.0)[0] == 0


def test_policies():
    assert dual_set_mask(11) == 0x7FF and dual_set_mask(0) == 0
    assert layer_aware_mask(0.01, 0.1) == 0xFFFFFFFF and layer_aware_mask(0.1, 0.1) == 0
    assert tensor_mask("ps", "weight", lossy_mantissa_bits=11, retention_s=1) == 0xFFFFFFFF
    assert tensor_mask("dap", "bias", lossy_mantissa_bits=5, retention_s=1) == 0x1F
    assert tensor_mask("dap", "intermediate", lossy_mantissa_bits=5, retention_s=1, lifetime_s=2) == 0
    with pytest.raises(ValueError):
        tensor_mask("dap", "intermediate", lossy_mantissa_bits=5, retention_s=1)


def test_set_line_masks_layer_aware():
    """An intermediate line given the all-lossy mask programs every SET lossy."""
    s = open_stream("dap", lines=2, words=1)
    s.encoder.set_line_masks(s.state, [0xFFFFFFFF, dual_set_mask(11)])
    s.feed(np.array([[[0x3F800000], [0x3F800000]]], np.uint32))
    assert s.state.last_lossy[0].tolist() == [7, 0]


def test_config_section_and_scheme_table():
    cfg = load_config(None, ["dap.retention_s=0.25", "encoding.schemes.ps.retention_s=0.5"])
    assert cfg.dap.retention_s == 0.25
    from archsim.contracts import TECHNOLOGIES

    pcm = TECHNOLOGIES.get("pcm")
    assert pcm.open_stream("dap", lines=1, words=1, config=cfg).encoder.params.retention_s == 0.25
    assert pcm.open_stream("ps", lines=1, words=1, config=cfg).encoder.params.retention_s == 0.5
    for bad in ("dap.decay_law=linear", "dap.retention_s=-1", "dap.lossy_mantissa_bits=24",
                "encoding.schemes.dap.iteration_time_s=0", "dap.nope=1", "encoding.schemes.dap.weibull_shape=0"):
        with pytest.raises(ConfigError, match="dap"):
            load_config(None, [bad])
    with pytest.raises(ConfigError, match="float32"):
        replay("dap", np.zeros((1, 1), np.uint16), word_bits=16)


def test_iteration_time_has_one_home_and_the_old_key_is_read_as_it(tmp_path, caplog):
    """run.iteration_time_s times dap's plain replay (and the closed loop's clock, and the wear lifetime in
    seconds); dap.iteration_time_s of older configurations is read as run.iteration_time_s with one note,
    in a file and in --set; given both ways, the new key wins. Identities keep the old key, so sweep ids
    do not move."""
    from archsim.contracts import TECHNOLOGIES

    pcm = TECHNOLOGIES.get("pcm")
    cfg = load_config(None, ["run.iteration_time_s=0.02"])
    assert pcm.open_stream("dap", lines=1, words=1, config=cfg).encoder.params.iteration_time_s == 0.02
    assert not hasattr(cfg.dap, "iteration_time_s")
    with caplog.at_level("WARNING", logger="archsim.config"):
        old = load_config(None, ["dap.iteration_time_s=0.03"])
    assert old.run.iteration_time_s == 0.03
    assert any("dap.iteration_time_s is now run.iteration_time_s" in r.getMessage() for r in caplog.records)
    f = tmp_path / "old.toml"
    f.write_text("[dap]\nretention_s = 0.2\niteration_time_s = 0.04\n", encoding="utf-8")
    caplog.clear()
    with caplog.at_level("WARNING", logger="archsim.config"):
        c = load_config(f)
    assert c.run.iteration_time_s == 0.04 and c.dap.retention_s == 0.2
    assert [r.getMessage() for r in caplog.records] == ["note: dap.iteration_time_s is now run.iteration_time_s "
                                                         "(read as such)"]
    f.write_text("[run]\niteration_time_s = 0.05\n[dap]\niteration_time_s = 0.04\n", encoding="utf-8")
    assert load_config(f).run.iteration_time_s == 0.05
    # identities (sweep ids, accuracy checkpoints) hold dap.iteration_time_s as before, last in [dap]
    ident = load_config(None).identity()["dap"]
    assert list(ident)[-1] == "iteration_time_s" and ident["iteration_time_s"] == 0.01
    assert load_config(None, ["run.iteration_time_s=0.5"]).identity()["dap"]["iteration_time_s"] == 0.5
    assert "iteration_time_s" not in load_config(None).to_dict()["dap"]
    with pytest.raises(ConfigError, match="run.iteration_time_s"):
        load_config(None, ["dap.iteration_time_s=0"])
