"""Property tests: every kernel equals its numpy reference, and the codes keep their invariants."""
import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from archsim.pcm import EncoderStream, make_encoder
from archsim.pcm.encoder import OUTCOME_FIELDS
from archsim.pcm.reference import reference_replay

WIDTHS = st.sampled_from([8, 16, 32, 64])


@st.composite
def write_sequences(draw, word_bits=None, training_like=None):
    """(T, L, W) writes: random words, or a slowly changing 'training' sequence."""
    B = draw(WIDTHS) if word_bits is None else word_bits
    T = draw(st.integers(1, 12))
    L = draw(st.integers(1, 4))
    W = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    dtype = {8: np.uint8, 16: np.uint16, 32: np.uint32, 64: np.uint64}[B]
    like = draw(st.booleans()) if training_like is None else training_like
    if like and B == 32:
        w0 = rng.normal(0, 0.1, size=(L, W)).astype(np.float32)
        steps = rng.normal(0, draw(st.sampled_from([1e-5, 1e-3, 1e-1])), size=(T, L, W)).astype(np.float32)
        writes = (w0 + np.cumsum(steps, axis=0)).astype(np.float32).view(np.uint32)
    elif like:
        base = rng.integers(0, np.iinfo(dtype).max, size=(L, W), dtype=dtype, endpoint=True)
        flipmask = rng.integers(0, 2**min(B, 8), size=(T, L, W)).astype(dtype)  # low bits change
        writes = np.bitwise_xor.accumulate(np.concatenate([base[None], flipmask]), axis=0)[1:]
    else:
        writes = rng.integers(0, np.iinfo(dtype).max, size=(T, L, W), dtype=dtype, endpoint=True)
        # repeated writes exercise the "same value programs nothing" paths
        if T > 1 and draw(st.booleans()):
            writes[1] = writes[0]
    return B, np.ascontiguousarray(writes)


