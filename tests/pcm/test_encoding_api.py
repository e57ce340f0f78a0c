"""The public encoding API: replay, streaming, parameters, errors, registration of new schemes."""
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from archsim.pcm.config import PcmConfig
from archsim.pcm import (
    PCM_SCHEMES,
    SCHEMES,
    Encoder,
    EncoderStream,
    make_encoder,
    open_stream,
    replay,
)
from archsim.errors import ArchsimError, ConfigError
from archsim.registry import load_plugin


def training_words(T=40, L=6, W=16, seed=0, lr=1e-3):
    rng = np.random.default_rng(seed)
    w = rng.normal(0, 0.05, size=(L, W)).astype(np.float32)
    steps = rng.normal(0, lr, size=(T, L, W)).astype(np.float32)
    return (w + np.cumsum(steps, axis=0)).astype(np.float32)


def test_schemes_listed():
    assert list(SCHEMES)[:6] == ["preset", "prereset", "dcw", "fnw", "wom-set", "appwom"]
    assert {"dap", "ps"} <= set(SCHEMES) and len(SCHEMES) == len(PCM_SCHEMES.names())


@pytest.mark.parametrize("scheme", ["preset", "prereset", "dcw", "fnw", "wom-set", "appwom"])
def test_streaming_equals_one_shot(scheme):
    """Feeding one iteration at a time gives the same result as one batch."""
    writes = training_words()
    one = replay(scheme, writes)
    stream = open_stream(scheme, lines=writes.shape[1], words=writes.shape[2], keep_stored=True)
    for t in range(writes.shape[0]):
        stream.feed(writes[t])  # (lines, words): one write of every line
    many = stream.result()
    assert one.summary() == many.summary()
    np.testing.assert_array_equal(one.wear, many.wear)
    np.testing.assert_array_equal(one.stored, many.stored)


def test_result_figures_are_consistent():
    writes = training_words()
    r = replay("appwom", writes, set_energy_pj=10, reset_energy_pj=20)
    assert r.bit_flips == r.set_flips + r.reset_flips == int(r.wear.sum())
    assert r.energy_pj == 10 * r.set_flips + 20 * r.reset_flips
    assert r.wear.shape == (6, 16, 48) and r.cells_per_word == 48
    assert r.iterations == 40 and r.line_writes == 240
    assert r.set_writes + r.reset_writes + r.silent_writes == r.line_writes
    assert r.lifetime_iterations() == pytest.approx(1e8 * 40 / r.max_cell_flips)
    assert r.wear_by_cell().sum() == r.bit_flips
    # interleaved polarity: even lines write with RESETs first, odd lines with SETs
    assert r.write_set_flips > 0 and r.write_reset_flips > 0
    # approximate: the stored values differ from the written ones only in unimportant mantissa bits
    diff = r.stored.view(np.uint32) ^ writes.view(np.uint32)
    assert diff.any()
    assert not (diff & np.uint32(0xFFFFF800)).any()  # S, exponent, M1..M12 always exact


def test_latency_from_outcomes():
    writes = training_words()
    pcm = PcmConfig()
    assert replay("prereset", writes).avg_write_latency_ns == pcm.set_latency_ns
    assert replay("preset", writes).avg_write_latency_ns == pcm.reset_latency_ns
    app = replay("appwom", writes).avg_write_latency_ns
    assert pcm.reset_latency_ns < app < pcm.set_latency_ns
    # read-before-write charges one read to schemes that need the old contents
    r = replay("dcw", writes, read_before_write=True)
    plain = replay("dcw", writes)
    assert r.avg_write_latency_ns == plain.avg_write_latency_ns + pcm.read_latency_ns
    assert r.energy_by_kind()["read"] == r.line_writes * 16 * 32 * pcm.read_energy_pj_per_bit
    assert replay("preset", writes, read_before_write=True).energy_by_kind()["read"] == 0


def test_write_power_budget_rounds():
    """Budget B: SETs first in ceil(s/B) rounds; RESETs fill the last SET round, then their own rounds."""
    w = np.array([[0x0000000F]], dtype=np.uint32)  # from all zeros: 4 SETs
    r = replay("dcw", w, write_power_budget=3, set_latency_ns=1000, reset_latency_ns=100)
    assert r.avg_write_latency_ns == 2 * 1000
    w2 = np.array([[0xFFFFFFFF], [0xFFFFFFF0]], dtype=np.uint32)  # 32 SETs, then 4 RESETs
    r2 = replay("dcw", w2, write_power_budget=16, set_latency_ns=1000, reset_latency_ns=100)
    assert r2.write_latency_ns_total == 2 * 1000 + 1 * 100


