"""Racetrack scheme kernels against the plain reference (archsim.racetrack.reference)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim import _racetrack_kernels as K
from archsim.racetrack import MOFN_TABLE, RACETRACK_SCHEMES, RacetrackConfig, RacetrackStream, make_scheme
from archsim.racetrack import reference as ref
from archsim.racetrack.codes import mofn_decode, mofn_encode

SCHEMES = RACETRACK_SCHEMES.names()


def _pc(a: np.ndarray) -> np.ndarray:
    return np.bitwise_count(a.astype(np.uint64)).astype(np.int64)


# --------------------------------------------------------------------------- m-of-n

@pytest.mark.parametrize("w", [8, 16])
def test_mofn_round_trips_every_value(w):
    N, M = MOFN_TABLE[w]
    values = np.arange(2**w, dtype=np.uint64)
    lo, hi = mofn_encode(values, w)
    assert (hi == 0).all()                              # N < 64
    assert (_pc(lo) == M).all()                         # every codeword has exactly M ones
    assert (lo >> np.uint64(N) == 0).all()              # and only N positions
    assert np.unique(lo).size == values.size            # injective
    assert (mofn_decode(lo, hi, w) == values).all()     # decode(encode(x)) == x


def test_mofn_8bit_matches_reference_exhaustively():
    lo, hi = mofn_encode(np.arange(256, dtype=np.uint64), 8)
    for x in range(256):
        assert ref.bits(int(lo[x]), 11) == ref.mofn_encode(x, 8)


@given(st.sampled_from([16, 32, 64]), st.data())
def test_mofn_wide_matches_reference(w, data):
    N, M = MOFN_TABLE[w]
    xs = data.draw(st.lists(st.integers(0, 2**w - 1), min_size=1, max_size=8)) + [0, 2**w - 1]
    lo, hi = mofn_encode(np.array(xs, dtype=np.uint64), w)
    for x, a, b in zip(xs, lo, hi):
        cells = ref.bits(int(a), 64) + ref.bits(int(b), 64)
        assert cells[:N] == ref.mofn_encode(x, w)
        assert sum(cells) == M
    assert mofn_decode(lo, hi, w).tolist() == xs


def test_mofn_table_covers_the_segments():
    for w, (N, M) in MOFN_TABLE.items():
        assert math.comb(N, M) >= 2**w


# --------------------------------------------------------------------------- fixed-ones

@given(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=40), st.integers(1, 32))
def test_fixed_ones_matches_reference(words, k):
    src = np.array(words, dtype=np.uint32)
    dst = np.empty_like(src)
    err = np.zeros(5)
    counts = np.zeros(2, dtype=np.int64)
    K.fixed_ones(src, dst, k, err, counts)
    unreachable = 0
    for u, v in zip(words, dst.tolist()):
        want, ok = ref.fixed_ones_word(u, k)
        assert v == want
        assert v >> 23 == u >> 23                       # sign and exponent untouched
        if ok:
            assert bin(v).count("1") == k
        else:
            assert v == u
            unreachable += 1
    assert counts[1] == unreachable
    assert counts[0] == sum(int(u != v) for u, v in zip(words, dst.tolist()))


def test_fixed_ones_reports_error_and_has_no_insertions_after_format():
    cfg = RacetrackConfig(segment_bits=32, fixed_ones_k=12)
    x = np.random.default_rng(3).normal(0, 0.05, (6, 4, 8)).astype(np.float32)
    s = RacetrackStream(make_scheme("fixed-ones", cfg), 4, 8, keep_stored=True)
    s.feed(x)
    r = s.result().summary()
    assert r["insertions"] == r["removals"] == 0        # every float32 (one per segment) has K ones
    assert r["format_insertions"] == 4 * 8 * 12
    stored = s.result().stored.view(np.float32)
    rel = np.abs(stored - x) / np.abs(x)
    assert r["approx_mean_rel_error"] == pytest.approx(rel.mean(), rel=1e-5)
    assert r["approx_max_rel_error"] == pytest.approx(rel.max(), rel=1e-5)
    assert 0 < r["approx_mean_rel_error"] < 1e-3
    assert r["approx_unreachable_words"] == 0


# --------------------------------------------------------------------------- streams vs reference

configs = st.builds(
    RacetrackConfig,
    tracks=st.just(64),
    data_per_track=st.integers(1, 6),
    item_bits=st.sampled_from([32, 64]),
    segment_bits=st.sampled_from([8, 16, 32]),
    tracks_per_cluster=st.integers(1, 2),
    ports_per_track=st.integers(1, 3),
    port_placement=st.sampled_from(["center", "start"]),
    port_choice=st.sampled_from(["static", "dynamic"]),
    return_policy=st.sampled_from(["lazy", "eager"]),
    layout=st.sampled_from(["serial", "spread"]),
    fixed_ones_k=st.sampled_from([0, 9, 16]),
)


@settings(max_examples=40)
@given(configs, st.sampled_from(SCHEMES), st.integers(1, 3), st.integers(1, 5), st.integers(0, 3), st.data())
def test_stream_matches_reference(cfg, scheme, lines, words, line_offset, data):
    if scheme == "m-of-n" and data.draw(st.booleans()):
        cfg = RacetrackConfig(**{**cfg.__dict__, "item_bits": 64, "segment_bits": 64})
    T = 3
    flat = data.draw(st.lists(st.integers(0, 2**32 - 1), min_size=T * lines * words, max_size=T * lines * words))
    writes = np.array(flat, dtype=np.uint32).reshape(T, lines, words)
    s = RacetrackStream(make_scheme(scheme, cfg), lines, words, line_offset=line_offset, keep_stored=True)
    outcome = np.concatenate([s.feed(writes[:1]).outcome, s.feed(writes[1:]).outcome])
    want_outcome, want_stored, k = ref.reference_trace(cfg, scheme, writes, line_offset=line_offset)
    assert outcome.tolist() == want_outcome.tolist()
    result = s.result()
    assert result.stored.tolist() == want_stored.tolist()
    if RACETRACK_SCHEMES.get(scheme).exact:
        assert (result.stored == writes).all()
    totals = want_outcome.sum(axis=(0, 1))
    assert [result.insertions, result.removals, result.detects, result.shifts] == totals[:4].tolist()


@given(st.sampled_from([8, 16, 32]), st.lists(st.integers(0, 2**32 - 1), min_size=2, max_size=30))
def test_pw_counts_are_the_popcount_difference(w, values):
    cfg = RacetrackConfig(segment_bits=w, item_bits=32, ports_per_track=1, data_per_track=1)
    words = np.array(values, dtype=np.uint32)
    s = RacetrackStream(make_scheme("pw", cfg), 1, 1)
    out = s.feed(words.reshape(-1, 1, 1)).outcome[:, 0]
    mask = (1 << w) - 1
    prev = [0] * (32 // w)
    for t, v in enumerate(values):
        ins = rem = 0
        for k in range(32 // w):
            seg = (v >> (k * w)) & mask
            d = bin(seg).count("1") - bin(prev[k]).count("1")
            ins += max(0, d)
            rem += max(0, -d)
            prev[k] = seg
        assert out[t, 0] == ins and out[t, 1] == rem


def test_naive_and_dcw_golden():
    """Hand-computed: one 32-bit item of four 8-bit segments, written 0x0F0F00FF then 0x000000F0."""
    cfg = RacetrackConfig(segment_bits=8, item_bits=32, ports_per_track=1, data_per_track=1,
                          port_placement="start")
    w = np.array([0x0F0F00FF, 0x000000F0], dtype=np.uint32).reshape(2, 1, 1)
    naive = RacetrackStream(make_scheme("naive", cfg), 1, 1).feed(w).outcome[:, 0, :4]
    assert naive.tolist() == [[16, 32, 0, 31], [4, 32, 0, 31]]     # ins, rem, det, shifts
    dcw = RacetrackStream(make_scheme("dcw", cfg), 1, 1).feed(w).outcome[:, 0, :4]
    assert dcw.tolist() == [[16, 0, 32, 31], [0, 12, 32, 31]]
    # fnw, segments low first. Write 1: 0xFF over 0x00 -> ~ (0x00, flag 1: 1 insertion); 0x00 as is;
    # 0x0F, 0x0F as is (4 + 4). Write 2: 0xF0 over (0x00, flag 1) -> ~ = 0x0F, flag 1 (4 insertions,
    # 4 differ vs 5); 0x00 unchanged; 0x00 over 0x0F, twice: as is (4 removals each, vs 5).
    fnw = RacetrackStream(make_scheme("fnw", cfg), 1, 1).feed(w).outcome[:, 0, :4]
    assert fnw.tolist() == [[9, 0, 36, 35], [4, 8, 36, 35]]
