"""Wear levelling (archsim.wear): the folded accounting equals a plain reference that moves the data.

The reference runs the numpy reference of every PCM scheme (archsim.pcm.reference), takes the
logical cells after every programming step, and keeps an explicit *physical* memory: each step
writes every line's cells to its physical place under the current mapping, and a remapping copies
the cells physically; a flip is any physical cell whose value changes. Nothing is folded there.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from archsim.config import load_config
from archsim.contracts import TECHNOLOGIES, TechnologyStream
from archsim.errors import ConfigError
from archsim.pcm import EncoderStream, make_encoder
from archsim.pcm.reference import reference_replay
from archsim.wear import WEAR_LEVELLERS, RotateParams, RotateStartGapParams, StartGapParams, lifetime_columns

from _start_gap import gap_moves
from test_encoding_properties import scheme_params, write_sequences

SCHEMES = ["preset", "prereset", "dcw", "fnw", "wom-set", "appwom"]
PCM = TECHNOLOGIES.get("pcm")
CONFIG = load_config(None)


def _stream(scheme, B, params, L, W, line_offset):
    return EncoderStream(make_encoder(scheme, word_bits=B, **params), L, W, pcm=CONFIG.pcm, line_offset=line_offset)


class PhysicalReference:
    """Physical cells (slots, C) and their flips; ``place(logical)`` writes every line at its mapping."""

    def __init__(self, slots: int, C: int) -> None:
        self.cells = np.zeros((slots, C), np.uint8)
        self.wear = np.zeros((slots, C), np.int64)
        self.copies = self.sets = self.resets = 0

    def write(self, new: np.ndarray, copy_rows=None) -> None:
        before = self.cells
        self.wear += before != new
        if copy_rows is not None:
            self.copies += len(copy_rows)
            self.sets += int(((before[copy_rows] == 0) & (new[copy_rows] == 1)).sum())
            self.resets += int(((before[copy_rows] == 1) & (new[copy_rows] == 0)).sum())
        self.cells = new.copy()


def rotate_reference(enc, writes, line_offset, init, period, shift):
    T, L, _ = writes.shape
    C = init.shape[1]
    mem = PhysicalReference(L, C)
    state = {"o": 0, "logical": init.copy(), "t": 0}

    def place(cells, o):
        out = np.empty_like(cells)
        out[:, (np.arange(C) + o) % C] = cells  # logical cell j at physical (j + o) % C
        return out

    mem.cells = place(init, 0)

    def boundary(done):
        if done % period == 0:
            o2 = (state["o"] + shift) % C
            if o2 != state["o"]:
                mem.write(place(state["logical"], o2), copy_rows=np.arange(L))
            state["o"] = o2

    def observe(t, cells):
        while state["t"] < t:  # iteration state["t"] is over
            state["t"] += 1
            boundary(state["t"])
        state["logical"] = cells.copy()
        mem.write(place(cells, state["o"]))

    reference_replay(enc, writes, line_offset, observe=observe)
    while state["t"] < T:
        state["t"] += 1
        boundary(state["t"])
    return mem


def start_gap_reference(enc, writes, line_offset, init, region_lines, psi, randomise, seed, period=0, shift=0):
    """Start-Gap with Qureshi's registers: PA = (LA + start) mod N, PA += 1 if PA >= gap; with ``period``,
    also every line's cells rotated by ``shift`` every ``period`` iterations (first, then the gap moves)."""
    T, L, _ = writes.shape
    C = init.shape[1]
    N = region_lines or L
    order = np.random.default_rng([seed, L]).permutation(L) if randomise else np.arange(L)
    rank = np.argsort(order)  # randomised address of each logical line
    sizes = [min(N, L - b) for b in range(0, L, N)]
    R = len(sizes)
    start, gap, done = [0] * R, list(sizes), [0] * R
    mem = PhysicalReference(L + R, C)
    rot = {"o": 0, "logical": init.copy()}

    def slot(line):
        a = int(rank[line])
        r, i = divmod(a, N)
        pa = (i + start[r]) % sizes[r]
        return r * N + r + pa + (1 if pa >= gap[r] else 0)

    def place(cells):
        out = mem.cells.copy()
        pos = (np.arange(C) + rot["o"]) % C
        for line in range(L):
            out[slot(line), pos] = cells[line]
        return out

    for r, n in enumerate(sizes):  # the spare slot holds what the region's last line holds
        mem.cells[r * N + r + n] = init[order[r * N + n - 1]]
    mem.cells = place(init)
    state = {"t": 0}

    def boundary(k):
        if period and k % period == 0 and (rot["o"] + shift) % C != rot["o"]:
            rot["o"] = (rot["o"] + shift) % C
            mem.write(place(rot["logical"]), copy_rows=[slot(line) for line in range(L)])
        for r, src, dst in gap_moves(k, sizes, psi, done, gap, start):
            base = r * N + r
            new = mem.cells.copy()
            new[base + dst] = mem.cells[base + src]
            mem.write(new, copy_rows=[base + dst])

    def observe(t, cells):
        while state["t"] < t:
            state["t"] += 1
            boundary(state["t"])
        rot["logical"] = cells.copy()
        mem.write(place(cells))

    reference_replay(enc, writes, line_offset, observe=observe)
    while state["t"] < T:
        state["t"] += 1
        boundary(state["t"])
    return mem, [slot(line) for line in range(L)]