@pytest.mark.parametrize(
    "kwargs, key",
    [
        (dict(grouping="fig6"), "grouping"),
        (dict(initial_polarity="11"), "initial_polarity"),
        (dict(region_lines=0), "region_lines"),
        (dict(refresh_unit="page"), "refresh_unit"),
        (dict(colour="blue"), "colour"),
        (dict(set_energy_pj=-1), "set_energy_pj"),
        (dict(set_latency_ns=-5), "set_latency_ns"),
        (dict(endurance=0), "endurance"),
        (dict(grouping=[(31, 30)]), "grouping"),
    ],
)
def test_bad_parameters_name_the_key(kwargs, key):
    with pytest.raises(ConfigError, match=key):
        replay("appwom", training_words(T=2), **kwargs)


def test_word_width_errors():
    with pytest.raises(ConfigError, match="fig5"):
        replay("appwom", np.zeros((2, 4), np.uint16), word_bits=16)
    with pytest.raises(ConfigError, match="partition"):
        replay("fnw", np.zeros((2, 4), np.uint32), partition_bits=24)
    with pytest.raises(ConfigError, match=r"partition_bits must be 0 \(the word, up to 32 bits\) or positive, not -1"):
        replay("fnw", np.zeros((2, 4), np.uint32), partition_bits=-1)
    with pytest.raises(ConfigError, match="word_bits"):
        replay("dcw", np.zeros((2, 4), np.uint32), word_bits=12)
    with pytest.raises(ConfigError, match="fit in 8 bits"):
        replay("dcw", np.array([[300]], np.uint16), word_bits=8)
    with pytest.raises(ConfigError, match="unsigned"):
        replay("dcw", np.array([[-1]], np.int32))
    with pytest.raises(ArchsimError, match="unknown PCM write scheme 'apwom'.*did you mean 'appwom'"):
        replay("apwom", np.zeros((2, 4), np.uint32))


def test_stream_shape_mismatch():
    s = open_stream("preset", lines=2, words=4)
    with pytest.raises(ConfigError, match="do not fit"):
        s.feed(np.zeros((3, 2, 5), np.uint32))


