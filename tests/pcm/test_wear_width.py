"""The per-cell wear's width: PCM streams count in uint32 and widen to uint64 before a cell could wrap.

A uint32 stream and a uint64 stream of the same scheme give the same outcomes, wear and totals; a stream
whose limit (``EncoderStream.WEAR32_LIMIT``) is lowered widens before the writes fed could pass it and
goes on exactly; results of shards of different widths join into the unsharded figures."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim.digest import WearDigest
from archsim.errors import ConfigError
from archsim.pcm import EncoderStream, make_encoder
from archsim.pcm.encoder import PCM_SCHEMES
from archsim.pcm.schemes.raw import Dcw
from test_encoding_properties import scheme_params, write_sequences

SCHEMES = ["preset", "prereset", "dcw", "fnw", "wom-set", "appwom", "dap", "ps"]


def _encoder(draw, scheme, B):
    if scheme in ("dap", "ps"):   # float32 words; a retention that lets some lossy SETs decay
        return make_encoder(scheme, word_bits=32, retention_s=draw(st.sampled_from([1e-9, 1.0, 1e9])),
                            iteration_time_s=0.5)
    return make_encoder(scheme, word_bits=B, **scheme_params(draw, scheme, B))


def _chunks(T, splits):
    edges = sorted({0, T, *(s % (T + 1) for s in splits)})
    return list(zip(edges, edges[1:]))


def _same_chunk(a, b):
    np.testing.assert_array_equal(a.outcome, b.outcome)
    assert a.extras.keys() == b.extras.keys()
    for k in a.extras:
        np.testing.assert_array_equal(a.extras[k], b.extras[k], err_msg=k)
    if a.stored is not None or b.stored is not None:
        np.testing.assert_array_equal(a.stored, b.stored)


def test_every_builtin_scheme_bounds_its_wear_and_starts_narrow():
    builtin = [n for n in PCM_SCHEMES.names() if PCM_SCHEMES.get(n).__module__.startswith("archsim.")]
    assert set(SCHEMES) <= set(builtin)   # (a plugin another test registered is not built in)
    for name in builtin:
        enc = make_encoder(name)
        assert enc.cell_flips_per_write in (1, 2), name
        assert EncoderStream(enc, 2, 3)._wear.dtype == np.uint32, name


def test_a_scheme_without_a_bound_keeps_uint64():
    class Unbounded(Dcw):
        cell_flips_per_write = None

    enc = Unbounded()
    assert EncoderStream(enc, 2, 3)._wear.dtype == np.uint64
    with pytest.raises(ConfigError, match="wear_dtype"):
        EncoderStream(enc, 2, 3, wear_dtype="uint32")
    with pytest.raises(ConfigError, match="wear_dtype"):
        EncoderStream(make_encoder("dcw"), 2, 3, wear_dtype="int32")


@settings(deadline=None, max_examples=120)
@given(data=st.data(), scheme=st.sampled_from(SCHEMES))
def test_uint32_and_uint64_streams_agree(data, scheme):
    """Random writes in random chunks, with partial read-outs in between: the same outcomes (and extras,
    stored values), wear, read-outs and totals whatever the wear's width."""
    B, writes = data.draw(write_sequences(word_bits=32 if scheme in ("dap", "ps") else None))
    enc = _encoder(data.draw, scheme, B)
    T, L, W = writes.shape
    narrow = EncoderStream(enc, L, W, keep_stored=True, wear_dtype="uint32")
    wide = EncoderStream(enc, L, W, keep_stored=True, wear_dtype="uint64")
    for a, b in _chunks(T, data.draw(st.lists(st.integers(0, 20), max_size=3))):
        _same_chunk(narrow.feed(writes[a:b]), wide.feed(writes[a:b]))
        rows = data.draw(st.lists(st.integers(0, L - 1), max_size=3))
        got = narrow.lines_wear(np.array(rows, np.intp))
        np.testing.assert_array_equal(got, wide.lines_wear(np.array(rows, np.intp)))
        assert got.dtype == np.uint32
    assert narrow._wear.dtype == np.uint32 and wide._wear.dtype == np.uint64
    np.testing.assert_array_equal(narrow.wear, wide.wear)
    r32, r64 = narrow.result(), wide.result()
    assert r32.summary() == r64.summary()
    np.testing.assert_array_equal(r32.stored, r64.stored)
    np.testing.assert_array_equal(r32.wear_by_cell(), r64.wear_by_cell())
    assert r32.wear_by_cell().dtype == r64.wear_by_cell().dtype == np.uint64