def _feed(stream, writes, splits):
    T = writes.shape[0]
    edges = sorted(set([0, T] + [s % (T + 1) for s in splits]))
    return np.concatenate([stream.feed(writes[a:b]).outcome for a, b in zip(edges, edges[1:])])


def _check_costs(result, mem):
    costs = result.levelling_costs()
    assert costs["levelling_line_writes"] == mem.copies
    assert costs["levelling_set_flips"] == mem.sets
    assert costs["levelling_reset_flips"] == mem.resets
    e = CONFIG.pcm
    assert costs["levelling_energy_pj"] == pytest.approx(mem.sets * e.set_energy_pj + mem.resets * e.reset_energy_pj)


@given(data=st.data(), scheme=st.sampled_from(SCHEMES))
def test_rotate_equals_physical_reference(data, scheme):
    B, writes = data.draw(write_sequences())
    params = scheme_params(data.draw, scheme, B)
    line_offset = data.draw(st.integers(0, 5))
    T, L, W = writes.shape
    inner = _stream(scheme, B, params, L, W, line_offset)
    C = W * inner.cells_per_word
    period = data.draw(st.integers(1, 4))
    shift = data.draw(st.one_of(st.integers(1, 3 * C), st.just(C)))
    init = inner.cell_states(np.arange(L))
    stream = WEAR_LEVELLERS.get("rotate")(RotateParams(period, shift)).wrap(inner, PCM, CONFIG)
    outcome = _feed(stream, writes, data.draw(st.lists(st.integers(0, 20), max_size=3)))
    result = stream.result()
    enc = make_encoder(scheme, word_bits=B, **params)
    mem = rotate_reference(enc, writes, line_offset, init, period, shift)
    np.testing.assert_array_equal(result.physical_wear(), mem.wear)
    _check_costs(result, mem)
    # the scheme itself is untouched: same outcomes and logical wear as without levelling
    ref_outcome, ref_wear, _ = reference_replay(enc, writes, line_offset)
    np.testing.assert_array_equal(outcome, ref_outcome)
    np.testing.assert_array_equal(result.cell_wear(), ref_wear)
    # the steady state averages each line over its rotation classes
    g = math.gcd(shift, C)
    classes = mem.wear.reshape(L, C // g, g)
    np.testing.assert_allclose(result.steady_wear().reshape(L, C // g, g),
                               np.broadcast_to(classes.mean(axis=1, keepdims=True), classes.shape))


@given(data=st.data(), scheme=st.sampled_from(SCHEMES))
def test_start_gap_equals_physical_reference(data, scheme):
    B, writes = data.draw(write_sequences())
    params = scheme_params(data.draw, scheme, B)
    line_offset = data.draw(st.integers(0, 5))
    T, L, W = writes.shape
    inner = _stream(scheme, B, params, L, W, line_offset)
    p = StartGapParams(region_lines=data.draw(st.integers(0, L)), psi=data.draw(st.integers(1, 9)),
                       randomise=data.draw(st.booleans()), seed=data.draw(st.integers(0, 3)))
    init = inner.cell_states(np.arange(L))
    stream = WEAR_LEVELLERS.get("start-gap")(p).wrap(inner, PCM, CONFIG)
    _feed(stream, writes, data.draw(st.lists(st.integers(0, 20), max_size=3)))
    result = stream.result()
    enc = make_encoder(scheme, word_bits=B, **params)
    mem, slots = start_gap_reference(enc, writes, line_offset, init, p.region_lines, p.psi, p.randomise, p.seed)
    assert list(stream.slot_of_line) == slots
    np.testing.assert_array_equal(result.physical_wear(), mem.wear)
    _check_costs(result, mem)


@given(data=st.data(), scheme=st.sampled_from(SCHEMES))
def test_rotate_start_gap_equals_physical_reference(data, scheme):
    B, writes = data.draw(write_sequences())
    params = scheme_params(data.draw, scheme, B)
    T, L, W = writes.shape
    inner = _stream(scheme, B, params, L, W, 0)
    C = W * inner.cells_per_word
    p = RotateStartGapParams(region_lines=data.draw(st.integers(0, L)), psi=data.draw(st.integers(1, 9)),
                             randomise=data.draw(st.booleans()), seed=data.draw(st.integers(0, 3)),
                             period=data.draw(st.integers(1, 4)), shift=data.draw(st.integers(1, 2 * C)))
    init = inner.cell_states(np.arange(L))
    stream = WEAR_LEVELLERS.get("rotate-start-gap")(p).wrap(inner, PCM, CONFIG)
    _feed(stream, writes, data.draw(st.lists(st.integers(0, 20), max_size=3)))
    result = stream.result()
    mem, slots = start_gap_reference(make_encoder(scheme, word_bits=B, **params), writes, 0, init, p.region_lines,
                                     p.psi, p.randomise, p.seed, period=p.period, shift=p.shift)
    assert list(stream.slot_of_line) == slots
    np.testing.assert_array_equal(result.physical_wear(), mem.wear)
    _check_costs(result, mem)


@given(data=st.data(), scheme=st.sampled_from(SCHEMES))
def test_cell_states_are_the_reference_cells(data, scheme):
    B, writes = data.draw(write_sequences())
    params = scheme_params(data.draw, scheme, B)
    T, L, W = writes.shape
    last = {}
    reference_replay(make_encoder(scheme, word_bits=B, **params), writes, 0,
                     observe=lambda t, cells: last.update(cells=cells.copy()))
    stream = _stream(scheme, B, params, L, W, 0)
    stream.feed(writes)
    np.testing.assert_array_equal(stream.cell_states(np.arange(L)), last["cells"])
    rows = np.array([L - 1, 0])
    np.testing.assert_array_equal(stream.lines_wear(rows), stream.wear[rows])


def test_rotate_by_hand():
    """One 8-bit dcw word: 0b00001111 then a shift by 4 (period 1): the copy turns the cells over."""
    inner = _stream("dcw", 8, {}, 1, 1, 0)
    stream = WEAR_LEVELLERS.get("rotate")(RotateParams(period=1, shift=4)).wrap(inner, PCM, CONFIG)
    stream.feed(np.array([[[0b00001111]]], np.uint8))
    r = stream.result()
    # the write SET the four low cells (logical 4..7); then every cell changes: 4 SETs, 4 RESETs
    assert r.levelling_costs()["levelling_set_flips"] == 4
    assert r.levelling_costs()["levelling_reset_flips"] == 4
    np.testing.assert_array_equal(r.physical_wear(), [[1, 1, 1, 1, 2, 2, 2, 2]])
    assert r.bit_flips == 4  # the scheme's own figures are unchanged


def test_a_result_mid_replay_leaves_the_replay_and_itself_intact():
    """rotate builds the physical wear in place of its state; fed again, it rebuilds the state."""
    rng = np.random.default_rng(5)
    writes = rng.integers(0, 2**32, (9, 3, 2), dtype=np.uint64).astype(np.uint32)

    def stream():
        return WEAR_LEVELLERS.get("rotate")(RotateParams(period=2, shift=3)).wrap(_stream("dcw", 32, {}, 3, 2, 0),
                                                                                  PCM, CONFIG)

    whole, parts, first = stream(), stream(), stream()
    whole.feed(writes)
    first.feed(writes[:3])
    parts.feed(writes[:3])
    early = parts.result()
    kept = early.physical_wear().copy()
    np.testing.assert_array_equal(kept, first.result().physical_wear())
    parts.feed(writes[3:6])
    parts.feed(writes[6:])
    np.testing.assert_array_equal(parts.result().physical_wear(), whole.result().physical_wear())
    np.testing.assert_array_equal(early.physical_wear(), kept)  # the earlier result did not change
    assert not np.array_equal(kept, whole.result().physical_wear())


@pytest.mark.parametrize("pattern", ["constant", "random"])
def test_rotate_widens_its_state_exactly(monkeypatch, pattern):
    """rotate keeps its wear differences in the smallest signed type and widens it when a value would
    not fit, and builds the physical wear in place only when it fits: forced to start at int8, it gives
    the same numbers as at int16 (which the reference tests check)."""
    from archsim.wear import RotateStream

    rng = np.random.default_rng(2)
    if pattern == "constant":  # PreSET programs every 0 bit twice a write: those cells outrun the rotation
        writes = np.full((300, 4, 2), 0xFFFF0000, np.uint32)
    else:                      # the rotation keeps the differences small; the physical wear is not
        writes = rng.integers(0, 2**32, (300, 4, 2), dtype=np.uint64).astype(np.uint32)

    def run():
        s = WEAR_LEVELLERS.get("rotate")(RotateParams(period=1, shift=5)).wrap(_stream("preset", 32, {}, 4, 2, 0),
                                                                               PCM, CONFIG)
        for t in range(0, 300, 7):
            s.feed(writes[t:t + 7])
        return s.result()

    wide = run()
    monkeypatch.setattr(RotateStream, "X_DTYPES", (np.int8, np.int16, np.int32, np.int64))
    narrow = run()
    assert narrow.physical_wear().max() > 127
    # constant: widened to int16, the physical wear in place (uint16); random: int8 kept, uint64 built
    assert narrow.physical_wear().dtype == (np.uint16 if pattern == "constant" else np.uint64)
    np.testing.assert_array_equal(narrow.physical_wear(), wide.physical_wear())
    assert narrow.levelling_costs() == wide.levelling_costs()


def test_start_gap_with_equal_lines_changes_nothing_but_moves():
    """Every line worn the same: Start-Gap only spreads it over one more (spare) line."""
    inner = _stream("preset", 8, {}, 4, 2, 0)
    stream = WEAR_LEVELLERS.get("start-gap")(StartGapParams(psi=2)).wrap(inner, PCM, CONFIG)
    writes = np.tile(np.array([0x0F, 0xF0], np.uint8), (6, 4, 1))
    stream.feed(writes)
    r = stream.result()
    # PreSET lines all hold 1s between writes: the moves program nothing
    assert r.levelling_costs()["levelling_flips"] == 0
    assert r.levelling_costs()["levelling_line_writes"] == 6 * 4 // 2
    # steady state: each of the 5 slots holds one of the 4 equal lines 4/5 of the time
    np.testing.assert_allclose(r.steady_wear(), np.tile(r.cell_wear().reshape(4, -1).max(axis=0) * 4 / 5, (5, 1)))


def test_lifetime_columns():
    inner = _stream("preset", 8, {}, 2, 1, 0)
    inner.feed(np.array([[[0x00], [0xFF]]] * 4, np.uint8))
    cols = lifetime_columns(inner.result(), iterations=4, endurance=1e8, iteration_time_s=0.5, time_source="x")
    # line 0: every cell RESET and SET each write (2 flips/iteration); line 1: nothing
    assert cols["lifetime_levelled_iterations"] == 1e8 / 2
    assert cols["lifetime_mean_iterations"] == 1e8 / 1
    assert cols["lifetime_seconds"] == 1e8 / 2 * 0.5
    assert cols["levelling_line_writes"] == 0 and cols["levelling_energy_share"] == 0.0


def test_config_and_errors():
    cfg = load_config(None, ["wear_leveling=rotate", "wear_leveling.period=8"])
    assert cfg.wear_leveling.name == "rotate" and cfg.wear_leveling.params.period == 8
    with pytest.raises(ConfigError, match="period"):
        load_config(None, ["wear_leveling.name=rotate", "wear_leveling.period=0"])
    with pytest.raises(ConfigError, match="unknown wear leveller"):
        load_config(None, ["wear_leveling=rotat"])
    with pytest.raises(ConfigError, match="psi"):
        load_config(None, ["wear_leveling.name=start-gap", "wear_leveling.psi=0"])
    # racetrack is levelled (tests/racetrack/test_racetrack_wear_levelling.py); a stream whose wear is
    # per line but that cannot price a copy is one clear error
    rt = TECHNOLOGIES.get("racetrack")
    racetrack = load_config(None, ["run.memory=racetrack"])
    s = rt.open_stream(rt.default_schemes[0], lines=2, words=2, config=racetrack)
    WEAR_LEVELLERS.get("rotate")(RotateParams()).wrap(s, rt, racetrack)

    class Unpriced(type(s)):
        copy_rows = TechnologyStream.copy_rows

    u = Unpriced(s.scheme, 2, 2)
    with pytest.raises(ConfigError, match="does not price"):
        WEAR_LEVELLERS.get("rotate")(RotateParams()).wrap(u, rt, racetrack)


def test_top_level_slot_and_the_old_spelling(tmp_path, caplog):
    """``wear_leveling`` is a top-level choice (issue 12: ``--set wear_leveling=rotate``); the old
    ``run.wear_leveling`` loads with a one-line note; dumps round-trip and sweep ids do not move."""
    import logging
    import tomllib

    from archsim.config import Config, config_from_mapping, current_key, replace

    caplog.set_level(logging.WARNING, logger="archsim.config")
    new = load_config(None, ["wear_leveling=start-gap", "wear_leveling.psi=7"])
    old = load_config(None, ["run.wear_leveling=start-gap", "run.wear_leveling.psi=7"])
    assert new == old and new.wear_leveling.params.psi == 7
    assert "run.wear_leveling is now wear_leveling" in caplog.text
    assert not hasattr(new.run, "wear_leveling")
    # a file: [wear_leveling] table, the bare name, or the old [run.wear_leveling] table
    f = tmp_path / "c.toml"
    f.write_text('wear_leveling = "rotate"\n')
    assert load_config(f).wear_leveling.name == "rotate"
    f.write_text('[run.wear_leveling]\nname = "rotate"\nperiod = 5\n')
    assert load_config(f).wear_leveling.params.period == 5
    # both ways: the top-level key wins; parameters given only the old way are kept if taken
    both = config_from_mapping({"wear_leveling": "rotate", "run": {"wear_leveling": {"name": "start-gap", "shift": 3}}})
    assert both.wear_leveling.name == "rotate" and both.wear_leveling.params.shift == 3
    # dump: a top-level [wear_leveling] table that loads back to the same configuration
    dumped = new.to_toml()
    assert dumped.startswith('[wear_leveling]\nname = "start-gap"') and "[run.wear_leveling]" not in dumped
    assert config_from_mapping(tomllib.loads(dumped)) == new
    # the key as spelled now; the identity (sweep ids, caches) keeps the leveller where it stood
    assert current_key("run.wear_leveling.period") == "wear_leveling.period"
    assert replace(new, {"run.wear_leveling.psi": 9}).wear_leveling.params.psi == 9
    ident = Config().identity()
    assert "wear_leveling" not in ident and ident["run"]["wear_leveling"] == {"name": "none"}
    with pytest.raises(ConfigError, match="wear_leveling.psi must be at least 1"):
        load_config(None, ["wear_leveling=start-gap", "wear_leveling.psi=0"])
    with pytest.raises(ConfigError, match="the key must be section.key"):
        load_config(None, ["wear_levelling=rotate"])


def test_sweep_over_the_top_level_slot(tmp_path):
    from archsim.sweep import load_sweep

    f = tmp_path / "s.toml"
    f.write_text('[sweep.grid]\nwear_leveling = ["none", "rotate"]\n"wear_leveling.period" = [4]\n')
    with pytest.raises(ConfigError, match="unknown parameter 'period' of wear leveller 'none'"):
        load_sweep(f)
    f.write_text('[base]\nwear_leveling = "rotate"\n[sweep.grid]\n"wear_leveling.period" = [4, 8]\n')
    spec = load_sweep(f)
    assert [spec.point_config(p).wear_leveling.params.period for p in spec.points] == [4, 8]
    f.write_text('[sweep.grid]\nwear_leveling = ["none"]\n"run.wear_leveling" = ["rotate"]\n')
    with pytest.raises(ConfigError, match="same key"):
        load_sweep(f)


def test_dap_exposes_its_cells_and_can_be_rotated():
    """DAP's cells are its stored words (what a read right after the last write returns)."""
    from archsim.pcm.lanes import word_cells

    cfg = load_config(None, ["run.schemes=[\"dap\"]"])
    rng = np.random.default_rng(3)
    writes = rng.integers(0, 2**32, (5, 3, 4), dtype=np.uint64).astype(np.uint32)
    inner = PCM.open_stream("dap", lines=3, words=4, config=cfg)
    stream = WEAR_LEVELLERS.get("rotate")(RotateParams(period=2, shift=5)).wrap(inner, PCM, cfg)
    out = stream.feed(writes, want_stored=True)
    np.testing.assert_array_equal(stream.cell_states(np.arange(3)), word_cells(out.stored[-1], 32).reshape(3, -1))
    r = stream.result()
    assert r.levelling_costs()["levelling_line_writes"] == 2 * 3
    # physical wear = logical wear moved around + the copies' flips
    assert int(r.physical_wear().sum()) == int(r.cell_wear().sum()) + r.levelling_costs()["levelling_flips"]
