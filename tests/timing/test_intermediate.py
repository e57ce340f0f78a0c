"""The training pattern's intermediate data: drawn once for all schemes, encoded ahead on a thread pool,
with the same numbers bit for bit as encoding it on the main thread in the model's chunks."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archsim.config import Config, replace
from archsim.contracts import TECHNOLOGIES
from archsim.timing.intermediate import IntermediateContent, IntermediateWrites, random_words
from archsim.timing.model import TimingModel

from _timing_helpers import digits  # noqa: F401  (pytest fixture)

PCM = TECHNOLOGIES.get("pcm")
LINES, WORDS = 24, 4


def _content(seed=3, ones=0.5):
    return IntermediateContent(seed=seed, lines=LINES, words=WORDS, word_bits=32, ones=ones)


def _writes(scheme, content, cfg):
    stream = PCM.open_stream(scheme, lines=LINES, words=WORDS, config=cfg, line_offset=100)
    return IntermediateWrites(stream, content, PCM, cfg, has_costs=True)


def _cuts(total, sizes):
    out, first = [], 0
    for n in sizes:
        if first >= total:
            break
        n = min(n, total - first)
        out.append((first, n))
        first += n
    if first < total:
        out.append((first, total - first))
    return out


def test_content_is_one_generator_per_iteration():
    c = _content()
    whole = c.draw(0, 5)
    assert whole.shape == (5, LINES, WORDS) and whole.dtype == np.uint32
    assert np.array_equal(np.concatenate([c.draw(0, 2), c.draw(2, 3)]), whole)
    rng = np.random.default_rng([3, 4])
    assert np.array_equal(whole[4], random_words(rng, (LINES, WORDS), 32, 0.5))
    biased = _content(ones=0.25).draw(0, 40)
    assert 0.22 < np.unpackbits(biased.view(np.uint8)).mean() < 0.28


@pytest.mark.parametrize("word_bits", [8, 16, 32, 64])
@pytest.mark.parametrize("shape", [(1,), (3, 5), (7, 3), (40, 16)])
def test_uniform_words_written_in_place_are_numpys_integers(word_bits, shape):
    dtype = np.dtype(f"u{word_bits // 8}")
    for seed in ([3, 4], [0, 0], [11, 2**40]):
        want = np.random.default_rng(seed).integers(0, 2**word_bits - 1, size=shape, dtype=dtype, endpoint=True)
        out = np.full(shape, 7, dtype)
        got = random_words(np.random.default_rng(seed), shape, word_bits, 0.5, out=out)
        assert got is out and np.array_equal(out, want)
    # a generator that holds half a 64-bit output (a 32-bit draw before) takes numpy's own path: the same words
    rng, ref = np.random.default_rng(5), np.random.default_rng(5)
    rng.integers(0, 2**32 - 1, dtype=np.uint32, endpoint=True)
    ref.integers(0, 2**32 - 1, dtype=np.uint32, endpoint=True)
    out = np.empty(shape, dtype)
    random_words(rng, shape, word_bits, 0.5, out=out)
    assert np.array_equal(out, ref.integers(0, 2**word_bits - 1, size=shape, dtype=dtype, endpoint=True))


def test_biased_words_written_in_place_are_the_returned_ones():
    out = np.empty((6, 4), np.uint16)
    random_words(np.random.default_rng(1), (6, 4), 16, 0.3, out=out)
    assert np.array_equal(out, random_words(np.random.default_rng(1), (6, 4), 16, 0.3))


def test_shared_content_is_drawn_once_and_then_dropped():
    c = _content()
    for _ in range(3):
        c.attach()
    drawn = []
    real = c.draw

    def counting(first, T):
        drawn.append((first, T))
        return real(first, T)

    c.draw = counting
    got = []
    barrier = threading.Barrier(3)

    def consumer():
        barrier.wait()
        got.append(c.chunk(4, 6))

    threads = [threading.Thread(target=consumer) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert drawn == [(4, 6)] and len(got) == 3
    assert all(np.array_equal(g, real(4, 6)) for g in got)
    assert not c._chunks  # every consumer took it: nothing kept


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scheme=st.sampled_from(["preset", "prereset", "dcw", "wom-set", "appwom"]),
       total=st.integers(1, 30), taken=st.lists(st.integers(1, 9), min_size=1, max_size=8),
       ahead=st.integers(1, 9), workers=st.integers(1, 3))
def test_encoded_ahead_equals_encoded_in_place(scheme, total, taken, ahead, workers):
    """Whatever chunks the pool encodes ahead (the taker's, or others: split and completed), every
    chunk taken has the outcome, service times and line totals of the serial replay of that chunk,
    and the stream's wear is the serial one."""
    cfg = Config()
    serial_stream = PCM.open_stream(scheme, lines=LINES, words=WORDS, config=cfg, line_offset=100)
    content = _content()
    cuts = _cuts(total, taken)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        w = _writes(scheme, _content(), cfg)
        w.run_ahead(pool, iterations=total, chunk=ahead)
        for first, T in cuts:
            got = w.take(first, T)
            want = serial_stream.feed(content.draw(first, T))
            assert got.first == first and np.array_equal(got.chunk.outcome, want.outcome)
            ref = IntermediateWrites(None, content, PCM, cfg, has_costs=True)._price(first, want)
            assert np.array_equal(got.write_ps, ref.write_ps) and np.array_equal(got.refresh_ps, ref.refresh_ps)
            assert got.totals.keys() == ref.totals.keys()
            for k in ref.totals:
                assert got.totals[k].dtype == ref.totals[k].dtype and np.array_equal(got.totals[k], ref.totals[k])
        w.settle()
        assert w.position == total
        assert np.array_equal(w.stream.wear, serial_stream.wear)


def test_take_out_of_order_is_an_error():
    w = _writes("preset", _content(), Config())
    w.take(0, 2)
    with pytest.raises(RuntimeError, match="iterations from 5 asked for, the stream is at 2"):
        w.take(5, 1)


def _model_run(digits_fixture, scheme, iterations, pool=None, chunk=None):
    source, layout, outs = digits_fixture(scheme, iterations)
    m = TimingModel(Config(), technology=PCM, scheme=scheme, layout=layout, meta=source.meta)
    if pool is not None:
        m.run_ahead(pool, iterations=iterations, chunk=chunk, content=m.shared_content())
    for o in outs:
        m.feed(o)
    m.set_wear(np.ones((layout.lines, layout.words_per_line, 32 if scheme == "preset" else 48), np.uint64))
    return m.finish()


@pytest.mark.parametrize("scheme", ["preset", "appwom"])
def test_the_model_run_ahead_has_the_serial_tables(digits, scheme):
    serial = _model_run(digits, scheme, 6)
    source, layout, outs = digits(scheme, 6)
    per_feed = outs[0].shape[0]
    with ThreadPoolExecutor(max_workers=2) as pool:
        ahead = _model_run(digits, scheme, 6, pool=pool, chunk=per_feed)
        other = _model_run(digits, scheme, 6, pool=pool, chunk=per_feed + 1)  # chunks split and completed
    for r in (ahead, other):
        pd.testing.assert_frame_equal(r.per_bank, serial.per_bank, check_exact=True)
        assert r.overall == serial.overall
        pd.testing.assert_frame_equal(r.lifetimes, serial.lifetimes, check_exact=True)


def test_the_model_refuses_to_finish_with_data_encoded_past_what_it_was_fed(digits):
    source, layout, outs = digits("preset", 4)
    m = TimingModel(Config(), technology=PCM, scheme="preset", layout=layout, meta=source.meta)
    with ThreadPoolExecutor(max_workers=1) as pool:
        m.run_ahead(pool, iterations=100, chunk=4)
        with pytest.raises(RuntimeError, match="encoded ahead to iteration 4, but 0 iterations were fed"):
            m.finish()


def test_run_ahead_refuses_another_models_content(digits):
    source, layout, outs = digits("preset", 2)
    m = TimingModel(Config(), technology=PCM, scheme="preset", layout=layout, meta=source.meta)
    other = TimingModel(replace(Config(), {"timing.seed": 9}), technology=PCM, scheme="preset", layout=layout,
                        meta=source.meta)
    with ThreadPoolExecutor(max_workers=1) as pool, pytest.raises(ValueError, match="not this model's"):
        m.run_ahead(pool, iterations=2, chunk=2, content=other.shared_content())


@pytest.mark.parametrize("scheme", ["prereset", "wom-set"])
def test_the_intermediate_wear_is_read_block_by_block(digits, scheme, monkeypatch):
    """The per-line maximum cell flips of the intermediate data, read a few lines at a time, is the
    maximum over the stream's whole wear."""
    source, layout, outs = digits(scheme, 4)
    m = TimingModel(Config(), technology=PCM, scheme=scheme, layout=layout, meta=source.meta)
    for o in outs:
        m.feed(o)
    monkeypatch.setattr(TimingModel, "WEAR_BLOCK_LINES", 7)
    got = m._intermediate_line_max()
    want = np.asarray(m._istream.wear).reshape(m.inter_lines, -1).max(axis=1)
    assert m.inter_lines > 7 and got.max() > 0 and np.array_equal(got, want)


@pytest.mark.parametrize("scheme", ["preset", "appwom"])
def test_prepared_chunks_kept_by_the_caller_are_not_overwritten(digits, scheme):
    """``prepare`` gives arrays the caller may keep (a benchmark prepares every chunk, then simulates them);
    only ``feed`` reuses the model's buffers, simulating each chunk before the next is prepared."""
    serial = _model_run(digits, scheme, 6)
    source, layout, outs = digits(scheme, 6)
    m = TimingModel(Config(), technology=PCM, scheme=scheme, layout=layout, meta=source.meta)
    prepared, copies = [], []
    for o in outs:  # each chunk's arrays copied before the next is prepared: a reused buffer would differ
        prepared.append(m.prepare(o))
        copies.append((prepared[-1][0].copy(), prepared[-1][1].copy()))
    assert len(prepared) > 1 and not np.shares_memory(prepared[0][0], prepared[1][0])
    for (w, r, extra), (w0, r0) in zip(prepared, copies):
        assert np.array_equal(w, w0) and np.array_equal(r, r0)
        m.simulate(w, r, extra)
    m.set_wear(np.ones((layout.lines, layout.words_per_line, 32 if scheme == "preset" else 48), np.uint64))
    kept = m.finish()
    pd.testing.assert_frame_equal(kept.per_bank, serial.per_bank, check_exact=True)
    assert kept.overall == serial.overall