@settings(deadline=None, max_examples=60)
@given(data=st.data(), scheme=st.sampled_from(SCHEMES))
def test_a_stream_widens_before_its_limit_and_stays_exact(data, scheme):
    """A limit lowered to a few writes' worth: the stream is uint32 while (writes fed + the next chunk) x
    the scheme's bound fits, uint64 from the chunk that could pass it on (the kernels' pending counters,
    up to 124 writes, carried over), and its wear then equals a uint64 stream's throughout."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    B = 32 if scheme in ("dap", "ps") else data.draw(st.sampled_from([8, 32, 64]))
    enc = _encoder(data.draw, scheme, B)
    L, W = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 4))
    sizes = data.draw(st.lists(st.integers(1, 150), min_size=2, max_size=5))
    dtype = {8: np.uint8, 32: np.uint32, 64: np.uint64}[B]
    writes = rng.integers(0, np.iinfo(dtype).max, size=(sum(sizes), L, W), dtype=dtype, endpoint=True)
    if rng.random() < 0.5:   # training-like: few low bits change (long WOM cycles)
        writes = np.bitwise_xor.accumulate(writes & dtype(0x3), axis=0)
    bound = enc.cell_flips_per_write
    narrow = EncoderStream(enc, L, W)
    narrow.WEAR32_LIMIT = bound * data.draw(st.integers(sizes[0], sum(sizes) - 1))  # widens after the first chunk
    wide = EncoderStream(enc, L, W, wear_dtype="uint64")
    fed = 0
    for n in sizes:
        was = narrow._wear.dtype
        _same_chunk(narrow.feed(writes[fed:fed + n]), wide.feed(writes[fed:fed + n]))
        fed += n
        fits = fed * bound <= narrow.WEAR32_LIMIT
        assert narrow._wear.dtype == (np.uint32 if fits and was == np.uint32 else np.uint64)
        np.testing.assert_array_equal(narrow.lines_wear(slice(0, 1)), wide.lines_wear(slice(0, 1)))
    assert narrow._wear.dtype == np.uint64
    np.testing.assert_array_equal(narrow.wear, wide.wear)
    assert narrow.wear.dtype == np.uint64
    assert narrow.result().summary() == wide.result().summary()


@settings(deadline=None, max_examples=40)
@given(data=st.data(), scheme=st.sampled_from(SCHEMES))
def test_shards_of_different_widths_join_into_the_whole(data, scheme):
    """A sharded run's line ranges, one widened and one not, joined as arrays and as digests: the
    unsharded wear, summary and per-cell reductions."""
    B, writes = data.draw(write_sequences(word_bits=32 if scheme in ("dap", "ps") else None))
    T, L, W = writes.shape
    if L < 2:
        writes = np.concatenate([writes, writes[:, ::-1]], axis=1)
        L = 2
    enc = _encoder(data.draw, scheme, B)
    cut = data.draw(st.integers(1, L - 1))
    whole = EncoderStream(enc, L, W)
    first = EncoderStream(enc, cut, W, line_offset=0)
    first.WEAR32_LIMIT = 0        # widens at its first chunk
    second = EncoderStream(enc, L - cut, W, line_offset=cut)
    whole.feed(writes)
    first.feed(writes[:, :cut])
    second.feed(writes[:, cut:])
    assert first._wear.dtype == np.uint64 and second._wear.dtype == whole._wear.dtype == np.uint32
    expected = whole.result()
    for parts in ([first.result(), second.result()], [first.result().digested(), second.result().digested()]):
        joined = parts[0].join(parts[1:])
        assert joined.summary() == expected.summary()
        np.testing.assert_array_equal(joined.wear_by_cell(), expected.wear_by_cell())
        np.testing.assert_array_equal(joined.cell_wear().max(axis=(0, 1)), expected.cell_wear().max(axis=(0, 1)))
        if not isinstance(joined.wear, WearDigest):
            np.testing.assert_array_equal(joined.wear, expected.wear)
            assert joined.wear.dtype == np.uint64


def test_widening_boundary():
    """Writes fed x the bound equal to the limit stay uint32; one write more widens, before it is encoded."""
    s = EncoderStream(make_encoder("preset"), 2, 3)
    s.WEAR32_LIMIT = 2 * 6
    s.feed(np.arange(2 * 3 * 5, dtype=np.uint32).reshape(5, 2, 3))
    s.feed(np.zeros((1, 2, 3), np.uint32))
    assert s._wear.dtype == np.uint32          # 6 writes x 2 flips = the limit
    s.feed(np.zeros((1, 2, 3), np.uint32))
    assert s._wear.dtype == np.uint64
    ref = EncoderStream(make_encoder("preset"), 2, 3, wear_dtype="uint64")
    ref.feed(np.concatenate([np.arange(30, dtype=np.uint32).reshape(5, 2, 3), np.zeros((2, 2, 3), np.uint32)]))
    np.testing.assert_array_equal(s.wear, ref.wear)