def test_widths_8_16_64():
    rng = np.random.default_rng(3)
    for bits, dt in [(8, np.uint8), (16, np.uint16), (64, np.uint64)]:
        w = rng.integers(0, np.iinfo(dt).max, size=(10, 3, 5), dtype=dt, endpoint=True)
        for scheme in ["preset", "dcw", "fnw", "wom-set"]:
            r = replay(scheme, w, word_bits=bits)
            np.testing.assert_array_equal(r.stored, w)
        r = replay("appwom", w, word_bits=bits, grouping="adjacent")
        assert r.wear.shape == (3, 5, 3 * bits // 2)


def test_ping_pong_ablation_and_word_unit():
    writes = training_words(T=60)
    pp = replay("appwom", writes)
    no_pp = replay("appwom", writes, ping_pong=False, initial_polarity="10")
    # without ping-pong every programmed cell is SET back: RESET writes + SET refreshes only
    assert no_pp.write_set_flips == 0 and no_pp.refresh_reset_flips == 0
    # ping-pong turns every cell over once per cycle: each cell's flips = cycles (+1 in the open cycle)
    assert pp.wear.max() - pp.wear.min() <= pp.iterations
    word = replay("appwom", writes, refresh_unit="word")
    assert word.refreshes >= pp.refreshes  # words exhaust one by one


def test_register_a_new_scheme_in_one_class():
    """A plugin: one class and one registration line, usable by name everywhere
    (docs/examples/pcm_scheme_plugin.py, the example of docs/encoders.md)."""
    plugin = Path(__file__).resolve().parents[2] / "docs" / "examples" / "pcm_scheme_plugin.py"
    if "dcw-skip-low" not in PCM_SCHEMES:
        load_plugin(str(plugin))
    assert "dcw-skip-low" in SCHEMES
    w = np.array([[0xFF], [0x0F], [0xF0]], dtype=np.uint32)
    r = replay("dcw-skip-low", w, mask_bits=4)
    assert [int(x) for x in r.stored[:, 0]] == [0xF0, 0x00, 0xF0]
    assert r.bit_flips == 12 and r.summary()["scheme"] == "dcw-skip-low"
    with pytest.raises(ConfigError, match="mask"):
        make_encoder("dcw-skip-low", mask_bit=3)


def test_scheme_parameters_must_be_scheme_params():
    @dataclass(frozen=True)
    class Plain:
        x: int = 1

    with pytest.raises(TypeError, match="SchemeParams"):
        class Bad(Encoder):  # noqa: F841
            Params = Plain


def test_two_streams_are_independent():
    """No global state: two simulations in one process do not interfere."""
    writes = training_words()
    a = EncoderStream(make_encoder("appwom"), 6, 16)
    b = EncoderStream(make_encoder("appwom"), 6, 16)
    a.feed(writes[:20])
    b.feed(writes[:20])
    a.feed(writes[20:])
    b.feed(writes[20:])
    assert a.result().summary() == b.result().summary() == replay("appwom", writes).summary()


def test_deterministic():
    writes = training_words(seed=5)
    r1, r2 = replay("appwom", writes), replay("appwom", writes)
    assert r1.summary() == r2.summary()
    np.testing.assert_array_equal(r1.wear, r2.wear)


def test_outcome_fields_are_named_by_the_kernels():
    """The kernels and Python share one outcome table (cython_kernels/_outcome.pxd): each counter lands
    in the field of its name."""
    from archsim.contracts import TECHNOLOGIES
    from archsim.config import load_config

    pcm = TECHNOLOGIES.get("pcm")
    assert pcm.outcome_fields == ("write_set", "write_reset", "refresh_set", "refresh_reset", "refreshes")
    stream = open_stream("preset", lines=1, words=1)
    chunk = stream.feed(np.array([[[0x0000000F]]], np.uint32))   # preset: RESET the 28 zero bits, PreSET them back
    assert chunk.field("write_set").item() == 0 and chunk.field("write_reset").item() == 28
    assert chunk.field("refresh_set").item() == 28 and chunk.field("refresh_reset").item() == 0
    assert chunk.field("refreshes").item() == 1
    rt = TECHNOLOGIES.get("racetrack")
    s = rt.open_stream("naive", lines=1, words=2, config=load_config(None, ["run.memory=racetrack"]))
    c = s.feed(np.array([[[0x7, 0x0]]], np.uint32))  # naive: clear the 64 positions, insert the three ones
    assert c.fields == rt.outcome_fields and c.field("insertions").item() == 3 and c.field("removals").item() == 64


@pytest.mark.parametrize("scheme", ["preset", "appwom", "dap"])
def test_chunk_arrays_reused_only_when_released(scheme):
    """A stream reuses a chunk's outcome and stored arrays for the next chunk only once nothing holds them:
    an outcome (or a view of it) kept by the caller never changes, and the figures equal a fresh stream's."""
    words = training_words(T=12).view(np.uint32)
    kept = EncoderStream(make_encoder(scheme), 6, 16)
    first = kept.feed(words[:4], want_stored=True)
    first_outcome, first_stored = first.outcome.copy(), first.stored.copy()
    view = first.stored[1:]
    second = kept.feed(words[4:8], want_stored=True)
    assert second.outcome is not first.outcome and second.stored is not first.stored
    assert np.array_equal(first.outcome, first_outcome) and np.array_equal(first.stored, first_stored)
    assert np.array_equal(view, first_stored[1:])
    outcome_id = id(second.outcome)
    expected = second.outcome.copy()
    del second
    third = kept.feed(words[8:12], want_stored=True)
    assert id(third.outcome) == outcome_id     # released: the same memory serves the next chunk
    fresh = EncoderStream(make_encoder(scheme), 6, 16)
    for t in range(0, 12, 4):
        out = fresh.feed(words[t:t + 4], want_stored=True)
        if t == 4:
            assert np.array_equal(out.outcome, expected)
    assert np.array_equal(third.outcome, out.outcome) and np.array_equal(third.stored, out.stored)
    assert kept.result().summary() == fresh.result().summary()


@pytest.mark.parametrize("scheme", ["dcw", "preset", "appwom"])
def test_a_result_and_a_wear_snapshot_do_not_change_with_later_writes(scheme):
    """``stream.wear`` of a scheme that counts as it goes is the stream's own array: the next feed counts into
    a copy, so what was handed out stays as it was."""
    w = np.random.default_rng(0).integers(0, 2**32, size=(60, 2, 16), dtype=np.uint64).astype(np.uint32)
    s = open_stream(scheme, lines=2, words=16)
    s.feed(w[:10])
    r1, snap = s.result(), s.wear
    before = r1.wear.copy(), snap.copy(), r1.max_cell_flips
    s.feed(w[10:])
    assert np.array_equal(r1.wear, before[0]) and np.array_equal(snap, before[1]) and r1.max_cell_flips == before[2]
    assert s.wear.sum() > before[1].sum()
    whole = open_stream(scheme, lines=2, words=16)
    whole.feed(w)
    assert np.array_equal(s.wear, whole.wear)  # the copy goes on counting from where the stream was


def test_big_endian_floats_are_read_by_value():
    w = (np.random.default_rng(1).standard_normal((12, 32)) * 0.01).astype(np.float32)
    native, big = replay("appwom", w), replay("appwom", w.astype(">f4"))
    assert np.array_equal(native.wear, big.wear) and native.summary() == big.summary()


def test_a_pcm_section_built_by_hand_is_checked_and_results_of_other_costs_do_not_join():
    with pytest.raises(ConfigError, match="pcm.set_energy_pj must not be negative"):
        open_stream("dcw", lines=2, words=16, pcm=PcmConfig(set_energy_pj=-5))
    with pytest.raises(TypeError, match="pcm must be a PcmConfig"):
        open_stream("dcw", lines=2, words=16, pcm={})   # it took the defaults
    w = np.random.default_rng(0).integers(0, 2**32, size=(8, 2, 16), dtype=np.uint64).astype(np.uint32)
    a = replay("dcw", w[:, :1], set_energy_pj=10)
    b = replay("dcw", w[:, 1:], set_energy_pj=100)
    with pytest.raises(ArchsimError, match="cannot be joined"):
        a.join([b])   # it priced both halves at the first one's costs
    assert a.join([replay("dcw", w[:, 1:], set_energy_pj=10)]).lines == 2


@pytest.mark.parametrize("kw, error, message", [
    ({"line_offset": -1}, ConfigError, "line_offset must be in 0..1e"),
    ({"line_offset": 1.5}, TypeError, "line_offset must be an integer, not 1.5"),   # it decided AppWOM's polarities
    ({"lines": 2.0}, TypeError, "lines must be an integer, not 2.0"),
])
def test_stream_sizes_and_offsets_are_integers_in_range(kw, error, message):
    with pytest.raises(error, match=message):
        open_stream("appwom", **{"lines": 2, "words": 16, **kw})


@pytest.mark.parametrize("scheme", ["preset", "prereset", "dcw", "fnw", "wom-set", "appwom"])
@pytest.mark.parametrize("unit", ["line", "word"])
def test_a_kernel_that_fills_the_outcome_needs_no_cleared_array(scheme, unit):
    """The built-in kernels write every field of every outcome row (``Encoder.fills_outcome``), so the stream
    hands them the last chunk's array as it is: an array of garbage gives the counts of a zeroed one."""
    enc = make_encoder(scheme, refresh_unit=unit)
    assert enc.fills_outcome
    words = training_words(T=9).view(np.uint32)
    outs = []
    for fill in (0, 0xDEADBEEF):
        state = enc.new_state(6, 16)
        wear = np.zeros((6, 16, enc.cells_per_word), np.uint64)
        outcome = np.full((9, 6, 5), fill, np.uint32)
        enc.encode(state, np.ascontiguousarray(words), outcome, wear, None)
        outs.append(outcome)
    assert np.array_equal(outs[0], outs[1])


def test_an_encode_of_its_own_clears_the_outcome_unless_it_says_it_fills_it():
    from archsim.pcm.schemes.raw import Preset

    def adds(self, state, writes, outcome, wear, stored):   # counts one write in field 0 of every row, adds only
        outcome[..., 0] += 1

    class Adds(Preset):
        encode = adds

    class AddsMixin:
        encode = adds

    class Mixed(AddsMixin, Preset):   # encode from the mixin, fills_outcome would be Preset's
        pass

    class Fills(Adds):                # says so (wrongly): the stream then hands it the last chunk's counts
        fills_outcome = True

    assert Preset.fills_outcome and not Adds.fills_outcome and not Mixed.fills_outcome and Fills.fills_outcome
    assert not make_encoder("dap").fills_outcome
    words = training_words(T=4).view(np.uint32)

    def two_chunks(enc) -> tuple[np.ndarray, np.ndarray]:
        s = EncoderStream(enc, 6, 16)
        first = s.feed(words[:2]).outcome[..., 0].copy()   # the chunk dropped: its array serves the next one
        return first, s.feed(words[2:4]).outcome[..., 0]

    for enc in (Adds(), Mixed()):
        assert all((c == 1).all() for c in two_chunks(enc))   # cleared for every chunk
    first, second = two_chunks(Fills())
    assert (second == first + 1).all()                        # not cleared: the same array, counted again
