"""Wear levelling on racetrack (issue 12): per-line wear, copies priced by the scheme.

The property tests compare the levelled stream with a plain reference that *physically moves the
data*: :func:`archsim.racetrack.reference.reference_trace` replays the scheme position by position
and hands over every line's positions after every iteration; the test keeps an explicit physical
memory of slots (Start-Gap with Qureshi's registers, PA = (LA + start) mod N, plus 1 if PA >= gap;
rotation as an explicit placement of logical position j at physical (j + offset) mod P), writes
each line to its slot, and prices every remapping copy segment by segment straight from
racetrack.md's rules on the slot's physical positions. The physical line wear (the scheme's
insertions + removals at the slot its line occupied, plus the copies'), the copies' counters and
energy must equal the stream's exactly, and the scheme's own outcomes must be those of the
un-levelled reference.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim.config import load_config, replace
from archsim.contracts import TECHNOLOGIES
from archsim.racetrack import RACETRACK_SCHEMES, RacetrackConfig
from archsim.racetrack import reference as ref
from archsim.racetrack.ports import PortModel
from archsim.racetrack.stream import OUTCOME_FIELDS
from archsim.wear import WEAR_LEVELLERS, RotateParams, RotateStartGapParams, StartGapParams, levelling_columns

from _start_gap import gap_moves

SCHEMES = ["naive", "dcw", "fnw", "pw", "pw+fnw", "m-of-n", "fixed-ones"]
RT = TECHNOLOGIES.get("racetrack")
BASE = load_config(None, ["run.memory=racetrack"])


def _config(rc: RacetrackConfig):
    return replace(BASE, {f"racetrack.{k}": v for k, v in rc.__dict__.items()})


def copy_counts(kernel: str, rc: RacetrackConfig, N: int, before: list[int], after: list[int]) -> list[int]:
    """[ins, rem, det, shifts, path ins, path rem, path det] of one line copy writing the positions
    ``after`` over ``before`` (lists of one line's positions, segment by segment), from racetrack.md:
    naive removes every position and inserts the ones; dcw and fnw insert 0 -> 1 and remove 1 -> 0;
    the permutation writes create or destroy only the difference in skyrmion count. Shifts: the
    line's positions pass the port one after another from an aligned start (walk - 1 steps)."""
    S = rc.segments_per_item
    pm = PortModel.from_config(rc, N)
    items = len(after) // (S * N)
    tot = [0, 0, 0]
    path = [0, 0, 0]
    for i in range(items):
        worst, worst_t = (0, 0, 0), -1.0
        for k in range(S):
            lo = (i * S + k) * N
            o, n = before[lo: lo + N], after[lo: lo + N]
            if kernel == "naive":
                c = (sum(n), N, 0)
            elif kernel in ("dcw", "fnw"):
                c = (sum(1 for x, y in zip(o, n) if x == 0 and y == 1),
                     sum(1 for x, y in zip(o, n) if x == 1 and y == 0), N)
            else:
                d = sum(n) - sum(o)
                c = (max(0, d), max(0, -d), N)
            tot = [a + b for a, b in zip(tot, c)]
            t = ref.segment_time(c, rc)
            if t > worst_t:
                worst, worst_t = c, t
        path = [a + b for a, b in zip(path, worst)]
    shifts = items * pm.walk - 1
    return tot + [shifts] + (path if pm.spread else tot)


class PhysicalLines:
    """Slots of positions and their wear (insertions + removals), with the copies' counters."""

    def __init__(self, slots: int, P: int, kernel: str, rc: RacetrackConfig, N: int) -> None:
        self.cells = np.zeros((slots, P), np.uint8)
        self.wear = np.zeros(slots, np.int64)
        self.copies = np.zeros(7, np.int64)
        self.n_copies = 0
        self.kernel, self.rc, self.N = kernel, rc, N

    def copy(self, slot: int, new_physical: np.ndarray, offset: int) -> None:
        """Copy ``new_physical`` (the slot's new content, as it lies) into ``slot``: priced over the
        scheme's segments where they lie after the copy (logical position j at (j + offset) mod P)."""
        P = self.cells.shape[1]
        idx = (np.arange(P) + offset) % P
        c = copy_counts(self.kernel, self.rc, self.N, self.cells[slot, idx].tolist(), new_physical[idx].tolist())
        self.copies += c
        self.n_copies += 1
        self.wear[slot] += c[0] + c[1]
        self.cells[slot] = new_physical


def _placed(positions: np.ndarray, offset: int) -> np.ndarray:
    out = np.empty_like(positions)
    out[..., (np.arange(positions.shape[-1]) + offset) % positions.shape[-1]] = positions
    return out


def levelled_reference(rc, scheme, writes, line_offset, *, region_lines=0, psi=0, randomise=False, seed=0,
                       period=0, shift=0):
    """Start-Gap (``psi`` > 0) and/or rotation (``period`` > 0) over the physical slots of the plain
    reference; returns (physical memory, slot of each line, outcome of the scheme)."""
    cls = RACETRACK_SCHEMES.get(scheme)
    N = cls(rc).positions()
    T, L, _ = writes.shape
    sg = psi > 0
    Nr = (region_lines or L) if sg else L
    order = np.random.default_rng([seed, L]).permutation(L) if (sg and randomise) else np.arange(L)
    rank = np.argsort(order)
    sizes = [min(Nr, L - b) for b in range(0, L, Nr)] if sg else [L]
    R = len(sizes) if sg else 0
    start, gap, done = [0] * len(sizes), list(sizes), [0] * len(sizes)
    st_ = {"o": 0, "t": 0, "logical": None, "mem": None}
    slots_at = []  # the slot of every line during each iteration

    def slot(line):
        if not sg:
            return line
        a = int(rank[line])
        r, i = divmod(a, Nr)
        pa = (i + start[r]) % sizes[r]
        return r * Nr + r + pa + (1 if pa >= gap[r] else 0)

    def boundary(k):
        mem, P = st_["mem"], st_["mem"].cells.shape[1]
        if period and k % period == 0 and (st_["o"] + shift) % P != st_["o"]:
            st_["o"] = (st_["o"] + shift) % P
            for line in range(L):
                mem.copy(slot(line), _placed(st_["logical"][line], st_["o"]), st_["o"])
        if not sg:
            return
        for r, src, dst in gap_moves(k, sizes, psi, done, gap, start):
            base = r * Nr + r
            mem.copy(base + dst, mem.cells[base + src].copy(), st_["o"])

    def observe(t, positions):
        if t < 0:  # formatted: every slot (the spare ones too) holds the encoding of 0
            mem = st_["mem"] = PhysicalLines(L + R, positions.shape[1], cls.kernel, rc, N)
            mem.cells[:] = positions[0]
            st_["logical"] = positions.copy()
            return
        while st_["t"] < t:
            st_["t"] += 1
            boundary(st_["t"])
        st_["logical"] = positions.copy()
        slots_at.append([slot(line) for line in range(L)])
        for line in range(L):
            st_["mem"].cells[slot(line)] = _placed(positions[line], st_["o"])

    outcome, _, _ = ref.reference_trace(rc, scheme, writes, line_offset=line_offset, observe=observe)
    mem = st_["mem"]
    for t in range(T):  # the scheme's own wear lands on the slot its line occupied during iteration t
        for line in range(L):
            mem.wear[slots_at[t][line]] += int(outcome[t, line, 0] + outcome[t, line, 1])
    while st_["t"] < T:
        st_["t"] += 1
        boundary(st_["t"])
    return mem, outcome, slot


configs = st.builds(
    RacetrackConfig,
    tracks=st.just(64),
    data_per_track=st.integers(1, 6),
    item_bits=st.sampled_from([32, 64]),
    segment_bits=st.sampled_from([8, 16, 32]),
    tracks_per_cluster=st.integers(1, 2),
    ports_per_track=st.integers(1, 3),
    port_choice=st.sampled_from(["static", "dynamic"]),
    return_policy=st.sampled_from(["lazy", "eager"]),
    layout=st.sampled_from(["serial", "spread"]),
    fixed_ones_k=st.sampled_from([0, 9, 16]),
)


def _writes(data, T, L, W):
    if data.draw(st.booleans()):
        flat = data.draw(st.lists(st.integers(0, 2**32 - 1), min_size=T * L * W, max_size=T * L * W))
        return np.array(flat, dtype=np.uint32).reshape(T, L, W)
    # floats whose values change a little (the NN case: few positions change per write)
    base = np.array(data.draw(st.lists(st.floats(-4, 4, width=32), min_size=L * W, max_size=L * W)), np.float32)
    steps = np.array(data.draw(st.lists(st.floats(-0.0078125, 0.0078125, width=32), min_size=T * L * W,
                                        max_size=T * L * W)), np.float32).reshape(T, L, W)
    return (base.reshape(L, W) + np.cumsum(steps, axis=0)).astype(np.float32).view(np.uint32)


def _run(data, rc, scheme, leveller, params):
    T, L, W = data.draw(st.integers(1, 7)), data.draw(st.integers(1, 5)), data.draw(st.integers(1, 4))
    if scheme == "m-of-n" and data.draw(st.booleans()):
        rc = RacetrackConfig(**{**rc.__dict__, "item_bits": 64, "segment_bits": 64})
    writes = _writes(data, T, L, W)
    line_offset = data.draw(st.integers(0, 3))
    cfg = _config(rc)
    inner = RT.open_stream(scheme, lines=L, words=W, config=cfg, line_offset=line_offset)
    stream = WEAR_LEVELLERS.get(leveller)(params).wrap(inner, RT, cfg)
    edges = sorted({0, T, *[s % (T + 1) for s in data.draw(st.lists(st.integers(0, 9), max_size=3))]})
    chunks = [stream.feed(writes[a:b]) for a, b in zip(edges, edges[1:])]
    return rc, cfg, writes, line_offset, stream, chunks


def _check(rc, cfg, stream, chunks, mem, want_outcome):
    outcome = np.concatenate([c.outcome for c in chunks])
    assert outcome.tolist() == want_outcome.tolist()  # the scheme itself is untouched
    result = stream.result()
    # the physical line wear: the scheme's writes at their slots plus the copies'
    np.testing.assert_array_equal(result.physical_wear()[:, 0], mem.wear)
    # the copies handed to the timing model: every outcome field, path counts included
    rows = np.concatenate([np.zeros((0, 7), np.int64)] + [c.outcome for ch in chunks for c in ch.copies])
    assert len(rows) == mem.n_copies
    assert rows.sum(axis=0, dtype=np.int64).tolist() == mem.copies.tolist()
    costs = result.levelling_costs()
    assert costs["levelling_line_writes"] == mem.n_copies
    names = dict(zip(OUTCOME_FIELDS, mem.copies.tolist()))
    assert [costs[f"levelling_{f}"] for f in ("insertions", "removals", "detects", "shifts")] == \
        [names[f] for f in ("insertions", "removals", "detects", "shifts")]
    assert costs["levelling_flips"] == names["insertions"] + names["removals"]
    pm = PortModel.from_config(rc, RACETRACK_SCHEMES.get(result.scheme)(rc).positions())
    energy = (names["insertions"] * rc.insert_energy_pj + names["removals"] * rc.remove_energy_pj
              + names["detects"] * rc.read_energy_pj + names["shifts"] * pm.tracks_moved_per_shift * rc.shift_energy_pj)
    assert costs["levelling_energy_pj"] == pytest.approx(energy)
    cols = levelling_columns(result)
    logical = (want_outcome[..., 0].astype(np.int64) + want_outcome[..., 1]).sum(axis=0)
    assert cols["line_wear_max"] == int(logical.max()) and cols["line_wear_mean"] == pytest.approx(logical.mean())
    assert cols["levelled_line_wear_max"] == int(mem.wear.max())
    return result


@settings(max_examples=40, deadline=None)
@given(configs, st.sampled_from(SCHEMES), st.data())
def test_start_gap_equals_physical_reference(rc, scheme, data):
    p = StartGapParams(region_lines=data.draw(st.integers(0, 3)), psi=data.draw(st.integers(1, 6)),
                       randomise=data.draw(st.booleans()), seed=data.draw(st.integers(0, 3)))
    rc, cfg, writes, off, stream, chunks = _run(data, rc, scheme, "start-gap", p)
    mem, want, _ = levelled_reference(rc, scheme, writes, off, region_lines=p.region_lines, psi=p.psi,
                                      randomise=p.randomise, seed=p.seed)
    result = _check(rc, cfg, stream, chunks, mem, want)
    # the steady state: the mean over each region's slots
    steady = result.steady_wear()[:, 0]
    for b, n in zip(stream.slot_base, stream.region_sizes):
        np.testing.assert_allclose(steady[b: b + n + 1], mem.wear[b: b + n + 1].mean())


@settings(max_examples=40, deadline=None)
@given(configs, st.sampled_from(SCHEMES), st.data())
def test_rotate_equals_physical_reference(rc, scheme, data):
    p = RotateParams(period=data.draw(st.integers(1, 3)), shift=data.draw(st.integers(1, 40)))
    rc, cfg, writes, off, stream, chunks = _run(data, rc, scheme, "rotate", p)
    mem, want, _ = levelled_reference(rc, scheme, writes, off, period=p.period, shift=p.shift)
    result = _check(rc, cfg, stream, chunks, mem, want)
    # a rotation moves no wear between lines: the steady state is the physical wear itself
    np.testing.assert_array_equal(result.steady_wear(), result.physical_wear())


@settings(max_examples=25, deadline=None)
@given(configs, st.sampled_from(SCHEMES), st.data())
def test_rotate_start_gap_equals_physical_reference(rc, scheme, data):
    p = RotateStartGapParams(region_lines=data.draw(st.integers(0, 3)), psi=data.draw(st.integers(1, 6)),
                             period=data.draw(st.integers(1, 3)), shift=data.draw(st.integers(1, 40)))
    rc, cfg, writes, off, stream, chunks = _run(data, rc, scheme, "rotate-start-gap", p)
    mem, want, _ = levelled_reference(rc, scheme, writes, off, region_lines=p.region_lines, psi=p.psi,
                                      period=p.period, shift=p.shift)
    _check(rc, cfg, stream, chunks, mem, want)


# --------------------------------------------------------------------------- timing model


def _timing(groups: int, engine: str):
    """Two one-item lines (a 64-bit item: two 32-bit dcw segments, 64 positions), one item per track and
    one port at position 0, so line l sits alone on track (= cluster) l; one bank, FCFS, the minimal
    pattern; rotate with period 1 and shift 1 (position), one iteration."""
    from archsim.timing.model import TimingModel

    from _timing_helpers import FakeLayout, log_ns

    cfg = load_config(None, ["run.memory=racetrack", "layout.line_bytes=8", "racetrack.data_per_track=1",
                             "racetrack.ports_per_track=1", "racetrack.tracks=2", f"racetrack_ports.groups={groups}",
                             "timing.access_pattern=minimal", "timing.gap_ns=5000.0", "timing.channels=1",
                             "timing.ranks=1", "timing.banks=1", "timing.scheduling=fcfs",
                             "wear_leveling=rotate", "wear_leveling.period=1", "wear_leveling.shift=1"])
    writes = np.zeros((1, 2, 2), np.uint32)
    writes[0, 0, 0] = 1                      # line 0: one skyrmion, at position 0; line 1: none
    leveller = WEAR_LEVELLERS.get("rotate")(cfg.wear_leveling.params)
    stream = leveller.wrap(RT.open_stream("dcw", lines=2, words=2, config=cfg), RT, cfg)
    chunk = stream.feed(writes)
    m = TimingModel(cfg, technology=RT, scheme="dcw", layout=FakeLayout([("w", 2)]), engine=engine, logging=True)
    m.feed(chunk)
    res = m.finish()
    return chunk, log_ns(m.system), res


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_timing_issues_racetrack_copies_by_hand(engine):
    from archsim.timing.stats import READ, WRITE

    chunk, log, res = _timing(1, engine)
    # the copies: both lines after iteration 0. Line 0's skyrmion moves from position 0 to 1; priced over
    # the segments where they lie after the copy, that is one insertion (the new position 0 of segment 0)
    # and one removal (the old one, now position 63: segment 1). Every copy detects the 64 positions
    # (dcw) and walks them past the port: 63 shift steps.
    (c,) = chunk.copies
    assert c.after == 0 and c.lines.tolist() == [0, 1]
    assert c.outcome.tolist() == [[1, 1, 64, 63, 1, 1, 64], [0, 0, 64, 63, 0, 0, 64]]
    # service times (ns): a write 63 x 0.5 + 64 x 0.1 + removals x 0.8 + insertions x 1.0; a line read
    # 63 x 0.5 + 64 x 0.1 = 37.9. Iteration 0 at 5000: line 0 inserts its skyrmion (38.9), line 1 writes
    # nothing new (37.9); one port group: the copies' reads queue behind (37.9 each), the front end waits
    # for them, then the copies' writes: line 0 39.7, line 1 37.9.
    t = [5000.0, 5038.9, 5076.8, 5114.7, 5152.6, 5192.3, 5230.2]
    expect = [(WRITE, 0, 0, t[0], t[0], t[1], 0), (WRITE, 0, 1, t[0], t[1], t[2], 0),
              (READ, 0, 0, t[0], t[2], t[3], 0), (READ, 0, 1, t[0], t[3], t[4], 0),
              (WRITE, 0, 0, t[4], t[4], t[5], 0), (WRITE, 0, 1, t[4], t[5], t[6], 0)]
    assert [(k, b, line, *(round(x, 6) for x in (e, s, f)), miss) for k, b, line, e, s, f, miss in log] == expect
    o = res.overall
    assert o["levelling_writes"] == 2 and o["levelling_write_share"] == 0.5
    assert o["levelling_write_service_ns"] == pytest.approx(39.7 + 37.9)
    assert o["levelling_write_time_share"] == pytest.approx((39.7 + 37.9) / (38.9 + 37.9 + 39.7 + 37.9))
    # energy (1 pJ per ns of operation by default): the copies' writes are 77.6 pJ
    assert o["levelling_energy_pj"] == pytest.approx(39.7 + 37.9)
    # the copies' insertions and removals are the bank's wear: 1 (the write) + 2 (line 0's copy)
    assert res.per_bank["cell_flips"].sum() == 3


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_timing_racetrack_copies_use_the_port_groups(engine):
    from archsim.timing.stats import READ, WRITE

    _chunk, log, res = _timing(0, engine)  # one port group per cluster: the two lines in parallel
    # line 0: write 5000-5038.9, read 5038.9-5076.8; line 1: write 5000-5037.9, read 5037.9-5075.8; the
    # copies' writes start when both reads are done (5076.8): line 0 39.7, line 1 37.9 ns
    assert len(log) == 6
    first = {(k, line): tuple(round(x, 6) for x in (e, s, f)) for k, b, line, e, s, f, _m in log if e == 5000}
    assert first == {(WRITE, 0): (5000.0, 5000.0, 5038.9), (WRITE, 1): (5000.0, 5000.0, 5037.9),
                     (READ, 0): (5000.0, 5038.9, 5076.8), (READ, 1): (5000.0, 5037.9, 5075.8)}
    copies = sorted((line, round(s, 6), round(f, 6)) for k, _b, line, e, s, f, _m in log if k == WRITE and e > 5000)
    assert copies == [(0, 5076.8, 5116.5), (1, 5076.8, 5114.7)]
    assert res.overall["elapsed_ns"] == pytest.approx(5116.5)


# --------------------------------------------------------------------------- end to end


def test_archsim_run_racetrack_with_start_gap(tmp_path):
    import pandas as pd

    from archsim.cli import main

    def run(name, *extra):
        out = tmp_path / name
        assert main(["run", "--memory", "racetrack", "--iterations", "3", "--schemes", "dcw,m-of-n", "--out",
                     str(out), "--no-progress", "--no-figures", *extra]) == 0
        return pd.read_csv(out / "summary.csv").set_index("scheme")

    plain = run("none")
    sg = run("sg", "--set", "wear_leveling=start-gap", "--set", "wear_leveling.psi=2")
    assert not any(c.startswith(("levelling_", "line_wear", "levelled_")) for c in plain.columns)
    assert "lifetime_iterations" not in sg.columns and "lifetime_years" not in sg.columns  # no endurance
    # the scheme's own columns are those of the un-levelled run
    pd.testing.assert_frame_equal(sg[plain.columns], plain)
    lines = int(plain.loc["dcw", "line_writes"]) // 3
    assert (sg["levelling_line_writes"] == 3 * lines // 2).all()         # one move per psi = 2 writes
    assert sg.loc["m-of-n", "levelling_insertions"] == 0 == sg.loc["m-of-n", "levelling_removals"]
    assert sg.loc["dcw", "levelling_flips"] == sg.loc["dcw", "levelling_insertions"] + sg.loc["dcw", "levelling_removals"]
    # the physical lines (one spare slot) hold the logical wear plus the copies'; one region: the steady
    # state is their mean
    d = sg.loc["dcw"]
    assert d["levelled_line_wear_mean"] * (lines + 1) == pytest.approx(d["line_wear_mean"] * lines + d["levelling_flips"])
    assert d["levelled_steady_line_wear_max"] == pytest.approx(d["levelled_line_wear_mean"])
    assert d["levelled_line_wear_max"] >= d["levelled_steady_line_wear_max"] > 0
    assert 0 < sg.loc["dcw", "levelling_energy_share"] < 1


def test_archsim_racetrack_refuses_a_leveller(tmp_path, capsys):
    from archsim.cli import main

    req = tmp_path / "r.txt"
    req.write_text("W 0 1 5\nR 0 1\n")
    assert main(["racetrack", "--requests", str(req), "--set", "wear_leveling=start-gap"]) == 2
    assert "no lines to level" in capsys.readouterr().err