def scheme_params(draw, scheme, B):
    p = {"refresh_unit": draw(st.sampled_from(["line", "word"]))}
    if scheme in ("preset", "prereset", "dcw"):
        p["initial_state"] = draw(st.sampled_from(["ones", "zeros"]))
    elif scheme == "fnw":
        p["partition_bits"] = draw(st.sampled_from([n for n in (0, 4, 8, 16, 32) if n == 0 or B % n == 0]))
        p["initial_state"] = draw(st.sampled_from(["ones", "zeros"]))
    elif scheme == "appwom":
        choices = ["adjacent", "list"] + (["fig5"] if B == 32 else [])
        g = draw(st.sampled_from(choices))
        if g == "list":
            perm = draw(st.permutations(range(B)))
            g = [(perm[2 * k], perm[2 * k + 1], draw(st.booleans())) for k in range(B // 2)]
        p["grouping"] = g
        p["initial_polarity"] = draw(st.sampled_from(["interleaved", "10", "01"]))
        p["region_lines"] = draw(st.integers(1, 3))
        p["ping_pong"] = draw(st.booleans())
    elif scheme == "wom-set" and draw(st.booleans()):
        perm = draw(st.permutations(range(B)))
        p["grouping"] = [(perm[2 * k], perm[2 * k + 1]) for k in range(B // 2)]
    return p


def run_kernel(enc, writes, line_offset, splits):
    """Feed the writes in several chunks (the streaming form) and collect everything."""
    T, L, W = writes.shape
    stream = EncoderStream(enc, L, W, line_offset=line_offset, keep_stored=True)
    outcomes = []
    edges = sorted(set([0, T] + [s % (T + 1) for s in splits]))
    for a, b in zip(edges, edges[1:]):
        outcomes.append(stream.feed(writes[a:b]).outcome)
    return np.concatenate(outcomes), stream.wear, stream.result()


@given(data=st.data(), scheme=st.sampled_from(["preset", "prereset", "dcw", "fnw", "wom-set", "appwom"]))
def test_kernel_equals_reference(data, scheme):
    B, writes = data.draw(write_sequences())
    params = scheme_params(data.draw, scheme, B)
    line_offset = data.draw(st.integers(0, 5))
    splits = data.draw(st.lists(st.integers(0, 20), max_size=3))
    enc = make_encoder(scheme, word_bits=B, **params)
    outcome, wear, result = run_kernel(enc, writes, line_offset, splits)
    ref_outcome, ref_wear, ref_stored = reference_replay(enc, writes, line_offset)
    for i, name in enumerate(OUTCOME_FIELDS):
        np.testing.assert_array_equal(outcome[..., i], ref_outcome[..., i], err_msg=name)
    np.testing.assert_array_equal(wear, ref_wear)
    np.testing.assert_array_equal(result.stored, ref_stored)
    # totals are the sums of the outcomes, wear is the sum of all flips
    assert result.bit_flips == int(ref_outcome[..., :4].sum()) == int(ref_wear.sum())


@given(data=st.data(), scheme=st.sampled_from(["preset", "prereset", "dcw", "fnw", "wom-set"]))
def test_exact_schemes_decode_what_was_written(data, scheme):
    B, writes = data.draw(write_sequences())
    enc = make_encoder(scheme, word_bits=B, **scheme_params(data.draw, scheme, B))
    _, _, result = run_kernel(enc, writes, 0, [])
    np.testing.assert_array_equal(result.stored, writes)


@given(data=st.data())
def test_wom_writes_program_one_direction(data):
    """WOM-SET and AppWOM10 writes never SET, AppWOM01 writes never RESET (between refreshes)."""
    B, writes = data.draw(write_sequences())
    grouping = "fig5" if B == 32 and data.draw(st.booleans()) else "adjacent"
    unit = data.draw(st.sampled_from(["line", "word"]))
    for scheme, kw, never in [
        ("wom-set", {}, "write_set"),
        ("appwom", dict(grouping=grouping, initial_polarity="10", ping_pong=False), "write_set"),
        ("appwom", dict(grouping=grouping, initial_polarity="01", ping_pong=False), "write_reset"),
    ]:
        enc = make_encoder(scheme, word_bits=B, refresh_unit=unit, **kw)
        outcome, _, _ = run_kernel(enc, writes, 0, [])
        assert outcome[..., OUTCOME_FIELDS.index(never)].sum() == 0, (scheme, kw)


@given(data=st.data())
def test_appwom_ping_pong_alternates_write_direction(data):
    """With ping-pong a 10 line RESETs until its exhaustion, then SETs until the next."""
    B, writes = data.draw(write_sequences(word_bits=32))
    enc = make_encoder("appwom", word_bits=32, initial_polarity="10")
    outcome, _, _ = run_kernel(enc, writes, 0, [])
    for line in range(writes.shape[1]):
        pol = 0
        for t in range(writes.shape[0]):
            ws, wr, rs, rr, nref = outcome[t, line]
            assert (ws == 0) if pol == 0 else (wr == 0)
            if nref:
                assert (rs == 0) if pol == 0 else (rr == 0)  # 10 -> PreRESET, 01 -> PreSET
                pol ^= 1


@given(data=st.data())
def test_flip_n_write_bound(data):
    """Flip-N-Write never programs more than ceil((N+1)/2) cells of a partition per write."""
    B, writes = data.draw(write_sequences())
    n = data.draw(st.sampled_from([n for n in (4, 8, 16, 32) if B % n == 0]))
    T, L, W = writes.shape
    for t in range(T):  # one write at a time, so the outcome is per write and per partition count
        enc = make_encoder("fnw", word_bits=B, partition_bits=n)
        stream = EncoderStream(enc, L, W)
        for tt in range(t):
            stream.feed(writes[tt : tt + 1])
        before = stream.wear.copy()
        stream.feed(writes[t : t + 1])
        per_cell = (stream.wear - before).astype(np.int64)  # (L, W, B + P)
        P = B // n
        data_cells = per_cell[..., :B].reshape(L, W, P, n).sum(axis=3)
        flag_cells = per_cell[..., B:]
        assert ((data_cells + flag_cells) <= math.ceil((n + 1) / 2)).all()


@given(data=st.data(), scheme=st.sampled_from(["preset", "prereset", "dcw", "fnw", "wom-set", "appwom"]))
def test_long_runs_flush_wear_exactly(data, scheme):
    """More writes than the bit-sliced counters hold between flushes (127): wear stays exact."""
    B = 32
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    writes = rng.integers(0, 2**32, size=(300, 2, 3), dtype=np.uint64).astype(np.uint32)
    enc = make_encoder(scheme, word_bits=B, **({"grouping": "adjacent"} if scheme == "appwom" else {}))
    _, wear, _ = run_kernel(enc, writes, 0, [])
    _, ref_wear, _ = reference_replay(enc, writes)
    np.testing.assert_array_equal(wear, ref_wear)
