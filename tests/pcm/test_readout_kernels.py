"""Property tests of the read-out kernels against their plain numpy forms: the WOM codes' per-cell wear
(``wom_total_wear``) and the fused approximation-error pass (``ApproximationError.add``)."""
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim.pcm import EncoderStream, make_encoder
from archsim.pcm.schemes.wom import wom_total_wear_numpy
from archsim.run import ApproximationError
from test_encoding_properties import write_sequences

WOM = st.sampled_from([("wom-set", {}), ("appwom", {}), ("appwom", {"ping_pong": False}),
                       ("appwom", {"grouping": "adjacent", "initial_polarity": "01"})])


@settings(deadline=None, max_examples=60)
@given(WOM, write_sequences(), st.integers(0, 3), st.sampled_from(["line", "word"]))
def test_wom_total_wear_kernel_equals_numpy(scheme, data, split, unit):
    name, params = scheme
    B, writes = data
    if name == "appwom" and params.get("grouping", "fig5") == "fig5" and B != 32:
        params = {**params, "grouping": "adjacent"}
    enc = make_encoder(name, word_bits=B, refresh_unit=unit, **params)
    stream = EncoderStream(enc, writes.shape[1], writes.shape[2])
    cut = min(split, writes.shape[0])
    for part in (writes[:cut], writes[cut:]):
        if part.shape[0]:
            stream.feed(part)
        enc.flush_wear(stream.state, stream._wear)      # the kernel's pending counters into the array
        expected = wom_total_wear_numpy(stream.state, stream._wear, len(enc.groups), enc.policy.ping_pong)
        got = stream.wear
        assert got.dtype == stream._wear.dtype == np.uint32 and got.shape == expected.shape   # the wear's width
        np.testing.assert_array_equal(got, expected)
        rows = np.arange(stream.lines)[::2]
        np.testing.assert_array_equal(stream.lines_wear(rows), expected[rows])
        np.testing.assert_array_equal(stream.lines_wear(slice(1, None)), expected[1:])


ALL_SCHEMES = st.sampled_from(["preset", "prereset", "dcw", "fnw", "wom-set", "appwom"])


@settings(deadline=None, max_examples=40)
@given(ALL_SCHEMES, st.integers(0, 2**32 - 1), st.lists(st.integers(1, 140), min_size=1, max_size=5),
       st.lists(st.integers(0, 5), max_size=3))
def test_wear_counters_kept_between_calls(scheme, seed, sizes, peeks):
    """The kernels keep their wear counters between calls (drained every 124 writes and when read):
    any split into calls, with partial reads (lines_wear of some lines) in between, gives the wear of
    one call, which equals the numpy reference's."""
    from archsim.pcm.reference import reference_replay

    rng = np.random.default_rng(seed)
    T, L, W = sum(sizes), 3, 5
    writes = rng.integers(0, 2**32, size=(T, L, W), dtype=np.uint64).astype(np.uint32)
    if rng.random() < 0.5:   # training-like: few low bits change (long WOM cycles)
        writes = np.bitwise_xor.accumulate(writes & np.uint32(0x3), axis=0)
    enc = make_encoder(scheme)
    one = EncoderStream(enc, L, W)
    one.feed(writes)
    split = EncoderStream(enc, L, W)
    t = 0
    for i, n in enumerate(sizes):
        split.feed(writes[t:t + n])
        t += n
        if i < len(peeks):
            rows = np.array([peeks[i] % L])
            seen = split.lines_wear(rows)
            ref = EncoderStream(enc, L, W)
            ref.feed(writes[:t])
            np.testing.assert_array_equal(seen, ref.wear[rows])
    np.testing.assert_array_equal(split.wear, one.wear)
    np.testing.assert_array_equal(split.wear, one.wear)    # reading twice adds nothing
    assert split.result().summary() == one.result().summary()
    if T <= 40:
        np.testing.assert_array_equal(one.wear, reference_replay(enc, writes)[1])


SPECIAL = np.array([0.0, -0.0, 1.0, -1.5, 1e-45, 3.4e38, np.inf, -np.inf, np.nan], dtype=np.float32)


@st.composite
def written_stored(draw):
    """(T, n) float32 bit patterns written, and stored values: equal, a few low bits off, or anything."""
    T = draw(st.integers(1, 4))
    n = draw(st.integers(1, 300)) if draw(st.booleans()) else draw(st.integers(301, 5000))  # pairwise splits
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    w = rng.normal(0, draw(st.sampled_from([1e-30, 0.05, 1e30])), size=(T, n)).astype(np.float32)
    if draw(st.booleans()):  # zeros (excluded from the errors), infinities and NaNs
        k = rng.integers(0, n, size=max(1, n // 5))
        w[:, k] = rng.choice(SPECIAL, size=(T, len(k)))
    wu = w.view(np.uint32)
    noise = rng.integers(0, 2 ** draw(st.integers(1, 32)), size=wu.shape, dtype=np.uint64).astype(np.uint32)
    keep = rng.random(wu.shape) < draw(st.sampled_from([0.0, 0.5, 1.0]))
    su = np.where(keep, wu, wu ^ noise).astype(np.uint32)
    return np.ascontiguousarray(wu), np.ascontiguousarray(su)


@settings(deadline=None, max_examples=150)
@given(written_stored(), st.sampled_from([1, 7, 64, 1 << 20]))
def test_fused_approximation_error_equals_numpy(data, block):
    written, stored = data
    fused, plain = ApproximationError(written.shape[1]), ApproximationError(written.shape[1])
    fused.BLOCK = plain.BLOCK = block
    for t in range(0, written.shape[0], 2):   # several calls, as a run's chunks
        fused.add(written[t:t + 2], stored[t:t + 2])
        with np.errstate(invalid="ignore", over="ignore"):   # NaNs and infinities are part of the test
            plain.add_numpy(written[t:t + 2], stored[t:t + 2])
    assert (fused.inexact, fused.count, fused.pairs) == (plain.inexact, plain.count, plain.pairs)
    assert fused.total.partials == plain.total.partials   # the same block sums, added exactly
    assert [repr(x) for x in fused.total.special] == [repr(x) for x in plain.total.special]
    a, b = fused.columns(), plain.columns()
    assert a.keys() == b.keys()
    for k in a:
        assert a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])), k


def test_fused_approximation_error_hand_case():
    w = np.array([[1.0, 2.0, 0.0, -4.0]], dtype=np.float32)
    s = np.array([[1.0, 2.5, 7.0, -3.0]], dtype=np.float32)
    e = ApproximationError(4)
    e.add(w.view(np.uint32), s.view(np.uint32))
    assert e.inexact == 3 and e.count == 3
    assert e.max == 0.25
    assert e.columns()["approx_mean_rel_error"] == (0.25 + 0.25) / 3
